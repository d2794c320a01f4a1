"""Profile the confirmation path of the worker in one process: where does its CPU go?

Run from the repository root:

    .venv/bin/python -m bench.profile_notifications [--database sqlite|postgres] [--count N]
        [--queues notifications|notifications,checkin] [--batches B] [--sort cumulative|tottime]
        [--top K] [--cpu] [--no-profile] [--callers REGEX]
        [--dump FILE]

Sets up the three services' databases, a private Redis and an SMTP server (aiosmtpd, in a
thread of this process) as `bench.notifications` does, then registers warm-up + N distinct
delegates through registration's app (Flask test client; its after-commit publisher puts each
outbox message on the queues) before any worker runs. Then a real Celery worker (runner.worker's
apps, solo pool, in this thread) consumes the queues: after the warm-up's confirmations it
measures N confirmations, as the CPU time of this thread (the worker: Celery, the tasks, SMTP
client) and of the process (the SMTP server's thread included), the statements sent to the
notifications database, and (unless --no-profile) cProfile's top functions of this thread (by
wall time, or with --cpu by its CPU time). With --queues notifications,checkin the roster tasks
the same registrations queued are consumed (and counted) too, as the deployed worker does.
On a busy machine compare the lowest of the B batches' CPU per confirmation (default 10).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import notifications as system
from bench import registration as bench

WARMUP = 20


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--queues", default="notifications")
    parser.add_argument("--batches", type=int, default=10, help="for the lowest/median")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--cpu", action="store_true", help="profile CPU time, not wall time")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--callers", help="also print the callers of functions matching this")
    parser.add_argument("--dump", help="also write the profile to this file (pstats)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", bench.DEFAULT_PG_URL))
    return parser.parse_args(argv)


def count_statements(engine) -> list[int]:
    """Count statements the engine executes (BEGIN/COMMIT/ROLLBACK/SAVEPOINT included)."""
    from sqlalchemy import event

    counter = [0]
    for name in ("before_cursor_execute", "begin", "commit", "rollback", "savepoint"):
        event.listen(engine, name, lambda *a, **k: counter.__setitem__(0, counter[0] + 1))
    return counter


def register(app, count: int) -> None:
    """Register `count` distinct delegates and wait until their messages are on the queues."""
    client = app.test_client()
    for n in range(count):
        method, path, body, headers = bench.registration_request(n)
        response = client.open(path, method=method, data=body, headers=headers)
        if response.status_code != 201:
            raise SystemExit(f"registration {n}: {response.status_code} {response.get_data()}")
    app.extensions["outbox_publisher"].drain()


class Meter:
    """Counts finished confirmation tasks; measures (and profiles) the measured ones."""

    def __init__(self, args: argparse.Namespace, statements: list[int]):
        timer = time.thread_time if args.cpu else time.perf_counter
        self.profiler = None if args.no_profile else cProfile.Profile(timer)
        self.batch = max(1, args.count // args.batches)
        self.count, self.done, self.statements = self.batch * args.batches, 0, statements
        self.marks: list[dict[str, float]] = []
        self.used: dict[str, float] = {}

    def finished(self, sender=None, **_kw) -> None:
        """task_postrun: start the clocks after the warm-up, stop them after N more."""
        if sender.name != "notifications.handle_delegate_event":
            return
        self.done += 1
        measured = self.done - WARMUP
        if measured == 0 and self.profiler:
            self.profiler.enable()
        if measured >= 0 and measured % self.batch == 0:
            self.marks.append(self._clocks())
        if measured == self.count:
            if self.profiler:
                self.profiler.disable()
            self.used = {key: self.marks[-1][key] - self.marks[0][key] for key in self.marks[0]}
            os.kill(os.getpid(), signal.SIGTERM)  # a warm shutdown of the worker

    def batches(self) -> list[float]:
        """The worker thread's CPU ms per confirmation in each batch, lowest first."""
        pairs = zip(self.marks, self.marks[1:], strict=False)
        return sorted((b["thread"] - a["thread"]) * 1000 / self.batch for a, b in pairs)

    def _clocks(self) -> dict[str, float]:
        return {
            "wall": time.perf_counter(),
            "thread": time.thread_time(),
            "process": time.process_time(),
            "statements": self.statements[0],
        }


def report(args: argparse.Namespace, meter: Meter, received: int) -> None:
    """Print the costs per confirmation and the profile."""
    per = {key: value / meter.count for key, value in meter.used.items()}
    batches = meter.batches()
    print(
        f"{args.database} [{args.queues}]: {per['wall'] * 1000:.2f} ms wall, "
        f"{per['thread'] * 1000:.2f} ms CPU in the worker thread, "
        f"{per['process'] * 1000:.2f} ms CPU in the process per confirmation "
        f"({per['statements']:.1f} notifications statements; {received} e-mails received)"
        + (f" (under cProfile, {'CPU' if args.cpu else 'wall'} time)" if meter.profiler else "")
    )
    print(
        f"worker thread CPU ms per confirmation in {len(batches)} batches of {meter.batch}: "
        f"lowest {batches[0]:.2f}, median {batches[len(batches) // 2]:.2f}"
    )
    if meter.profiler:
        stats = pstats.Stats(meter.profiler, stream=sys.stdout).sort_stats(args.sort)
        stats.print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)
        if args.dump:
            stats.dump_stats(args.dump)


def work(celery, args: argparse.Namespace, meter: Meter) -> None:
    """Run a solo-pool worker in this thread until the meter stops it."""
    from celery.signals import task_postrun

    task_postrun.connect(meter.finished, weak=False)
    worker = celery.Worker(
        pool_cls="solo",
        concurrency=1,
        queues=args.queues.split(","),
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
        loglevel="WARNING",
        hostname="profile@localhost",
    )
    worker.start()


def main(argv: list[str] | None = None) -> int:
    """Set up, queue the registrations' messages, consume them in a worker and report."""
    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="hudoor-profile-notifications-") as tmp,
        system.databases(args.database, args.pg_url, Path(tmp)) as urls,
        bench.broker(Path(tmp)) as (redis_url, _pid),
        system.smtp_server() as (mailbox, smtp_url),
    ):
        env, _port = system.system_env(Path(tmp), urls, redis_url, smtp_url, "")
        system.prepare(env)
        os.environ.update(env)
        from runner import worker as runner
        from shared.celery_app import _apps

        register(_apps["registration"], WARMUP + args.count)  # at least WARMUP + meter.count
        engine = _apps["notifications"].extensions["hudoor_sessions"].kw["bind"]
        meter = Meter(args, count_statements(engine))
        work(runner.celery, args, meter)
        if not meter.used:
            raise SystemExit("the worker stopped before the measured confirmations were done")
        addresses = [system.address(n) for n in range(WARMUP + args.count)]
        report(args, meter, mailbox.count(addresses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
