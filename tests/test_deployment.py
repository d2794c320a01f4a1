"""The Docker deployment, checked without Docker.

docker-compose.yml, Dockerfile, .dockerignore, deploy/nginx.conf and .env.example must agree with
the Compose Specification, with each other and with the code: every command names code that exists,
every healthcheck asks for something that is served, every setting is one the code reads.
"""

from __future__ import annotations

import ast
import fnmatch
import http.client
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
NGINX_CONF = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")

# The one URL space (docs/DESIGN.md): which service answers under which prefix.
PREFIXES = {"/": "registration", "/checkin/": "checkin", "/notifications/": "notifications"}
# Variables read by a tool rather than by Hudoor's code, and which tool reads them.
TOOL_VARIABLES = {
    "SCRIPT_NAME": "gunicorn: the URL prefix the service is mounted under",
    "POSTGRES_PASSWORD": "the postgres image, and the database URLs in .env",
}
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "SECRET_KEY", "BADGE_SIGNING_KEYS")
# The embedded runner's single worker imports every service's tasks: the list of all tasks.
EVERY_TASK_MODULE = "runner.worker"

HUDOOR_IMAGE = next(s["image"] for s in SERVICES.values() if "build" in s)
HUDOOR = sorted(name for name, s in SERVICES.items() if s.get("image") == HUDOOR_IMAGE)


def _argv(command) -> list[str]:
    """A compose command (list or string) as an argument vector."""
    return list(command) if isinstance(command, list) else shlex.split(command)


def _commands(argv: list[str]) -> list[list[str]]:
    """The commands an argument vector runs: `sh -c "a && b"` runs a, then b."""
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in re.split(r"&&|;", argv[2])]
    return [argv]


def _service_commands(service: str) -> list[list[str]]:
    return _commands(_argv(SERVICES[service]["command"]))


def _healthcheck_argv(service: str) -> list[str]:
    """The command a service's healthcheck runs, with Compose's `$$` escapes undone."""
    kind, *rest = SERVICES[service]["healthcheck"]["test"]
    if kind == "CMD-SHELL":
        return shlex.split(rest[0].replace("$$", "$"))
    assert kind == "CMD", f"unexpected healthcheck form {kind}"
    return rest


def _runs(service: str, program: str) -> bool:
    return all(argv[0] == program for argv in _service_commands(service))


WEB = sorted(name for name in HUDOOR if _runs(name, "gunicorn"))
WORKERS = sorted(
    name
    for name in HUDOOR
    if _runs(name, "celery") and "worker" in _argv(SERVICES[name]["command"])
)
ONE_SHOT = sorted(name for name in HUDOOR if _runs(name, "flask"))
LONG_RUNNING = sorted(name for name in SERVICES if name not in ONE_SHOT)


def _option(argv: list[str], *names: str) -> str | None:
    """The value that follows the first of `names` in argv."""
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return None


def _entry_points(argv: list[str]) -> list[tuple[str, str | None, str | None]]:
    """(module, attribute, CLI command) that a command needs to exist."""
    program = Path(argv[0]).name
    if program == "gunicorn":
        targets = [a for a in argv[1:] if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)]
        return [(*target.split(":"), None) for target in targets]
    if program == "celery":
        return [(_option(argv, "-A", "--app"), "celery", None)]
    if program == "flask":
        module = _option(argv, "--app")
        command = argv[argv.index(module) + 1]
        return [(module, "app", command)]
    if program == "python" and "-c" in argv:
        found = []
        for node in ast.walk(ast.parse(_option(argv, "-c"))):
            if isinstance(node, ast.ImportFrom):
                found += [(node.module, alias.name, None) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(alias.name, None, None) for alias in node.names]
        return found
    return []


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _dockerfile_instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def _dockerfile_cmd() -> list[str]:
    return json.loads([args for kind, args in _dockerfile_instructions() if kind == "CMD"][-1])


def _all_commands() -> Iterator[tuple[str, list[str]]]:
    """Every command the deployment runs from the Hudoor image, named by where it is."""
    for name in HUDOOR:
        for argv in _service_commands(name):
            yield f"{name}.command", argv
        if "healthcheck" in SERVICES[name]:
            yield f"{name}.healthcheck", _healthcheck_argv(name)
    yield "Dockerfile CMD", _dockerfile_cmd()


