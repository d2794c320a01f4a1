"""Benchmark door scans against a bare Flask endpoint on the same gunicorn server.

Run from the repository root:

    .venv/bin/python -m bench.checkin [options]

Options:
    --database {sqlite,postgres,both}  database(s) to run on (default: both)
    --count N          measured requests per closed-loop phase (default: 4000)
    --concurrency C [C ...]
                       closed-loop client threads, one keep-alive connection each (default: 8 32)
    --rate R           open loop: requests per second, sent on schedule (default: 300)
    --seconds S        open loop: how long to send (default: 30)
    --open-threads T   open loop: sender threads (and connections) taking scheduled requests from
                       a queue; enough that the schedule never waits for answers (default: 64)
    --badges B         roster size (default: 10000)
    --warmup W         unmeasured first scans before each check-in phase, which also give its
                       repeats badges already checked in; W unmeasured /bare requests once
                       (default: 200)
    --workers N        gunicorn workers (default: 2, as deployed)
    --threads T        threads per worker, gthread worker class (default: 4, as deployed);
                       1 means the sync worker class
    --pg-url URL       PostgreSQL server to use; a throwaway schema is created in it
                       (default: $BENCH_PG_URL or postgresql://postgres@127.0.0.1:5432/test)
    --max-seconds S    stop a phase that runs longer than this (default: 300)
    --seed N           seed of the request mix and badge order (default: 1)

Each database gets a fresh var dir and database (SQLite file, or a `bench_<random>` schema that
is dropped afterwards), migrated with `flask --app services.checkin.wsgi db-upgrade`, a roster of
--badges delegates of one event (Asia/Baghdad) loaded in one transaction with `rebuild_roster`,
badge tokens signed with a fresh Ed25519 key whose public half the service gets in
BADGE_PUBLIC_KEYS, and one gunicorn server on a free 127.0.0.1 port serving
`bench.checkin_app:build()` with the deployed options: `/bare` returns a constant JSON document,
everything else is the check-in service. Scans use a door device's token (enrolled through
`POST /api/v1/events/<id>/devices` by an organizer token).

Each check-in phase scans on its own check-in list (no day or category restriction), so every
badge of the roster is unscanned on it: a phase's first scans are real first check-ins and the
default counts fit a 10,000-badge roster. Mix of the measured requests: 80 % first scans of a
badge never scanned on the list (answer `ok`), 15 % scans of a badge whose first scan was already
answered (`already_checked_in`), 5 % random base32 tokens of the right length (`invalid`). Every
request has a fresh nonce. A wrong HTTP status, a wrong answer status, or no answer counts as an
error; a request whose kept-alive connection the server had closed is resent once with the same
nonce (the service answers a nonce once).

Closed loop: C threads send --count requests, each waiting for its answer. Open loop: one
scheduler thread queues request k at t0 + k/R, sender threads take them; latency runs from the
scheduled time, so waiting for a free sender counts (no coordinated omission). `/bare` and
`/floor` (a bare endpoint that inserts one row with a unique key and commits: the least a
recorded scan must do) are measured the same way in the same run, just before each check-in
phase. The table reports correct answers
per second of wall time, p50/p99/max latency of correct answers and the ratio to `/bare` in the
same mode. Exits non-zero only when a setup step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench import procstat, server
from bench.bare_app import create_floor_table
from bench.checkin_report import (
    cost_lines,
    figures,
    goal_lines,
    machine_lines,
    row_notes,
    table,
)
from bench.checkin_setup import (
    DEFAULT_PG_URL,
    MIX,
    Row,
    Setup,
    database,
    database_counts,
    enrol_device,
    load_roster,
    migrate,
    open_count,
    service_env,
    sign_tokens,
)
from bench.checkin_traffic import BareTraffic, FloorTraffic, ScanTraffic, closed_loop, open_loop
from bench.figures import Figure
from bench.loadgen import Result
from bench.server import Server, free_port
from bench.server import terminated as _terminated


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.checkin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--open-threads", type=int, default=64)
    parser.add_argument("--badges", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    needed = args.warmup + round(MIX[0][1] * max(args.count, open_count(args)))
    if needed > args.badges:
        parser.error(f"a phase needs {needed} unscanned badges; raise --badges or lower the load")
    if min(args.concurrency) < 1 or args.open_threads < 1 or args.rate <= 0:
        parser.error("concurrency, --open-threads and --rate must be positive")
    return args


# --- server -------------------------------------------------------------------------------------


def gunicorn(
    env: dict[str, str], args: argparse.Namespace, log: Path
) -> contextlib.AbstractContextManager[Server]:
    """Run gunicorn serving check-in and the bare endpoint on a free port until the block ends."""
    return server.gunicorn("bench.checkin_app:build()", env, free_port(), args, log)


# --- measuring ----------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of the host, the server tree, this client and our PostgreSQL backends.

    Only the backends tagged with our application_name count as the database: other people's
    PostgreSQL sessions on a shared host come and go and would make the sum meaningless.
    """

    def __init__(self, server_pid: int, pg_url: str | None, application_name: str | None):
        self.server_pid = server_pid
        self.pg_url = pg_url
        self.application_name = application_name

    def snapshot(self) -> tuple[procstat.Snapshot, dict[int, float]]:
        """Read the counters now."""
        return procstat.snapshot(self.server_pid, None), self._backends()

    def usage(self, before, after) -> dict[str, float]:
        """Return CPU seconds used in between by each group and the rest of the host."""
        used = procstat.usage(before[0], after[0])
        database = sum(seconds - before[1].get(pid, 0.0) for pid, seconds in after[1].items())
        used["database"] = database
        busy = after[0].host_busy - before[0].host_busy
        used["other"] = busy - used["server"] - used["client"] - database
        return used

    def _backends(self) -> dict[int, float]:
        """Return CPU seconds of each PostgreSQL backend serving the service."""
        if not self.application_name:
            return {}
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (self.application_name,),
            ).fetchall()
        return {pid: _proc_seconds(pid) for (pid,) in rows}


