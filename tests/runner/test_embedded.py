"""The README's run command: the whole system on embedded defaults, then a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import redis

from runner.redis_server import EmbeddedRedis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if _get(url, timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up in {seconds} s")


def test_embedded_redis_starts_answers_and_stops(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    client = redis.Redis(unix_socket_path=str(server.socket))
    assert client.set("k", "v") and client.get("k") == b"v"
    server.stop()
    assert server.process.poll() is not None


@pytest.fixture(scope="module")
def running_system(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("embedded")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DATABASE_URL", "REDIS_URL"))}
    env.update(HUDOOR_VAR_DIR=str(tmp_path / "var"), HUDOOR_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "runner"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz")
        yield base, tmp_path / "var"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_run_command_serves_the_demo_event_on_every_prefix(running_system):
    base, _ = running_system
    status, home = _get(base + "/")
    assert status == 200 and 'dir="rtl"' in home
    assert "مؤتمر مناهضة العنف القائم على النوع الاجتماعي" in home
    for prefix in ("", "/checkin", "/notifications"):
        status, body = _get(f"{base}{prefix}/api/v1/openapi.json")
        assert status == 200 and json.loads(body)["openapi"].startswith("3.")


def test_run_command_registers_a_delegate_through_the_api(running_system):
    base, var = running_system
    payload = {
        "full_name_ar": "إيمان عبد الرحمن",
        "agency": "WLI",
        "email": "iman@example.org",
        "gender": "female",
        "channel": "email",
        "consent": True,
    }
    request = urllib.request.Request(
        base + "/api/v1/events/wli-gbv-2023/registrations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert response.status == 201 and body["agency"]["code"] == "WLI"
    assert body["self_service_url"].startswith(base + "/r/")
    assert (var / "registration.db").exists() and (var / "redis" / "redis.sock").exists()
