"""What the HTTP benchmarks share: a gunicorn server on the loopback, its start and stop."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.bare_app import BARE_PATH

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class SetupError(RuntimeError):
    """A step before measuring failed (database, migrations, roster, server start)."""


@dataclass
class Server:
    """A running gunicorn server."""

    process: subprocess.Popen
    port: int
    log: Path
    broker_pid: int | None = None


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def worker_class(args: argparse.Namespace) -> str:
    """Return gunicorn's worker class for the thread count (gthread when threaded)."""
    return "gthread" if args.threads > 1 else "sync"


def gunicorn_command(app: str, port: int, args: argparse.Namespace) -> list[str]:
    """Return the gunicorn command line with the deployed options."""
    command = [sys.executable, "-m", "gunicorn", app]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(args.workers)]
    command += ["--threads", str(args.threads), "--worker-class", worker_class(args)]
    return [*command, "--access-logfile", "-", "--log-level", "warning"]


@contextlib.contextmanager
def gunicorn(
    app: str, env: dict[str, str], port: int, args: argparse.Namespace, log: Path
) -> Iterator[Server]:
    """Run gunicorn serving `app` until the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            gunicorn_command(app, port, args),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Wait until both endpoints answer, or raise SetupError with the server log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        if all(request(server.port, path)[0] == 200 for path in (BARE_PATH, "/healthz")):
            return
        time.sleep(0.2)
    raise SetupError(f"gunicorn did not start:\n{server.log.read_text(errors='replace')[-3000:]}")


def request(port: int, path: str, method="GET", body=None, headers=None) -> tuple[int, bytes]:
    """Send one request on a new connection; (0, b'') if the server does not answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def stop(process: subprocess.Popen) -> None:
    """Stop a child server gracefully, killing it if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def per_database(kinds, bench_database, args: argparse.Namespace) -> tuple[list, list, bool]:
    """Run `bench_database(kind, args)` for each database; a setup failure skips that one."""
    rows, notes, failed = [], [], False
    for kind in kinds:
        try:
            kind_rows, kind_notes = bench_database(kind, args)
        except (SetupError, OSError, subprocess.SubprocessError) as error:
            print(f"setup failed on {kind}: {error}", file=sys.stderr)
            failed = True
            continue
        rows += kind_rows
        notes += kind_notes
    return rows, notes, failed


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def package_version(package: str) -> str:
    """Return an installed package's version."""
    from importlib.metadata import version

    return version(package)


def terminated(_signum, _frame) -> None:
    """Turn SIGTERM into SystemExit so that servers are stopped and schemas dropped."""
    sys.exit(143)


def observe_as_deployed(directory: Path, service: str) -> None:
    """Log and count as compose does: JSON request logs (to /dev/null), multiprocess metrics."""
    # Before the service's modules are imported: prometheus_client picks its value class then.
    import logging
    import os

    os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(directory / "metrics"), LOG_FORMAT="json")
    from shared.logs import configure_logging

    configure_logging(service)
    for handler in logging.getLogger().handlers:
        if getattr(handler, "hudoor", False):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the run)