def _proc_seconds(pid: int) -> float:
    """Return a local process's user+system CPU seconds (0 if it is not on this host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / procstat.TICK


def phase(meter: CpuMeter, run: Callable[[], Result | tuple[Result, dict]]):
    """Run one load phase; return its result, extra figures and CPU usage."""
    before = meter.snapshot()
    outcome = run()
    cpu = meter.usage(before, meter.snapshot())
    result, extra = outcome if isinstance(outcome, tuple) else (outcome, {})
    return result, extra, cpu


def measure(setup: Setup, server: Server, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Warm up, then measure /bare and check-in closed loop at each concurrency and open loop."""
    kind, rows, notes = setup.kind, [], []
    query = parse_qs(urlsplit(setup.env["CHECKIN_DATABASE_URL"]).query)
    meter = CpuMeter(server.process.pid, args.pg_url, query.get("application_name", [None])[0])
    bare, floor = BareTraffic(), FloorTraffic()
    closed_loop(server.port, bare.make, args.warmup, 8, args.max_seconds)
    modes = [("closed", f"c{c}", c) for c in args.concurrency]
    modes.append(("open", f"{args.rate:g}/s", None))
    for number, (mode, load, concurrency) in enumerate(modes):
        scans = ScanTraffic(
            setup.lists[load], setup.tokens, setup.device_token, args.seed * 100 + number
        )
        scans.plan(args.warmup, mixed=False)
        warm = closed_loop(server.port, scans.make, args.warmup, concurrency or 8, args.max_seconds)
        if warm.errors:
            notes.append(f"{kind} {load} warm-up: {dict(warm.errors)}; first: {warm.samples[:2]}")
        scans.answers.clear()
        count = args.count if mode == "closed" else open_count(args)
        scans.plan(count)
        for traffic in (bare, floor, scans):
            if mode == "closed":
                run = functools.partial(
                    closed_loop, server.port, traffic.make, count, concurrency, args.max_seconds
                )
            else:
                run = functools.partial(
                    open_loop,
                    server.port,
                    traffic.make,
                    args.rate,
                    args.seconds,
                    args.open_threads,
                    args.max_seconds,
                )
            result, extra, cpu = phase(meter, run)
            rows.append(Row(kind, traffic.name, mode, load, result, cpu, extra))
        answers = ", ".join(f"{k}->{s}: {n}" for (k, s), n in sorted(scans.answers.items()))
        notes.append(f"{kind} check-in {load}: answers by kind of scan: {answers}")
        notes.append(
            f"{kind} check-in {load}: {len(scans.checked_in)} badges checked in on its list"
        )
    return rows, notes


def bench_database(kind: str, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Set up one database and server, measure, and return rows and notes."""
    tokens, public_keys = sign_tokens(args.badges)
    loads = [f"c{c}" for c in args.concurrency] + [f"{args.rate:g}/s"]
    with (
        tempfile.TemporaryDirectory(prefix=f"hudoor-bench-checkin-{kind}-") as tmp,
        database(kind, args.pg_url, Path(tmp)) as url,
    ):
        env = service_env(Path(tmp), url, public_keys)
        migrate(env)
        create_floor_table("checkin", env)
        began = time.perf_counter()
        lists = load_roster(env, tokens, loads)
        notes = [
            f"{kind}: roster of {args.badges} badges loaded in {time.perf_counter() - began:.1f} s"
        ]
        setup = Setup(kind, env, tokens, lists)
        with gunicorn(env, args, Path(tmp) / "gunicorn.log") as server:
            setup.device_token = enrol_device(server, env)
            rows, phase_notes = measure(setup, server, args)
        notes += phase_notes
        for name, (checkins, scans) in database_counts(env, lists).items():
            notes.append(
                f"{kind} {name} list in the database: {checkins} check-ins, "
                f"{sum(scans.values())} scans {dict(scans)} (warm-up included)"
            )
        notes += server_log_notes(kind, server.log)
    return rows, notes


def server_log_notes(kind: str, log: Path) -> list[str]:
    """Summarise non-200 answers in the access log and errors gunicorn and the app logged."""
    lines = log.read_text(errors="replace").splitlines()
    statuses = Counter(m.group(1) for line in lines if (m := re.search(r'" (\d{3}) ', line)))
    flagged = [
        line
        for line in lines
        if any(w in line for w in ("WARNING", "ERROR", "CRITICAL", "Traceback", "TIMEOUT"))
    ]
    notes = [f"{kind}: access log statuses {dict(statuses)}"]
    if flagged:
        shown = "\n".join(f"    {line}" for line in flagged[:10])
        notes.append(f"{kind}: server log has {len(flagged)} error lines, first ones:\n{shown}")
    else:
        notes.append(f"{kind}: server log has no errors")
    return notes


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the chosen databases and print the report."""
    return run(argv)[0]


def run(argv: list[str] | None = None) -> tuple[int, list[Figure]]:
    """Run the benchmark, print the report and return the exit status and the figures."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    # Shorter GIL turns let the open-loop scheduler wake on time among the sender threads.
    sys.setswitchinterval(0.001)
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    rows, notes, failed = server.per_database(kinds, bench_database, args)
    print("\n".join(["# Check-in benchmark", "", *machine_lines(args), "", table(rows), ""]))
    lines = [*goal_lines(rows, args), *cost_lines(rows), *row_notes(rows), *notes]
    print("\n".join(f"- {line}" for line in lines))
    return (1 if failed else 0), figures(rows)


if __name__ == "__main__":
    sys.exit(main())
