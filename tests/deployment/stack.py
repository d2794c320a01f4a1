"""Every process docker-compose.yml names, run natively as its container would run it.

Each container's command and environment come from the compose file: `${NAME:-default}` and
`${NAME:?error}` are resolved against a .env of the test's own, container paths of named volumes
become one host folder per volume (shared, as the volume is) and tmpfs paths a folder per
container. PostgreSQL and Redis are the machine's (or the suite's SQLite files and Redis); nginx
runs deploy/nginx.conf with its upstreams on loopback.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.deployment.processes import (
    free_port,
    log_tail,
    native_argv,
    start,
    stop,
    tool_path,
    wait_for_http,
)
from tests.deployment.spec import (
    COMPOSE,
    HUDOOR,
    ONE_SHOT,
    ROOT,
    SERVICES,
    WEB,
    WORKERS,
    nginx_config_for_loopback,
    script_name,
    service_argv,
)

# Services the machine provides (its PostgreSQL and Redis, or the suite's embedded stand-ins).
MACHINE = ("postgres", "redis")
PROFILED = sorted(name for name, s in SERVICES.items() if s.get("profiles"))
STEPS = [name for name in ONE_SHOT if name not in PROFILED]
LONG_RUNNING_HUDOOR = [name for name in HUDOOR if name not in ONE_SHOT + PROFILED]
PROXY = next(name for name, s in SERVICES.items() if s.get("image", "").startswith("nginx:"))
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?)([-?])([^}]*))?\}")


def interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's interpolation of one value against a .env: ${A}, ${A:-default}, ${A:?error}."""

    def one(match: re.Match) -> str:
        name, colon, kind, argument = match.groups()
        present = name in dotenv and (dotenv[name] != "" or not colon)
        if kind == "?" and not present:
            raise AssertionError(f"compose would refuse to start: {argument}")
        return argument if kind == "-" and not present else dotenv.get(name, "")

    return INTERPOLATION.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def mounts(service: str, directory: Path) -> dict[str, Path]:
    """Host folders standing for a container's named volumes (shared) and tmpfs (its own)."""
    found = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source in COMPOSE.get("volumes", {}):
            found[target] = directory / "volumes" / source
    for target in SERVICES[service].get("tmpfs", []):
        found[target] = directory / "tmpfs" / service / target.strip("/").replace("/", "-")
    for folder in found.values():
        folder.mkdir(parents=True, exist_ok=True)
    return found


def on_host(value: str, paths: dict[str, Path]) -> str:
    """A container path (or anything else, unchanged) as the host folder standing for it."""
    for target, host in paths.items():
        if value == target or value.startswith(target + "/"):
            return str(host) + value[len(target) :]
    return value


@dataclass
class Process:
    """One running container's process and its log."""

    name: str
    popen: subprocess.Popen
    log: Path


class Stack:
    """The compose project's processes on loopback ports, started and stopped together."""

    def __init__(self, directory: Path, dotenv: dict[str, str], extra: dict[str, str]):
        """`dotenv` is what compose reads from .env (it may be filled in once `url` is known);
        `extra` is set in every process on top of what compose gives it."""
        self.directory, self.dotenv, self.extra = directory, dotenv, extra
        directory.mkdir(parents=True, exist_ok=True)
        self.ports = {service: free_port() for service in WEB}
        self.proxy_port = free_port()
        self.processes: dict[str, Process] = {}
        self.logs: dict[str, Path] = {}

    @property
    def url(self) -> str:
        """The proxy's address: the deployment's single entry point."""
        return f"http://127.0.0.1:{self.proxy_port}"

    def environment(self, service: str) -> dict[str, str]:
        """The container's environment, resolved against this stack's .env."""
        paths = mounts(service, self.directory)
        given = SERVICES[service].get("environment", {})
        resolved = {k: on_host(interpolate(str(v), self.dotenv), paths) for k, v in given.items()}
        return {"PATH": tool_path(), "HOSTNAME": socket.gethostname(), **resolved, **self.extra}

    def argv(self, service: str) -> list[str]:
        """The container's command, with its paths on the host and gunicorn on a loopback port."""
        paths = mounts(service, self.directory)
        argv = [on_host(arg, paths) for arg in service_argv(service)]
        if "--bind" in argv:
            argv[argv.index("--bind") + 1] = f"127.0.0.1:{self.ports[service]}"
        return argv

    def run(self, service: str, deadline: float, argv=None, stdin: str = "") -> str:
        """Run a one-shot container command (its own, or `argv` as `compose run` would)."""
        runs = sum(name.startswith(f"{service}-run-") for name in self.logs)
        log = self._log(service if argv is None else f"{service}-run-{runs + 1}")
        result = subprocess.run(
            native_argv(argv or self.argv(service)),
            cwd=ROOT,
            env=self.environment(service),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        assert result.returncode == 0, f"{service} failed:\n{log_tail(log)}"
        return result.stdout

    def start(self, service: str) -> None:
        """Start a long-running container's process."""
        popen = start(self.argv(service), self.environment(service), self._log(service))
        self.processes[service] = Process(service, popen, self.logs[service])

    def start_proxy(self) -> None:
        """nginx with deploy/nginx.conf in front of the web services' loopback ports."""
        folder = self.directory / PROXY
        folder.mkdir(exist_ok=True)
        conf = folder / "nginx.conf"
        conf.write_text(nginx_config_for_loopback(self.ports, self.proxy_port), encoding="utf-8")
        argv = [shutil.which("nginx"), "-c", str(conf), "-g", f"daemon off; pid {folder}/pid;"]
        popen = start(argv, {"PATH": tool_path()}, self._log(PROXY))
        self.processes[PROXY] = Process(PROXY, popen, self.logs[PROXY])

    def wait_until_ready(self, deadline: float) -> None:
        """Wait for each web service's /healthz, each worker's `ready.` and the proxy's check."""
        for service in WEB:
            url = f"http://127.0.0.1:{self.ports[service]}{script_name(service)}/healthz"
            wait_for_http(self.processes[service].popen, url, deadline)
        for worker in WORKERS:
            self._wait_for_line(self.processes[worker], " ready.", deadline)
        wait_for_http(self.processes[PROXY].popen, f"{self.url}/nginx-health", deadline)
        exited = [p.name for p in self.processes.values() if p.popen.poll() is not None]
        assert not exited, f"exited at start: {exited}"

    def log_entries(self, service: str) -> str:
        """What a process has logged so far."""
        return self.logs[service].read_text(encoding="utf-8", errors="replace")

    def tails(self, lines: int = 30) -> str:
        """The end of every process's log, for diagnosing a failure."""
        return "\n\n".join(
            f"--- {name} ({path}) ---\n{log_tail(path, lines)}" for name, path in self.logs.items()
        )

    def stop(self) -> None:
        """Stop every process (gunicorn and Celery finish what they are doing first)."""
        stop([process.popen for process in self.processes.values()])

    def _log(self, name: str) -> Path:
        self.logs[name] = self.directory / f"{name}.log"
        return self.logs[name]

    def _wait_for_line(self, process: Process, text: str, deadline: float) -> None:
        while text not in self.log_entries(process.name):
            assert process.popen.poll() is None, f"{process.name} exited"
            assert time.monotonic() < deadline, f"{process.name} did not log {text!r} in time"
            time.sleep(0.2)
