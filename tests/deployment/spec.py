"""The deployment files, read once and parsed: docker-compose.yml, Dockerfile, .env.example, nginx.

Commands are taken apart here the way the containers run them, so the tests and the processes they
start agree on what each service runs.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
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


def argv_of(command) -> list[str]:
    """A compose command (list or string) as an argument vector."""
    return list(command) if isinstance(command, list) else shlex.split(command)


def commands(argv: list[str]) -> list[list[str]]:
    """The commands an argument vector runs: `sh -c "a && b"` runs a, then b."""
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in re.split(r"&&|;", argv[2])]
    return [argv]


def service_argv(service: str) -> list[str]:
    """The argument vector of a service's compose command."""
    return argv_of(SERVICES[service]["command"])


def service_commands(service: str) -> list[list[str]]:
    """The commands a service's compose command runs, in order."""
    return commands(service_argv(service))


def healthcheck_argv(service: str) -> list[str]:
    """The command a service's healthcheck runs, with Compose's `$$` escapes undone."""
    kind, *rest = SERVICES[service]["healthcheck"]["test"]
    if kind == "CMD-SHELL":
        return shlex.split(rest[0].replace("$$", "$"))
    assert kind == "CMD", f"unexpected healthcheck form {kind}"
    return rest


def _runs(service: str, program: str) -> bool:
    return all(argv[0] == program for argv in service_commands(service))


WEB = sorted(name for name in HUDOOR if _runs(name, "gunicorn"))
WORKERS = sorted(
    name for name in HUDOOR if _runs(name, "celery") and "worker" in service_argv(name)
)
ONE_SHOT = sorted(name for name in HUDOOR if _runs(name, "flask"))
LONG_RUNNING = sorted(name for name in SERVICES if name not in ONE_SHOT)


def option(argv: list[str], *names: str) -> str | None:
    """The value that follows the first of `names` in argv."""
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return None


def entry_points(argv: list[str]) -> list[tuple[str, str | None, str | None]]:
    """(module, attribute, CLI command) that a command needs to exist."""
    program = Path(argv[0]).name
    if program == "gunicorn":
        targets = [a for a in argv[1:] if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)]
        return [(*target.split(":"), None) for target in targets]
    if program == "celery":
        return [(option(argv, "-A", "--app"), "celery", None)]
    if program == "flask":
        module = option(argv, "--app")
        command = argv[argv.index(module) + 1]
        return [(module, "app", command)]
    if program == "python" and "-c" in argv:
        return _python_imports(option(argv, "-c"))
    return []


def _python_imports(code: str) -> list[tuple[str, str | None, None]]:
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom):
            found += [(node.module, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None, None) for alias in node.names]
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, one list per build stage."""
    stages: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def dockerfile_cmd() -> list[str]:
    """The image's default command."""
    return json.loads([args for kind, args in dockerfile_instructions() if kind == "CMD"][-1])


def all_commands() -> Iterator[tuple[str, list[str]]]:
    """Every command the deployment runs from the Hudoor image, named by where it is."""
    for name in HUDOOR:
        for argv in service_commands(name):
            yield f"{name}.command", argv
        if "healthcheck" in SERVICES[name]:
            yield f"{name}.healthcheck", healthcheck_argv(name)
    yield "Dockerfile CMD", dockerfile_cmd()


ENTRY_POINTS = sorted(
    {(where, *entry) for where, argv in all_commands() for entry in entry_points(argv)}
)


def gunicorn_port(service: str) -> int:
    """The port a web service's gunicorn binds in its container."""
    return int(option(service_argv(service), "--bind").rsplit(":", 1)[1])


def healthcheck_url(service: str) -> str:
    """The URL a web service's healthcheck asks for."""
    code = option(healthcheck_argv(service), "-c")
    return re.search(r"""['"](http://[^'"]+)['"]""", code).group(1)


def script_name(service: str) -> str:
    """The URL prefix a web service is mounted under (its SCRIPT_NAME)."""
    return SERVICES[service].get("environment", {}).get("SCRIPT_NAME", "")


def literal_environment(service: str) -> dict[str, str]:
    """The environment a service sets itself, without what it takes from .env."""
    environment = SERVICES[service].get("environment", {})
    return {k: str(v) for k, v in environment.items() if "${" not in str(v)}


# --- .env.example --------------------------------------------------------------------------------


def env_example_blocks() -> list[tuple[str, str, list[str]]]:
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


ENV_SETTINGS = {name: value for name, value, _ in env_example_blocks()}
# Settings listed only as a comment ("# NAME=value"): fixed by the image, listed for completeness.
ENV_DOCUMENTED_FIXED = set(re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.MULTILINE))


def expand(value: str, values: Mapping[str, str]) -> str:
    """Compose's ${NAME} expansion within a .env file."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], value)


# --- nginx ---------------------------------------------------------------------------------------


def nginx_without_comments() -> str:
    """deploy/nginx.conf without its comments."""
    return re.sub(r"#[^\n]*", "", NGINX_CONF)


def nginx_locations() -> dict[str, str]:
    """Body of each `location [=] PATH { ... }` (ours hold no nested blocks), by '[= ]PATH'."""
    found = re.finditer(r"location\s+(=\s+)?(\S+)\s*\{([^{}]*)\}", nginx_without_comments())
    return {("= " if m[1] else "") + m[2]: m[3] for m in found}


def nginx_config_for_loopback(ports: Mapping[str, int], listen: int | None = None) -> str:
    """deploy/nginx.conf with the upstream hosts (and optionally the listen port) on 127.0.0.1."""
    conf = NGINX_CONF
    for service in PREFIXES.values():
        port = ports.get(service, gunicorn_port(service))
        conf = conf.replace(
            f"http://{service}:{gunicorn_port(service)}", f"http://127.0.0.1:{port}"
        )
    if listen is not None:
        conf = re.sub(r"listen\s+\d+;", f"listen 127.0.0.1:{listen};", conf)
    return conf