ENTRY_POINTS = sorted(
    {(where, *entry) for where, argv in _all_commands() for entry in _entry_points(argv)}
)


def _gunicorn_port(service: str) -> int:
    return int(_option(_argv(SERVICES[service]["command"]), "--bind").rsplit(":", 1)[1])


def _healthcheck_url(service: str) -> str:
    code = _option(_healthcheck_argv(service), "-c")
    return re.search(r"""['"](http://[^'"]+)['"]""", code).group(1)


def _script_name(service: str) -> str:
    return SERVICES[service].get("environment", {}).get("SCRIPT_NAME", "")


def _literal_environment(service: str) -> dict[str, str]:
    """The environment a service sets itself, without what it takes from .env."""
    environment = SERVICES[service].get("environment", {})
    return {k: str(v) for k, v in environment.items() if "${" not in str(v)}


# --- .env.example --------------------------------------------------------------------------------


def _env_example_blocks() -> list[tuple[str, str, list[str]]]:
    """(name, value, comment lines just above it) for each setting assigned in .env.example."""
    blocks, comments = [], []
    for line in ENV_EXAMPLE.splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            value = match[2]
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            blocks.append((match[1], value, comments))
            comments = []
        elif line.startswith("#"):
            comments.append(line)
        else:
            comments = []
    return blocks


ENV_SETTINGS = {name: value for name, value, _ in _env_example_blocks()}
# Settings listed only as a comment ("# NAME=value"): fixed by the image, listed for completeness.
ENV_DOCUMENTED_FIXED = set(re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.MULTILINE))


