"""Profile registrations in one process (no gunicorn, no client threads): where does CPU go?

Run from the repository root:

    .venv/bin/python -m bench.profile_registration [--database sqlite|postgres] [--count N]
        [--sort cumulative|tottime] [--top K] [--cpu] [--no-profile] [--as-deployed]

Sets up a database and private Redis as `bench.registration` does, then posts N distinct
registrations through Flask's test client in this thread and prints the wall and CPU time per
registration (split between the request thread and others: the outbox publisher), the
statements sent to the database per registration, and (unless --no-profile) cProfile's top
functions of the request thread (by wall time, or with --cpu by its CPU time). Background
publishing is flushed before the clock stops. --as-deployed logs and counts as compose does.
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

from bench import registration as bench
from bench import server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--cpu", action="store_true", help="profile CPU time, not wall time")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--as-deployed",
        action="store_true",
        help="JSON request logs and multiprocess Prometheus metrics, as in compose",
    )
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", bench.DEFAULT_PG_URL))
    return parser.parse_args(argv)


def count_statements(app) -> list[int]:
    """Count statements the app's engine executes (BEGIN/COMMIT included)."""
    from sqlalchemy import event

    engine = app.extensions["hudoor_sessions"].kw["bind"]
    counter = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: counter.__setitem__(0, counter[0] + 1))
    event.listen(engine, "begin", lambda *a: counter.__setitem__(0, counter[0] + 1))
    event.listen(engine, "commit", lambda *a: counter.__setitem__(0, counter[0] + 1))
    return counter


def run(client, start: int, count: int) -> None:
    """Post `count` distinct registrations; fail loudly on any other answer than 201."""
    for n in range(start, start + count):
        method, path, body, headers = bench.registration_request(n)
        response = client.open(path, method=method, data=body, headers=headers)
        if response.status_code != 201:
            raise SystemExit(f"registration {n}: {response.status_code} {response.get_data()}")


def flush(app) -> None:
    """Wait until background publishing (if any) has caught up."""
    publisher = app.extensions.get("outbox_publisher")
    if publisher is not None:
        publisher.drain()


def main(argv: list[str] | None = None) -> int:
    """Set up, warm up, measure and report."""
    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="hudoor-profile-") as tmp,
        bench.database(args.database, args.pg_url, Path(tmp)) as url,
        bench.broker(Path(tmp)) as (redis_url, _pid),
    ):
        env = bench.service_env(Path(tmp), url, redis_url, 5000)
        bench.prepare_database(env)
        os.environ.update(env)
        if args.as_deployed:
            server.observe_as_deployed(Path(tmp), "registration")
        from services.registration.app import create_app

        app = create_app()
        client = app.test_client()
        run(client, 0, 50)
        flush(app)
        statements = count_statements(app)
        timer = time.thread_time if args.cpu else time.perf_counter
        profiler = None if args.no_profile else cProfile.Profile(timer)
        wall, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
        if profiler:
            profiler.enable()
        run(client, 50, args.count)
        flush(app)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        own = time.thread_time() - own
        per = 1000 / args.count
        print(
            f"{args.database}: {wall * per:.2f} ms wall, {cpu * per:.2f} ms CPU per registration "
            f"({own * per:.2f} ms in the request thread, {(cpu - own) * per:.2f} ms in others)"
        )
        print(f"{args.database}: {statements[0] / args.count:.1f} statements per registration")
        if profiler:
            pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
