"""The services run as their containers do: gunicorn with the compose command and environment, the
Celery workers and beat, and deploy/nginx.conf in front (when nginx is installed)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.deployment.processes import (
    NO_NGINX,
    celery_environment,
    free_port,
    run_healthcheck,
    start,
    stop,
    wait_for_http,
)
from tests.deployment.spec import (
    PREFIXES,
    SERVICES,
    WEB,
    WORKERS,
    argv_of,
    gunicorn_port,
    healthcheck_argv,
    literal_environment,
    nginx_config_for_loopback,
    option,
)


@pytest.fixture(scope="module")
def gunicorn_ports(tmp_path_factory, redis_url) -> Iterator[dict[str, int]]:
    """Each web service under gunicorn on a loopback port: its compose command and environment,
    only the bind address, the directories and the broker (this run's Redis) changed."""
    ports, processes = {}, []
    try:
        for service in WEB:
            ports[service] = free_port()
            argv = argv_of(SERVICES[service]["command"])
            argv[argv.index("--bind") + 1] = f"127.0.0.1:{ports[service]}"
            env = {
                "PATH": os.environ.get("PATH", ""),
                **literal_environment(service),
                "HUDOOR_VAR_DIR": str(tmp_path_factory.mktemp(f"{service}-var")),
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp(f"{service}-metrics")),
                "REDIS_URL": redis_url,
            }
            log = tmp_path_factory.getbasetemp() / f"{service}-gunicorn.log"
            processes.append(start(argv, env, log))
        deadline = time.monotonic() + 60
        for service, process in zip(WEB, processes, strict=True):
            wait_for_http(process, f"http://127.0.0.1:{ports[service]}/", deadline)
        yield ports
    finally:
        stop(processes)


@pytest.mark.slow
@pytest.mark.parametrize("service", WEB)
def test_web_healthcheck_passes_against_the_service_under_gunicorn(gunicorn_ports, service):
    argv = healthcheck_argv(service)
    assert argv[0] == "python"
    code = option(argv, "-c").replace(
        f"127.0.0.1:{gunicorn_port(service)}", f"127.0.0.1:{gunicorn_ports[service]}"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("worker", WORKERS)
def test_worker_healthcheck_passes_once_the_worker_is_ready(worker, redis_url, tmp_path):
    env = celery_environment(tmp_path, redis_url)
    log_path = tmp_path / "worker.log"
    process = start(argv_of(SERVICES[worker]["command"]), env, log_path)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text(encoding="utf-8"):
            assert process.poll() is None, log_path.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the worker did not get ready in time"
            time.sleep(0.2)
        result = run_healthcheck(worker, env)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        stop([process])


@pytest.mark.slow
def test_beat_healthcheck_passes_while_the_broker_answers_and_fails_when_it_does_not(
    redis_url, tmp_path
):
    env = celery_environment(tmp_path, redis_url)
    assert run_healthcheck("beat", env).returncode == 0
    unreachable = {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    assert run_healthcheck("beat", unreachable).returncode != 0


@pytest.fixture(scope="module")
def proxy_port(gunicorn_ports, tmp_path_factory) -> Iterator[int]:
    """deploy/nginx.conf run by the machine's nginx in front of the gunicorn services."""
    if shutil.which("nginx") is None:
        pytest.skip(NO_NGINX)
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_config_for_loopback(gunicorn_ports, listen=port), encoding="utf-8")
    log = (folder / "nginx.log").open("w")
    process = subprocess.Popen(
        ["nginx", "-c", str(conf), "-g", f"daemon off; pid {folder / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_for_http(process, f"http://127.0.0.1:{port}/nginx-health", time.monotonic() + 30)
        yield port
    finally:
        stop([process])


@pytest.mark.slow
@pytest.mark.parametrize("prefix", PREFIXES)
def test_proxy_serves_each_prefix_from_its_service_with_a_request_id(proxy_port, prefix):
    # Only the service mounted at `prefix` answers PREFIX/healthz: the others 404 or refuse it.
    # A client's SCRIPT_NAME header (gunicorn trusts it from the proxy) must not get through.
    url = f"http://127.0.0.1:{proxy_port}{prefix}healthz"
    request = urllib.request.Request(url, headers={"SCRIPT_NAME": "/elsewhere"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response) == {"status": "ok"}
        (request_id,) = response.headers.get_all("X-Request-ID")
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)


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