def _expand(value: str, values: Mapping[str, str]) -> str:
    """Compose's ${NAME} expansion within a .env file."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], value)


class RecordingEnviron(Mapping):
    """An environment that remembers every variable name looked up in it."""

    def __init__(self, values: Mapping[str, str]):
        self.values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, name):
        self.read.add(name)
        return self.values[name]

    def __contains__(self, name):
        self.read.add(name)
        return name in self.values

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


def _config_classes():
    from services.checkin.config import CheckinConfig
    from services.notifications.config import NotificationsConfig
    from services.registration.config import RegistrationConfig

    return RegistrationConfig, CheckinConfig, NotificationsConfig


@pytest.fixture(scope="module")
def settings_the_configs_read(tmp_path_factory) -> set[str]:
    """Every variable shared/config.py and services/*/config.py read, on each of their paths."""
    from shared.badge_tokens import BadgeKeyring

    var_dir = tmp_path_factory.mktemp("var")
    read = set()
    for extra in ({}, {"BADGE_SIGNING_KEYS": BadgeKeyring.generate(1).to_spec()}):
        for config in _config_classes():
            environ = RecordingEnviron({"HUDOOR_VAR_DIR": str(var_dir), **extra})
            config.from_env(environ)
            read |= environ.read
    return read


@pytest.fixture(scope="module")
def names_the_code_reads(settings_the_configs_read) -> set[str]:
    """What the configs read, plus every upper-case string literal in the project's code."""
    literals = set()
    for folder in ("shared", "services", "runner"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    literals.add(node.value)
    return settings_the_configs_read | {s for s in literals if re.fullmatch(r"[A-Z][A-Z0-9_]+", s)}


# --- Importing the entry points, as the containers do --------------------------------------------

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
        ((module, attribute, _),) = _entry_points(*_service_commands(name))
        path = urlsplit(_healthcheck_url(name)).path
        script_name = _script_name(name)
        assert path.startswith(script_name + "/"), f"{name} checks {path} outside {script_name}"
        requests[module]["get"][name] = [attribute, script_name, path[len(script_name) :]]
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


# --- Compose file --------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads((ROOT / "deploy" / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(COMPOSE), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_file_has_no_obsolete_version_key():
    assert "version" not in COMPOSE


def test_compose_schema_copy_records_its_source_and_licence():
    note = (ROOT / "deploy" / "COMPOSE-SPEC-LICENSE.md").read_text(encoding="utf-8")
    for fact in ("compose-spec/compose-spec", "schema/compose-spec.json", "170098ba", "Apache"):
        assert fact in note


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dependencies_and_named_volumes_are_declared(service):
    for dependency in SERVICES[service].get("depends_on", {}):
        assert dependency in SERVICES
        assert "profiles" not in SERVICES[dependency], f"{dependency} only runs in a profile"
    for volume in SERVICES[service].get("volumes", []):
        source = volume.split(":")[0]
        assert source.startswith(".") or source in COMPOSE["volumes"], volume
        assert not source.startswith(".") or (ROOT / source).is_file(), volume


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_long_running_services_restart_unless_stopped_and_one_shot_steps_never(service):
    expected = "no" if service in ONE_SHOT else "unless-stopped"
    assert SERVICES[service].get("restart") == expected


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_healthcheck(service):
    healthcheck = SERVICES[service].get("healthcheck", {})
    assert healthcheck.get("test") and not healthcheck.get("disable")


@pytest.mark.parametrize("service", HUDOOR)
def test_hudoor_services_publish_no_port_and_fix_no_container_name_so_they_can_scale(service):
    assert "ports" not in SERVICES[service]
    assert "container_name" not in SERVICES[service]


def test_only_the_proxy_publishes_a_port_and_it_is_the_one_nginx_listens_on():
    publishers = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert list(publishers) == ["proxy"]
    (mapping,) = publishers["proxy"]
    assert int(str(mapping).rsplit(":", 1)[1]) == int(re.search(r"listen\s+(\d+)", NGINX_CONF)[1])
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]


@pytest.mark.parametrize("service", [s for s in HUDOOR if s not in ONE_SHOT])
def test_services_wait_for_the_migrations_to_finish(service):
    depends_on = SERVICES[service]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrations_wait_for_a_healthy_database():
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_postgres_15_keeps_its_data_in_a_named_volume_and_reports_readiness():
    postgres = SERVICES["postgres"]
    assert postgres["image"].split(":")[1].startswith("15")
    volume = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in COMPOSE["volumes"]
    assert "pg_isready" in _healthcheck_argv("postgres")


def test_redis_7_appends_every_write_to_a_named_volume_and_reports_readiness():
    redis = SERVICES["redis"]
    assert redis["image"].split(":")[1].startswith("7")
    assert " ".join(_argv(redis["command"])) == "redis-server --appendonly yes"
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in COMPOSE["volumes"]
    assert "redis-cli ping" in " ".join(_healthcheck_argv("redis"))


def test_postgres_init_script_creates_every_other_database_the_env_example_points_at():
    postgres = SERVICES["postgres"]
    init = next(v for v in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in v)
    sql = (ROOT / init.split(":")[0]).read_text(encoding="utf-8")
    created = set(re.findall(r"CREATE DATABASE (\w+)", sql))
    wanted = {
        urlsplit(value).path.lstrip("/")
        for name, value in ENV_SETTINGS.items()
        if name.endswith("_DATABASE_URL") and "@postgres:" in value
    }
    assert created == wanted - {postgres["environment"]["POSTGRES_DB"]}


# --- Commands name code that exists --------------------------------------------------------------


@pytest.mark.parametrize("where, argv", list(_all_commands()), ids=lambda v: str(v)[:40])
def test_every_hudoor_command_names_an_entry_point_the_tests_check(where, argv):
    assert _entry_points(argv), f"{where}: no module found in {argv}"


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
        _option(argv, "--app").split(".")[1]
        for argv in _service_commands("migrate")
        if argv[-1] == "db-upgrade"
    }
    assert upgraded == with_migrations


def _worker_queues(worker: str) -> tuple[str, list[str]]:
    argv = _argv(SERVICES[worker]["command"])
    return _option(argv, "-A", "--app"), _option(argv, "-Q", "--queues").split(",")


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
    assert urlsplit(_healthcheck_url(service)).port == _gunicorn_port(service)
    ((module, _, _),) = _entry_points(*_service_commands(service))
    assert "error" not in probe[module], probe[module]["error"]
    answer = probe[module]["get"][service]
    assert answer == {"status": 200, "json": {"status": "ready"}}


# --- Settings: compose, .env.example and the code agree ------------------------------------------


def test_every_setting_the_service_configs_read_is_in_env_example(settings_the_configs_read):
    documented = set(ENV_SETTINGS) | ENV_DOCUMENTED_FIXED
    assert settings_the_configs_read - documented == set()


def test_every_variable_in_env_example_is_read_by_the_code_or_a_named_tool(names_the_code_reads):
    documented = set(ENV_SETTINGS) | ENV_DOCUMENTED_FIXED
    assert documented - names_the_code_reads - set(TOOL_VARIABLES) == set()


@pytest.mark.parametrize("service", HUDOOR)
def test_every_variable_compose_gives_a_hudoor_container_is_read_by_the_code(
    names_the_code_reads, service
):
    passed = set(SERVICES[service]["environment"])
    assert passed - names_the_code_reads - set(TOOL_VARIABLES) == set()


def test_every_variable_compose_interpolates_is_read_by_the_code_or_a_named_tool(
    names_the_code_reads,
):
    interpolated = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE_TEXT))
    assert interpolated - names_the_code_reads - set(TOOL_VARIABLES) == set()


# Which services' settings each container needs: the one-shot migration step runs them all.
CONTAINER_SERVICES = {
    "migrate": ("registration", "checkin", "notifications"),
    "demo": ("registration",),
    "registration": ("registration",),
    "registration-worker": ("registration",),
    "checkin": ("checkin",),
    "checkin-worker": ("checkin",),
    "notifications": ("notifications",),
    "worker": ("notifications",),
    "beat": ("notifications",),
}


@pytest.fixture(scope="module")
def settings_by_service(tmp_path_factory) -> dict[str, set[str]]:
    """What each service's config reads (on each of its paths)."""
    from shared.badge_tokens import BadgeKeyring

    var_dir, read = tmp_path_factory.mktemp("var"), {}
    names = ("registration", "checkin", "notifications")
    for name, config in zip(names, _config_classes(), strict=True):
        read[name] = set()
        for extra in ({}, {"BADGE_SIGNING_KEYS": BadgeKeyring.generate(1).to_spec()}):
            environ = RecordingEnviron({"HUDOOR_VAR_DIR": str(var_dir), **extra})
            config.from_env(environ)
            read[name] |= environ.read
    return read


def test_every_hudoor_container_is_assigned_its_services():
    assert set(CONTAINER_SERVICES) == set(HUDOOR)


@pytest.mark.parametrize("service", HUDOOR)
def test_each_container_gets_the_settings_its_services_read_and_no_other(
    service, settings_by_service
):
    read_by_any_config = set().union(*settings_by_service.values())
    # Settings no config reads (log format, metrics token, retention) concern every container.
    common = set(ENV_SETTINGS) - read_by_any_config - set(TOOL_VARIABLES)
    needed = set().union(*(settings_by_service[s] for s in CONTAINER_SERVICES[service]))
    expected = (needed & set(ENV_SETTINGS)) | common
    environment = SERVICES[service]["environment"]
    given = {name for name, value in environment.items() if str(value).startswith("${" + name)}
    assert given == expected


def test_only_registration_containers_hold_the_badge_signing_keys():
    holders = {n for n in HUDOOR if "BADGE_SIGNING_KEYS" in SERVICES[n]["environment"]}
    assert holders == {"migrate", "demo", "registration", "registration-worker"}


def test_compose_refuses_to_start_without_the_secrets_and_database_urls():
    required = set(REQUIRED_SECRETS) | {n for n in ENV_SETTINGS if n.endswith("_DATABASE_URL")}
    for name in required:
        assert "${" + name + ":?" in COMPOSE_TEXT, f"{name} is not required by compose"
        assert ENV_SETTINGS[name] == "" or "${" in ENV_SETTINGS[name], f"{name} has a real value"


def test_env_example_recipes_give_settings_every_service_accepts_without_fallbacks(tmp_path):
    values = {}
    for name, value, comments in _env_example_blocks():
        if name in REQUIRED_SECRETS:
            recipes = [c.split("#", 1)[1].strip() for c in comments if "python3 -c" in c]
            assert recipes, f"{name} has no recipe above it in .env.example"
            argv = [sys.executable, *shlex.split(recipes[0])[1:]]
            value = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        values[name] = value.strip()
    values = {name: _expand(value, values) for name, value in values.items()}
    var_dir = tmp_path / "var"
    environ = {**values, "HUDOOR_VAR_DIR": str(var_dir)}
    registration, *others = (config.from_env(environ) for config in _config_classes())
    assert registration.secret_key == values["SECRET_KEY"]
    assert registration.keyring.active_key_id == int(values["BADGE_ACTIVE_KEY_ID"])
    assert registration.database_url.startswith("postgresql+psycopg://hudoor:")
    assert all(config.database_url.startswith("postgresql+psycopg://") for config in others)
    assert list(var_dir.iterdir()) == [], "a service fell back to a generated key or file"


# --- nginx ---------------------------------------------------------------------------------------


def _nginx_without_comments() -> str:
    return re.sub(r"#[^\n]*", "", NGINX_CONF)


def _nginx_locations() -> dict[str, str]:
    """Body of each `location [=] PATH { ... }` (ours hold no nested blocks), by '[= ]PATH'."""
    found = re.finditer(r"location\s+(=\s+)?(\S+)\s*\{([^{}]*)\}", _nginx_without_comments())
    return {("= " if m[1] else "") + m[2]: m[3] for m in found}


def _proxy_target(body: str) -> str:
    """A location's proxy_pass target, with `set` variables resolved."""
    variables = dict(re.findall(r"set\s+\$(\w+)\s+(\S+);", body))
    target = re.search(r"proxy_pass\s+(\S+);", body)[1]
    return variables[target[1:]] if target.startswith("$") else target


@pytest.mark.parametrize("prefix, service", PREFIXES.items())
def test_proxy_sends_each_prefix_to_its_service_with_the_path_unchanged(prefix, service):
    body = _nginx_locations()[prefix]
    target = urlsplit(_proxy_target(body))
    assert (target.hostname, target.port) == (service, _gunicorn_port(service))
    # No URI part and no rewrite: the upstream sees /checkin/..., and its gunicorn strips the
    # prefix it knows from its SCRIPT_NAME environment variable.
    assert target.path == "" and "rewrite" not in body
    assert _script_name(service) == prefix.rstrip("/")


def test_proxy_resolves_service_names_through_docker_dns_at_request_time():
    assert re.search(r"resolver\s+127\.0\.0\.11\b", NGINX_CONF)
    for prefix in PREFIXES:
        assert re.search(r"proxy_pass\s+\$", _nginx_locations()[prefix]), prefix


def test_proxy_passes_client_address_scheme_host_and_a_request_id():
    server_level = _nginx_without_comments()
    for header, value in (
        ("Host", "$http_host"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        ("X-Forwarded-Proto", "$scheme"),
        ("X-Request-ID", "$request_id"),
    ):
        assert re.search(rf"proxy_set_header\s+{header}\s+\{value};", server_level), header
    # A location with a proxy_set_header of its own would inherit none of the server's.
    assert not any("proxy_set_header" in body for body in _nginx_locations().values())


def test_proxy_healthcheck_asks_nginx_for_a_location_it_answers_itself():
    argv = _healthcheck_argv("proxy")
    path = urlsplit(next(a for a in argv if a.startswith("http://"))).path
    assert "return 200" in _nginx_locations()["= " + path]


def _nginx_config_for_loopback(ports: Mapping[str, int], listen: int | None = None) -> str:
    """deploy/nginx.conf with the upstream hosts (and optionally the listen port) on 127.0.0.1."""
    conf = NGINX_CONF
    for service in PREFIXES.values():
        port = ports.get(service, _gunicorn_port(service))
        conf = conf.replace(
            f"http://{service}:{_gunicorn_port(service)}", f"http://127.0.0.1:{port}"
        )
    if listen is not None:
        conf = re.sub(r"listen\s+\d+;", f"listen 127.0.0.1:{listen};", conf)
    return conf


NO_NGINX = "nginx is not installed (Debian: apt-get install nginx-light)"


@pytest.mark.skipif(shutil.which("nginx") is None, reason=NO_NGINX)
def test_nginx_accepts_the_config(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(_nginx_config_for_loopback({}), encoding="utf-8")
    result = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


# --- Dockerfile and .dockerignore ----------------------------------------------------------------


def test_image_is_built_in_a_builder_stage_and_runs_from_python_slim():
    builder, *_, final = _dockerfile_stages()
    builder_name = builder[0][1].split()[-1]
    assert re.search(r"\bAS\s+\w+$", builder[0][1], re.IGNORECASE)
    assert any(kind == "RUN" and "pip install ." in args for kind, args in builder)
    assert final[0][1].startswith("python:3.11-slim")
    assert ("COPY", f"--from={builder_name} /opt/venv /opt/venv") in final


def test_image_runs_as_hudoor_with_its_state_directory_on_the_compose_volume():
    final = _dockerfile_stages()[-1]
    assert ("USER", "hudoor") in final
    assert ("WORKDIR", "/app") in final
    assert ("EXPOSE", "8000") in final
    env = " ".join(args for kind, args in final if kind == "ENV")
    var_dir = re.search(r"HUDOOR_VAR_DIR=(\S+)", env)[1]
    owned = re.compile(rf"-o hudoor\b.*\s{re.escape(var_dir)}\b")
    assert any(kind == "RUN" and owned.search(args) for kind, args in final)
    for service in HUDOOR:
        assert SERVICES[service]["environment"]["HUDOOR_VAR_DIR"] == var_dir
        assert any(v.endswith(f":{var_dir}") for v in SERVICES[service]["volumes"])


def test_image_serves_registration_by_default():
    assert _dockerfile_cmd() == _argv(SERVICES["registration"]["command"])


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().lstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def _excluded_from_build_context(path: str) -> bool:
    """Whether .dockerignore keeps `path` (or a folder holding it) out of the build context."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in _dockerignore_patterns():
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!")
        for candidate in candidates:
            names = candidate.split("/")
            if pattern.startswith("**/"):
                tails = ["/".join(names[i:]) for i in range(len(names))]
                hit = any(fnmatch.fnmatchcase(tail, pattern[3:]) for tail in tails)
            else:
                hit = fnmatch.fnmatchcase(candidate, pattern)
            if hit:
                excluded = not negated
    return excluded


