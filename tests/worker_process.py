"""A real Celery worker (with beat) in a child process, for delivery tests and fault drills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    """`celery -A runner.worker worker -B` for all queues, started, killed and restarted."""

    def __init__(self, env: dict[str, str], directory: Path, concurrency: int = 2):
        self.env = {**os.environ, **env}
        self.directory = directory
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.directory / f"worker-{self.starts}.log"

    def start(self, timeout: float = 60) -> WorkerProcess:
        """Start the worker and wait until it consumes."""
        self.starts += 1
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "runner.worker",
            "worker",
            "-B",
            "-Q",
            "registration,notifications,checkin",
            "-c",
            str(self.concurrency),
            "-l",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "-s",
            str(self.directory / "beat-schedule"),
            "-n",
            f"test{self.starts}@%h",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"worker did not start:\n{self.log.read_text(errors='replace')}")

    def revive(self) -> None:
        """Start the worker again if it exited, as compose's `restart: unless-stopped` does."""
        if self.process is not None and self.process.poll() is not None:
            self.start()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully (warm shutdown), or kill if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_until(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{message} not reached in {timeout} s")
