"""gunicorn's access log never records a private link's token."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from runner.access_log import redact

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "AgEwU2VjcmV0LXRva2VuLW9mLWEtZGVsZWdhdGU.ZX1bQw.s1gnatur3"
AGENCY = "YWdlbmN5LWxpbmstMTc.ZX1bQw.0th3r-s1gnatur3"


def app(environ, start_response):
    """The smallest WSGI app: what it answers does not matter, only what gunicorn logs."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"GET /r/{TOKEN} HTTP/1.1", "GET /r/[redacted] HTTP/1.1"),
        (f"/r/{TOKEN}/badge.png?size=2", "/r/[redacted]/badge.png?size=2"),
        (f"/e/wli-gbv-2023/register/{AGENCY}", "/e/wli-gbv-2023/register/[redacted]"),
        (f"/e/wli/register/{AGENCY}/badges.pdf", "/e/wli/register/[redacted]/badges.pdf"),
        (f"https://hudoor.example/r/{TOKEN}?new=1", "https://hudoor.example/r/[redacted]?new=1"),
        ("/e/wli-gbv-2023/register?lang=en", "/e/wli-gbv-2023/register?lang=en"),
        ("/checkin/api/v1/events/1/counts", "/checkin/api/v1/events/1/counts"),
        (f"/password/reset/{TOKEN}", "/password/reset/[redacted]"),
        (f"/api/v1/password-resets/{TOKEN}", "/api/v1/password-resets/[redacted]"),
        (f"/invitations/{AGENCY}", "/invitations/[redacted]"),
        (f"/api/v1/invitations/{AGENCY}/accept", "/api/v1/invitations/[redacted]/accept"),
    ],
)
def test_redact_hides_only_the_secret_segment(text, expected):
    assert redact(text) == expected


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict, deadline: float) -> None:
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5).close()
            return
        except urllib.error.HTTPError:  # an answer all the same (nginx's 502)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_gunicorn_access_log_redacts_private_links(tmp_path):
    port, log = _free_port(), tmp_path / "access.log"
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--logger-class", "runner.access_log.RedactingLogger", "--access-logfile", str(log)]
    command += ["--access-logformat", '%(h)s "%(r)s" %(s)s %(U)s "%(f)s" %({raw_uri}e)s']
    server = subprocess.Popen([*command, "tests.runner.test_access_log:app"], cwd=ROOT)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        _get(f"{base}/r/{TOKEN}?new=1", {"Referer": f"{base}/r/{TOKEN}"}, deadline)
        _get(f"{base}/e/wli-gbv-2023/register/{AGENCY}", {}, deadline)
    finally:
        server.terminate()
        server.wait(timeout=15)
    written = log.read_text()
    assert TOKEN not in written and AGENCY not in written
    assert '"GET /r/[redacted]?new=1 HTTP/1.1" 200 /r/[redacted]' in written
    assert f'"{base}/r/[redacted]"' in written
    assert '"GET /e/wli-gbv-2023/register/[redacted] HTTP/1.1" 200' in written


def test_every_gunicorn_command_uses_the_redacting_logger():
    from runner.__main__ import _web_command

    deployment = [(ROOT / name).read_text() for name in ("Dockerfile", "docker-compose.yml")]
    expected = ["--logger-class", "runner.access_log.RedactingLogger"]
    assert " ".join(expected) in " ".join(_web_command())
    gunicorn_commands = [text.count('"gunicorn",') for text in deployment]
    logger_options = [
        text.count('"--logger-class", "runner.access_log.RedactingLogger"') for text in deployment
    ]
    assert gunicorn_commands == logger_options and all(gunicorn_commands)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_access_log_redacts_private_links(tmp_path):
    port, log = _free_port(), tmp_path / "access.log"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = re.sub(r"http://\w+:8000", "http://127.0.0.1:9", conf)  # nothing there: a 502 is logged
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("access_log /dev/stdout hudoor;", f"access_log {log} hudoor;")
    (tmp_path / "nginx.conf").write_text(conf)
    options = f"daemon off; pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};"
    server = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-g", options])
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        paths = (
            f"/r/{TOKEN}/badge.png?new=1",
            f"/e/wli/register/{AGENCY}",
            "/e/wli/register",
            f"/password/reset/{TOKEN}",
            f"/invitations/{AGENCY}",
        )
        for path in paths:
            _get(base + path, {}, deadline)
    finally:
        server.terminate()
        server.wait(timeout=15)
    written = log.read_text()
    assert TOKEN not in written and AGENCY not in written
    assert '"GET /r/[redacted]/badge.png?new=1 HTTP/1.1" 502' in written
    assert '"GET /e/wli/register/[redacted] HTTP/1.1" 502' in written
    assert '"GET /e/wli/register HTTP/1.1" 502' in written
    assert '"GET /password/reset/[redacted] HTTP/1.1" 502' in written
    assert '"GET /invitations/[redacted] HTTP/1.1" 502' in written