def test_builder_copies_everything_pip_install_needs_and_dockerignore_keeps_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {project["project"]["readme"], "pyproject.toml"}
    needed |= {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    builder = _dockerfile_stages()[0]
    copied = set()
    for kind, args in builder:
        if kind == "COPY" and not args.startswith("--from"):
            copied |= {source.rstrip("/") for source in args.split()[:-1]}
    assert needed <= copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _excluded_from_build_context(source), f".dockerignore drops {source}"


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv",
        "var",
        ".git",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "services/registration/__pycache__/app.cpython-311.pyc",
        "tests",
    ],
)
def test_dockerignore_keeps_secrets_local_state_and_caches_out_of_the_build(path):
    assert _excluded_from_build_context(path)


# --- Running the services as the containers do (gunicorn, and nginx when installed) --------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_http(process: subprocess.Popen, url: str, deadline: float) -> None:
    """Wait until `url` answers anything over HTTP (an error status counts)."""
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in time")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def gunicorn_ports(tmp_path_factory, redis_url) -> Iterator[dict[str, int]]:
    """Each web service under gunicorn on a loopback port: its compose command and environment,
    only the bind address, the directories and the broker (this run's Redis) changed."""
    ports, processes = {}, []
    try:
        for service in WEB:
            ports[service] = _free_port()
            argv = _argv(SERVICES[service]["command"])
            argv[argv.index("--bind") + 1] = f"127.0.0.1:{ports[service]}"
            env = {
                "PATH": os.environ.get("PATH", ""),
                **_literal_environment(service),
                "HUDOOR_VAR_DIR": str(tmp_path_factory.mktemp(f"{service}-var")),
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp(f"{service}-metrics")),
                "REDIS_URL": redis_url,
            }
            log = (tmp_path_factory.getbasetemp() / f"{service}-gunicorn.log").open("w")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", *argv], cwd=ROOT, env=env, stdout=log, stderr=log
                )
            )
        deadline = time.monotonic() + 60
        for service, process in zip(WEB, processes, strict=True):
            _wait_for_http(process, f"http://127.0.0.1:{ports[service]}/", deadline)
        yield ports
    finally:
        _stop(processes)


