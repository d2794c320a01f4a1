"""Profile door scans in one process (no gunicorn, no client threads): where does the time go?

Run from the repository root:

    .venv/bin/python -m bench.profile_checkin [--database sqlite|postgres] [--count N]
        [--sort cumulative|tottime] [--top K] [--cpu] [--no-profile] [--as-deployed]

Sets up a database, roster, check-in list and door device as `bench.checkin` does, then sends
scans through Flask's test client in this thread: per kind of scan (first, repeat, invalid) the
wall and CPU time per scan and the statements (and connection checkouts) sent to the database per
scan, then, unless --no-profile, cProfile's top functions over N scans in the benchmark's
80/15/5 mix: by wall time (waiting on the database included), or with --cpu by this process's CPU
time (waiting left out, so that the Python costs stand out). --as-deployed logs and counts as
compose does (JSON request logs, Prometheus multiprocess files).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench import checkin_setup as setup
from bench import server
from bench.checkin_traffic import ScanTraffic


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--badges", type=int, default=10_000)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--cpu", action="store_true", help="profile CPU time, not wall time")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--as-deployed",
        action="store_true",
        help="JSON request logs and multiprocess Prometheus metrics, as in compose",
    )
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", setup.DEFAULT_PG_URL))
    return parser.parse_args(argv)


def counters(app) -> dict[str, int]:
    """Count statements (BEGIN/COMMIT/ROLLBACK included) and pool checkouts of the app's engine."""
    from sqlalchemy import event

    engine = app.extensions["hudoor_sessions"].kw["bind"]
    counts = {"statements": 0, "checkouts": 0}

    def bump(key):
        return lambda *_a, **_k: counts.__setitem__(key, counts[key] + 1)

    for name in ("before_cursor_execute", "begin", "commit", "rollback", "savepoint"):
        event.listen(engine, name, bump("statements"))
    event.listen(engine.pool, "checkout", bump("checkouts"))
    return counts


def send(client, traffic: ScanTraffic, count: int) -> None:
    """Send `count` scans of the traffic's plan; fail loudly on a wrong answer."""
    for i in range(count):
        method, path, body, headers, check = traffic.make(i)
        response = client.open(path, method=method, data=body, headers=headers)
        problem = check(response.status_code, response.get_data())
        if problem:
            raise SystemExit(f"scan {i}: {problem}: {response.get_data()[:300]!r}")


def main(argv: list[str] | None = None) -> int:
    """Set up, warm up, measure each kind, profile the mix and report."""
    args = parse_args(argv)
    tokens, public_keys = setup.sign_tokens(args.badges)
    with (
        tempfile.TemporaryDirectory(prefix="hudoor-profile-checkin-") as tmp,
        setup.database(args.database, args.pg_url, Path(tmp)) as url,
    ):
        env = setup.service_env(Path(tmp), url, public_keys)
        setup.migrate(env)
        lists = setup.load_roster(env, tokens, ["kinds", "mix"])
        os.environ.update(env)
        if args.as_deployed:
            server.observe_as_deployed(Path(tmp), "checkin")
        from services.checkin.app import create_app
        from shared.identity import issue_api_token

        app = create_app()
        client = app.test_client()
        organizer = issue_api_token(
            env["SECRET_KEY"], subject="bench", role="organizer", events=[1], token_id="bench-org"
        )
        enrolled = client.post(
            f"/api/v1/events/{setup.EVENT_ID}/devices",
            json={"gate": "north", "name": "Benchmark door"},
            headers={"Authorization": f"Bearer {organizer}"},
        )
        device_token = enrolled.get_json()["token"]
        counts = counters(app)
        kinds = ScanTraffic(lists["kinds"], tokens, device_token, seed=1)
        kinds.plan(100, mixed=False)
        send(client, kinds, 100)  # warm-up, and badges for the repeats
        n = max(1, args.count // 4)
        for kind in ("first", "repeat", "invalid"):
            kinds.kinds = [kind] * n
            before = dict(counts)
            wall, cpu = time.perf_counter(), time.process_time()
            send(client, kinds, n)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            per = {k: (counts[k] - before[k]) / n for k in counts}
            print(
                f"{args.database} {kind} scan: {wall * 1000 / n:.2f} ms wall, "
                f"{cpu * 1000 / n:.2f} ms CPU, {per['statements']:.1f} statements, "
                f"{per['checkouts']:.1f} connection checkouts per scan"
            )
        mix = ScanTraffic(lists["mix"], tokens, device_token, seed=2)
        mix.plan(100, mixed=False)
        send(client, mix, 100)
        mix.plan(args.count)
        timer = time.process_time if args.cpu else time.perf_counter
        profiler = None if args.no_profile else cProfile.Profile(timer)
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        send(client, mix, args.count)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{args.database} mix: {wall * 1000 / args.count:.2f} ms wall, "
            f"{cpu * 1000 / args.count:.2f} ms CPU per scan"
            + (f" (under cProfile, {'CPU' if args.cpu else 'wall'} time)" if profiler else "")
        )
        if profiler:
            pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort).print_stats(args.top)
        app.extensions["hudoor_sessions"].kw["bind"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
