"""Run every benchmark in bench/ and write bench/RESULTS.md with one table of their figures.

    .venv/bin/python -m bench --quick     # bounded, minutes: what `make bench` runs
    .venv/bin/python -m bench             # the full settings of each benchmark (`make bench-full`)

PostgreSQL and Redis at 127.0.0.1 are used when they answer; otherwise SQLite and the embedded
broker only (and the PostgreSQL-only attendance benchmark is skipped).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench.figures import Figure, markdown
from bench.server import cpu_model

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ORDER = ("registration", "checkin", "notifications", "badges", "attendance")
QUICK_BUDGET, FULL_BUDGET = 300, 3600


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bounded, shorter runs")
    parser.add_argument("--only", nargs="+", choices=ORDER, default=list(ORDER))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--budget", type=int, default=None, help="seconds per benchmark")
    args = parser.parse_args(argv)
    args.budget = args.budget or (QUICK_BUDGET if args.quick else FULL_BUDGET)
    return args


def reachable(url: str, default_port: int) -> bool:
    """Tell whether a TCP server answers at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def plan(quick: bool, postgres: bool, redis: bool) -> dict[str, list[str] | None]:
    """Return each benchmark's arguments (None: skipped) for the reachable servers."""
    database = "both" if postgres else "sqlite"
    broker = "both" if redis else "embedded"
    if not quick:
        return {
            "registration": ["--database", database],
            "checkin": ["--database", database],
            "notifications": ["--broker", broker],
            "badges": [],
            "attendance": [] if postgres else None,
        }
    return {
        "registration": [
            "--database",
            database,
            "--count",
            "400",
            "--warmup",
            "50",
            "--max-seconds",
            "60",
        ],
        "checkin": [
            "--database",
            database,
            "--count",
            "600",
            "--concurrency",
            "8",
            "32",
            "--rate",
            "100",
            "--seconds",
            "5",
            "--badges",
            "2000",
            "--warmup",
            "50",
            "--max-seconds",
            "60",
        ],
        "notifications": [
            "--broker",
            broker,
            "--count",
            "150",
            "--warmup",
            "10",
            "--timeout",
            "60",
            "--max-seconds",
            "60",
        ],
        "badges": ["--count", "100"],
        "attendance": [
            "--delegates",
            "10000",
            "--agencies",
            "50",
            "--scans",
            "40000",
            "--requests",
            "20",
        ]
        if postgres
        else None,
    }


def command(name: str, argv: list[str] | None) -> str:
    """Return the shell command that runs one benchmark with these arguments."""
    if argv is None:
        return f"(skipped) python -m bench.{name}"
    return " ".join([".venv/bin/python", "-m", f"bench.{name}", *argv])


class Timeout(Exception):
    """A benchmark ran past its time budget."""


def _alarm(_signum, _frame) -> None:
    """Raise Timeout in the main thread so that servers are stopped on the way out."""
    raise Timeout


def run_one(name: str, argv: list[str], budget: int) -> tuple[str, list[Figure]]:
    """Run one benchmark in process within the budget; return its outcome and figures."""
    module = importlib.import_module(f"bench.{name}")
    began = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(budget)
    try:
        status, figures = module.run(argv)
    except Timeout:
        return f"stopped after the {budget} s budget", []
    except (Exception, SystemExit) as error:
        if isinstance(error, SystemExit) and error.code == 143:
            raise  # SIGTERM: stop everything
        traceback.print_exc()
        return f"failed: {type(error).__name__}: {error}"[:200], []
    finally:
        signal.alarm(0)
    outcome = "ok" if not status else "a setup step failed (see its report)"
    return f"{outcome}, {time.monotonic() - began:.0f} s", figures


def load() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def report(args, plans, outcomes, figures, loads) -> str:
    """Render RESULTS.md."""
    profile = "quick (`python -m bench --quick`, `make bench`)" if args.quick else "full"
    lines = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}",
        f"- load average (1, 5, 15 min): at start {loads[0]}; at end {loads[1]}",
        f"- profile: {profile}; everything on 127.0.0.1",
        "- ratio: the figure over the bare-Flask endpoint on the same gunicorn server, "
        "measured in the same run just before it",
        "",
        markdown(figures),
        "",
        "## Runs",
        "",
        *(f"- `{command(n, plans[n])}`: {outcomes.get(n, 'skipped')}" for n in plans),
        "",
        "## Full runs",
        "",
        "`make bench-full` (`python -m bench`) runs each benchmark with its full settings:",
        "",
        *(f"- `{command(n, a)}`" for n, a in plan(False, True, True).items()),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print the table and write RESULTS.md."""
    args = parse_args(argv)
    postgres, redis = reachable(PG_URL, 5432), reachable(REDIS_URL, 6379)
    plans = {n: a for n, a in plan(args.quick, postgres, redis).items() if n in args.only}
    loads, outcomes, figures = [load()], {}, []
    for name, argv_ in plans.items():
        if argv_ is None:
            outcomes[name] = "skipped: PostgreSQL at 127.0.0.1 does not answer"
            continue
        print(f"\n=== {command(name, argv_)}", flush=True)
        outcomes[name], found = run_one(name, argv_, args.budget)
        figures += found
    loads.append(load())
    text = report(args, plans, outcomes, figures, loads)
    args.output.write_text(text, encoding="utf-8")
    print("\n" + text)
    return 0 if all(o.startswith(("ok", "skipped")) for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
