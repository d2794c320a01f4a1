"""Every command the deployment runs names code that exists: modules, apps, Celery apps, CLI
commands, queues whose tasks a worker has, healthcheck paths the apps serve."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.deployment.spec import (
    ENTRY_POINTS,
    EVERY_TASK_MODULE,
    ROOT,
    SERVICES,
    WEB,
    WORKERS,
    all_commands,
    argv_of,
    entry_points,
    gunicorn_port,
    healthcheck_url,
    option,
    script_name,
    service_commands,
)

PROBE = """
import importlib, json, sys, traceback

request = json.loads(sys.argv[1])
try:
    module = importlib.import_module(request["module"])
except Exception:
    print(json.dumps({"error": traceback.format_exc()}))
    sys.exit()
app = getattr(module, "app", None)
celery = getattr(module, "celery", None)
answers = {}
for key, (attribute, script_root, path) in request["get"].items():
    client = getattr(module, attribute).test_client()
    response = client.get(path, base_url="http://127.0.0.1:8000" + script_root)
    answers[key] = {"status": response.status_code, "json": response.get_json(silent=True)}
print(json.dumps({
    "names": sorted(vars(module)),
    "celery_type": type(celery).__name__,
    "tasks": sorted(getattr(celery, "tasks", {})),
    "cli_commands": sorted(app.cli.commands) if hasattr(app, "cli") else [],
    "get": answers,
}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory, redis_url) -> dict[str, dict]:
    """Import each entry-point module as its container does: in a fresh interpreter of its own
    (so one module's tasks or settings cannot leak into another's) with only HUDOOR_VAR_DIR and
    REDIS_URL set. Web apps are also asked for their healthcheck path the way gunicorn hands it
    over, with the SCRIPT_NAME prefix moved out of the path (readiness needs the broker)."""
    modules = {module for _, module, _, _ in ENTRY_POINTS} | {EVERY_TASK_MODULE}
    requests = {module: {"module": module, "get": {}} for module in modules}
    for name in WEB:
        ((module, attribute, _),) = entry_points(*service_commands(name))
        path = urlsplit(healthcheck_url(name)).path
        prefix = script_name(name)
        assert path.startswith(prefix + "/"), f"{name} checks {path} outside {prefix}"
        requests[module]["get"][name] = [attribute, prefix, path[len(prefix) :]]
    processes = {
        module: subprocess.Popen(
            [sys.executable, "-c", PROBE, json.dumps(request)],
            cwd=ROOT,
            env={
                "HUDOOR_VAR_DIR": str(tmp_path_factory.mktemp("probe-var")),
                "REDIS_URL": redis_url,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for module, request in requests.items()
    }
    found = {}
    for module, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"probing {module} failed:\n{stderr}"
        found[module] = json.loads(stdout.splitlines()[-1])
    return found


# --- Commands name code that exists --------------------------------------------------------------


@pytest.mark.parametrize("where, argv", list(all_commands()), ids=lambda v: str(v)[:40])
def test_every_hudoor_command_names_an_entry_point_the_tests_check(where, argv):
    assert entry_points(argv), f"{where}: no module found in {argv}"


@pytest.mark.parametrize(
    "where, module, attribute, cli_command",
    ENTRY_POINTS,
    ids=["-".join(map(str, e)) for e in ENTRY_POINTS],
)
def test_commands_name_modules_attributes_and_cli_commands_that_exist(
    probe, where, module, attribute, cli_command
):
    found = probe[module]
    assert "error" not in found, f"{where}: importing {module} failed:\n{found.get('error')}"
    if attribute is not None:
        assert attribute in found["names"], f"{where}: {module} has no {attribute}"
    if attribute == "celery":
        assert found["celery_type"] == "Celery"
    if cli_command is not None:
        assert cli_command in found["cli_commands"], f"{where}: no `flask {cli_command}`"


def test_migrate_step_upgrades_every_service_that_has_migrations():
    services = [p for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists()]
    with_migrations = {p.name for p in services if any(p.glob("migrations/versions/*.py"))}
    upgraded = {
        option(argv, "--app").split(".")[1]
        for argv in service_commands("migrate")
        if argv[-1] == "db-upgrade"
    }
    assert upgraded == with_migrations


def _worker_queues(worker: str) -> tuple[str, list[str]]:
    argv = argv_of(SERVICES[worker]["command"])
    return option(argv, "-A", "--app"), option(argv, "-Q", "--queues").split(",")


def _tasks(probe: dict, module: str) -> list[str]:
    assert "error" not in probe[module], probe[module]["error"]
    return [task for task in probe[module]["tasks"] if not task.startswith("celery.")]


def test_every_task_runs_in_a_worker_that_consumes_its_queue(probe):
    every_task = set(_tasks(probe, EVERY_TASK_MODULE))
    assert every_task, f"{EVERY_TASK_MODULE} registers no task"
    consumed = set()
    for worker in WORKERS:
        module, queues = _worker_queues(worker)
        # shared/celery_app.py routes a task to the queue named by its prefix.
        consumed |= {t for t in _tasks(probe, module) if t.split(".")[0] in queues}
    assert every_task - consumed == set()


@pytest.mark.parametrize("worker", WORKERS)
def test_no_worker_takes_messages_from_a_queue_whose_tasks_it_lacks(probe, worker):
    # A worker drops a message for a task it has not registered; leave such queues alone.
    module, queues = _worker_queues(worker)
    tasks = _tasks(probe, module)
    for queue in queues:
        assert any(task.startswith(queue + ".") for task in tasks), f"{worker} consumes {queue}"


@pytest.mark.parametrize("service", WEB)
def test_web_healthcheck_asks_the_service_for_a_path_its_app_serves(probe, service):
    assert urlsplit(healthcheck_url(service)).port == gunicorn_port(service)
    ((module, _, _),) = entry_points(*service_commands(service))
    assert "error" not in probe[module], probe[module]["error"]
    answer = probe[module]["get"][service]
    assert answer == {"status": 200, "json": {"status": "ready"}}
