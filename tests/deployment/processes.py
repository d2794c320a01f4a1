"""Running the deployment's processes natively: ports, waiting, stopping, environments, logs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.deployment.spec import ROOT, SERVICES

NO_NGINX = "nginx is not installed (Debian: apt-get install nginx-light)"
# Programs of the image that are Python: run here by this interpreter (the project's virtualenv).
PYTHON_PROGRAMS = ("gunicorn", "celery", "flask")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(process: subprocess.Popen, url: str, deadline: float) -> None:
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


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate the processes, killing any that has not exited within 15 s."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def native_argv(argv: list[str]) -> list[str]:
    """A container's command as run here: the image's Python programs by this interpreter."""
    program = Path(argv[0]).name
    if program == "python":
        return [sys.executable, *argv[1:]]
    if program in PYTHON_PROGRAMS:
        return [sys.executable, "-m", *argv]
    return list(argv)


def tool_path() -> str:
    """PATH with this virtualenv's scripts first (what `sh -c "flask ..."` needs)."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def start(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start a command in the project directory, its output (both streams) in `log_path`."""
    with log_path.open("w") as log:
        return subprocess.Popen(
            native_argv(argv), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that there is none."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def celery_environment(tmp_path: Path, redis_url: str) -> dict[str, str]:
    """What a Celery container needs to reach this run's broker under keys of its own."""
    return {
        "PATH": tool_path(),
        "HUDOOR_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_url,
        "CELERY_KEY_PREFIX": f"deployment-test-{os.getpid()}-{tmp_path.name}:",
        # Docker sets HOSTNAME to the container's host name, which is the worker's node name.
        "HOSTNAME": socket.gethostname(),
    }


def run_healthcheck(service: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a service's compose healthcheck here, in `env`."""
    kind, *rest = SERVICES[service]["healthcheck"]["test"]
    argv = ["sh", "-c", rest[0].replace("$$", "$")] if kind == "CMD-SHELL" else rest
    argv = [sys.executable, *argv[1:]] if argv[0] == "python" else argv
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
