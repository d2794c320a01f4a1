"""`python -m runner`: start the whole system on embedded defaults and print its URLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner.redis_server import EmbeddedRedis
from shared.config import var_dir

HOST = os.environ.get("HUDOOR_HOST", "127.0.0.1")
PORT = os.environ.get("HUDOOR_PORT", "8000")
SERVICES = ("registration", "checkin", "notifications")


def main() -> int:
    """Run Redis (unless REDIS_URL is set), migrations, demo data, worker and web server."""
    os.environ["HUDOOR_VAR_DIR"] = str(var_dir())
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")
    broker = None
    if not os.environ.get("REDIS_URL"):
        broker = EmbeddedRedis(Path(os.environ["HUDOOR_VAR_DIR"]) / "redis").start()
        os.environ["REDIS_URL"] = broker.url
    children: list[subprocess.Popen] = []
    try:
        _prepare()
        children = [_start(_worker_command()), _start(_beat_command()), _start(_web_command())]
        _announce()
        return _supervise(children)
    finally:
        _stop(children)
        if broker is not None:
            broker.stop()


def _flask(service: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", f"services.{service}.wsgi", *args]


def _prepare() -> None:
    """Apply migrations and load the demo event."""
    subprocess.run(_flask("registration", "db-upgrade"), check=True)
    subprocess.run(_flask("notifications", "db-upgrade"), check=True)
    subprocess.run(_flask("checkin", "db-upgrade"), check=True)
    subprocess.run(_flask("registration", "load-demo"), check=True)


def _worker_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "runner.worker",
        "worker",
        "-Q",
        "registration,notifications,checkin",
        "--concurrency",
        "2",
        "--loglevel",
        "INFO",
    ]


def _beat_command() -> list[str]:
    schedule = Path(os.environ["HUDOOR_VAR_DIR"]) / "celerybeat-schedule"
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "runner.worker",
        "beat",
        "--schedule",
        str(schedule),
        "--loglevel",
        "INFO",
    ]


def _web_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "runner.gateway:app",
        "--bind",
        f"{HOST}:{PORT}",
        "--workers",
        "2",
        "--threads",
        "4",
        # The apps log each request themselves (shared/logs.py); gunicorn's own lines, like
        # theirs, show private links (/r/<token>, agency links) redacted.
        "--logger-class",
        "runner.access_log.RedactingLogger",
    ]


def _start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command)


def _announce() -> None:
    base = os.environ["PUBLIC_BASE_URL"]
    print(
        f"""
Hudoor is running (embedded defaults; state in {os.environ["HUDOOR_VAR_DIR"]}).
  Events open for registration  {base}/
  Demo registration form        {base}/e/wli-gbv-2023/register
  Registration API docs         {base}/api/v1/docs
  Door scanner                  {base}/checkin/scan
  Check-in API docs             {base}/checkin/api/v1/docs
  Notifications API docs        {base}/notifications/api/v1/docs
  Sent e-mails (.eml files)     {os.environ["HUDOOR_VAR_DIR"]}/mail/
  Sent SMS (.json files)        {os.environ["HUDOOR_VAR_DIR"]}/sms/
  Organizer API token           {" ".join(_flask("registration", "create-token", "--label", "me"))}
  First administrator           {" ".join(_flask("registration", "create-admin", "--email", "E"))}
  Organizers' pages             {base}/login
Press Ctrl+C to stop.
""",
        flush=True,
    )


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a child dies or we are told to stop."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(f"{child.args[2:5]} exited with {child.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