@pytest.mark.slow
@pytest.mark.parametrize("service", WEB)
def test_web_healthcheck_passes_against_the_service_under_gunicorn(gunicorn_ports, service):
    argv = _healthcheck_argv(service)
    assert argv[0] == "python"
    code = _option(argv, "-c").replace(
        f"127.0.0.1:{_gunicorn_port(service)}", f"127.0.0.1:{gunicorn_ports[service]}"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def _celery_environment(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HUDOOR_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_url,
        "CELERY_KEY_PREFIX": f"deployment-test-{os.getpid()}-{tmp_path.name}:",
        # Docker sets HOSTNAME to the container's host name, which is the worker's node name.
        "HOSTNAME": socket.gethostname(),
    }


def _run_healthcheck(service: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    kind, *rest = SERVICES[service]["healthcheck"]["test"]
    argv = ["sh", "-c", rest[0].replace("$$", "$")] if kind == "CMD-SHELL" else rest
    argv = [sys.executable, *argv[1:]] if argv[0] == "python" else argv
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("worker", WORKERS)
def test_worker_healthcheck_passes_once_the_worker_is_ready(worker, redis_url, tmp_path):
    env = _celery_environment(tmp_path, redis_url)
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *_argv(SERVICES[worker]["command"])],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text(encoding="utf-8"):
            assert process.poll() is None, log_path.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the worker did not get ready in time"
            time.sleep(0.2)
        result = _run_healthcheck(worker, env)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        _stop([process])


@pytest.mark.slow
def test_beat_healthcheck_passes_while_the_broker_answers_and_fails_when_it_does_not(
    redis_url, tmp_path
):
    env = _celery_environment(tmp_path, redis_url)
    assert _run_healthcheck("beat", env).returncode == 0
    unreachable = {**env, "REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0"}
    assert _run_healthcheck("beat", unreachable).returncode != 0


@pytest.fixture(scope="module")
def proxy_port(gunicorn_ports, tmp_path_factory) -> Iterator[int]:
    """deploy/nginx.conf run by the machine's nginx in front of the gunicorn services."""
    if shutil.which("nginx") is None:
        pytest.skip(NO_NGINX)
    folder = tmp_path_factory.mktemp("nginx")
    port = _free_port()
    conf = folder / "nginx.conf"
    conf.write_text(_nginx_config_for_loopback(gunicorn_ports, listen=port), encoding="utf-8")
    log = (folder / "nginx.log").open("w")
    process = subprocess.Popen(
        ["nginx", "-c", str(conf), "-g", f"daemon off; pid {folder / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        _wait_for_http(process, f"http://127.0.0.1:{port}/nginx-health", time.monotonic() + 30)
        yield port
    finally:
        _stop([process])


@pytest.mark.slow
@pytest.mark.parametrize("prefix", PREFIXES)
def test_proxy_serves_each_prefix_from_its_service_with_a_request_id(proxy_port, prefix):
    # Only the service mounted at `prefix` answers PREFIX/healthz: the others 404 or refuse it.
    # A client's SCRIPT_NAME header (gunicorn trusts it from the proxy) must not get through.
    url = f"http://127.0.0.1:{proxy_port}{prefix}healthz"
    request = urllib.request.Request(url, headers={"SCRIPT_NAME": "/elsewhere"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response) == {"status": "ok"}
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


@pytest.mark.slow
@pytest.mark.parametrize("prefix", PREFIXES)
def test_proxy_refuses_metrics_which_each_service_gives_its_direct_scraper(
    proxy_port, gunicorn_ports, prefix
):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{proxy_port}{prefix}metrics", timeout=10)
    assert refused.value.code == 404
    port = gunicorn_ports[PREFIXES[prefix]]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{prefix}metrics", timeout=10) as response:
        text = response.read().decode()
    # Counted in gunicorn's workers, added up in PROMETHEUS_MULTIPROC_DIR.
    assert "hudoor_http_requests_total{" in text
    assert 'hudoor_metrics_source_up{source="celery_queues"} 1.0' in text


@pytest.mark.slow
@pytest.mark.parametrize("prefix", [p for p in PREFIXES if p != "/"])
def test_links_built_behind_the_proxy_carry_the_service_prefix(proxy_port, prefix):
    url = f"http://127.0.0.1:{proxy_port}{prefix}api/v1/docs"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert f'"{prefix}api/v1/openapi.json"' in response.read().decode()


@pytest.mark.slow
@pytest.mark.parametrize("prefix", [p for p in PREFIXES if p != "/"])
def test_proxy_redirects_a_bare_prefix_to_its_folder(proxy_port, prefix):
    connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    connection.request("GET", prefix.rstrip("/") + "?lang=en")
    response = connection.getresponse()
    assert (response.status, response.getheader("Location")) == (301, prefix + "?lang=en")
    connection.close()
