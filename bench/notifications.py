"""End to end: registrations through the API until their confirmation e-mails reach an SMTP server.

Run from the repository root:

    .venv/bin/python -m bench.notifications [options]

Options:
    --count N          measured registrations per broker (default: 1000)
    --concurrency C    client threads, one keep-alive connection each (default: 16)
    --broker {redis,embedded,both}
                       redis: the Redis server at --redis-url, shared, every key under a unique
                       CELERY_KEY_PREFIX that is deleted afterwards; embedded: the bundled Redis
                       (runner.redis_server.EmbeddedRedis) on a unix socket (default: both)
    --database {sqlite,postgres}
                       SQLite files, or one throwaway `bench_<random>` schema per service in
                       --pg-url, dropped afterwards (default: sqlite)
    --workers W        Celery worker processes, `celery worker -c W` (default: 2)
    --warmup W         unmeasured registrations sent first; their e-mails are awaited, which also
                       proves the worker consumes (default: 20, at least 1)
    --max-seconds S    stop sending registrations after this long (default: 300)
    --timeout T        after the last response, wait this long for missing e-mails (default: 120)
    --redis-url URL    the Redis of --broker redis
                       (default: $BENCH_REDIS_URL or redis://127.0.0.1:6379/0)
    --pg-url URL       PostgreSQL server of --database postgres
                       (default: $BENCH_PG_URL or postgresql://postgres@127.0.0.1:5432/test)
    --quiet-wait S     before measuring, wait up to S seconds for a second in which the host's
                       CPUs are less than 25% busy (other jobs on a shared machine) (default: 0)
    --profile DIR      record each process of the worker with py-spy (idle samples included)
                       into DIR, print where their time goes and copy the logs there; needs
                       py-spy next to the interpreter or on PATH (profiling slows the run)

Per broker everything is fresh: the three services' databases (SQLite files or PostgreSQL
schemas), the demo event with capacity and quotas lifted, a signing key, an SMTP server
(aiosmtpd, in this process) recording when each recipient's message arrives, registration under
gunicorn with the deployed options (2 workers x 4 threads, as bench.registration) and one Celery
worker with beat for all queues (`celery -A runner.worker worker -B -c W -l WARNING`), measured
once it answers a control ping. Every registration is a distinct delegate asking for e-mail.
Reported: registrations/s (first request start to last response), confirmations/s (e-mails
received / (last arrival - first request start)), the delay from each registration's response
(its commit happened before) to its e-mail's arrival, the split of that delay by stage from the
outbox and delivery-log timestamps, CPU by process group, the delivery log's status counts and
what the worker logged. Goal: >= 200 confirmations/s on Redis with 2 worker processes and a p99
delay under 2 s. Exits non-zero when a setup step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import math
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import procstat
from bench.figures import Figure
from bench.registration import (
    gunicorn,
    postgres_schema,
    prepare_database,
    registration_request,
    service_env,
)
from bench.server import HOST, SetupError, cpu_model, free_port
from bench.server import terminated as _terminated

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
QUEUES = "registration,notifications,checkin"
SERVICES = ("registration", "notifications", "checkin")
GUNICORN = argparse.Namespace(workers=2, threads=4)
GOAL_RATE, GOAL_P99 = 200.0, 2.0
WARMUP_SECONDS = 90.0
WORKER_START_SECONDS = 120.0
PROFILE_RATE = 100
QUIET_BELOW = 0.25
PROFILE_OPTIONS = ("--idle", "--nonblocking", "--format", "raw")
DUPLICATE_GRACE = 2.0
INHERITED = ("NOTIFICATIONS_", "CHECKIN_", "MAIL_", "SMS_", "OUTBOX_", "DELIVERY_", "REMINDER_")
STAGES = (
    ("publish", "outbox row written -> marked published by the after-commit publisher"),
    ("to log", "published -> delivery logged by notifications.handle_delegate_event"),
    ("to SMTP", "delivery logged -> message received by the SMTP server"),
    ("after SMTP", "message received -> delivery marked sent"),
)
CPU_GROUPS = (
    ("gunicorn", "gunicorn"),
    ("worker", "celery worker + beat"),
    ("broker", "redis"),
    ("database", "postgres (all on host)"),
    ("bench", "bench process (client + SMTP)"),
    ("other", "other processes"),
)


@dataclass
class Sample:
    """One registration request as the client saw it (perf_counter seconds)."""

    index: int
    started: float
    finished: float
    status: int


@dataclass
class Mailbox:
    """An aiosmtpd handler that records when each recipient's messages arrive."""

    arrivals: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        """Record the arrival time of the message for each recipient and accept it."""
        now = time.perf_counter()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.arrivals.setdefault(rcpt.lower(), []).append(now)
        return "250 Message accepted for delivery"

    def count(self, addresses: list[str]) -> int:
        """Return how many of these addresses have received a message."""
        with self.lock:
            return sum(1 for a in addresses if a in self.arrivals)

    def received(self, addresses: list[str]) -> dict[str, list[float]]:
        """Return a copy of the arrivals of these addresses (those that have any)."""
        with self.lock:
            return {a: list(self.arrivals[a]) for a in addresses if a in self.arrivals}


@dataclass
class System:
    """The running pieces of one broker's run."""

    env: dict[str, str]
    port: int
    mailbox: Mailbox
    prefix: str
    broker_pid: int | None
    server_pid: int = 0
    worker_pid: int = 0
    server_log: Path | None = None
    worker_log: Path | None = None


@dataclass
class Run:
    """What one broker's run measured."""

    broker: str
    database: str
    samples: list[Sample]
    arrivals: dict[str, list[float]]
    stages: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    notes: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--broker", choices=("redis", "embedded", "both"), default="both")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--quiet-wait", type=float, default=0.0)
    args = parser.parse_args(argv)
    args.warmup = max(args.warmup, 1)
    return args


def percentile(values: list[float], pct: float) -> float:
    """Return the nearest-rank percentile of values (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered)))) - 1]


def address(index: int) -> str:
    """Return the e-mail address of delegate number index (as bench.registration writes it)."""
    return f"d{index}@example.org"


# --- infrastructure -----------------------------------------------------------------------------


@contextlib.contextmanager
def databases(kind: str, pg_url: str, tmp: Path) -> Iterator[dict[str, str]]:
    """Yield each service's database URL (SQLite files or PostgreSQL schemas), dropped after."""
    if kind == "sqlite":
        yield {service: f"sqlite:///{tmp / service}.db" for service in SERVICES}
        return
    with contextlib.ExitStack() as stack:
        yield {service: stack.enter_context(postgres_schema(pg_url)) for service in SERVICES}


def redis_client(url: str):
    """Return a redis-py client for a redis:// or redis+socket:// URL."""
    import redis

    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"))
    return redis.Redis.from_url(url)


@contextlib.contextmanager
def broker(kind: str, args: argparse.Namespace, tmp: Path) -> Iterator[tuple[str, int | None]]:
    """Yield the broker URL and its server's pid: the shared Redis, or a bundled one."""
    if kind == "redis":
        try:
            redis_client(args.redis_url).ping()
        except Exception as error:
            raise SetupError(f"Redis at {args.redis_url} does not answer: {error}") from error
        yield args.redis_url, redis_server_pid(args.redis_url)
        return
    from runner.redis_server import EmbeddedRedis

    try:
        server = EmbeddedRedis(tmp / "redis").start()
    except RuntimeError as error:
        raise SetupError(str(error)) from error
    try:
        yield server.url, server.process.pid
    finally:
        server.stop()


def redis_server_pid(url: str) -> int | None:
    """Return the pid of the local redis-server listening on the URL's port, if visible."""
    from urllib.parse import urlsplit

    port = str(urlsplit(url).port or 6379)
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if entry.joinpath("comm").read_text().strip() != "redis-server":
                continue
            command = entry.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()
            if f":{port}" in command:
                return int(entry.name)
    return None


@contextlib.contextmanager
def key_prefix(url: str) -> Iterator[str]:
    """Yield a unique CELERY_KEY_PREFIX and delete every key under it at the end."""
    prefix = f"hudoor-bench-{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        client = redis_client(url)
        with contextlib.suppress(Exception):
            keys = list(client.scan_iter(f"{prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        with contextlib.suppress(Exception):
            left = sum(1 for _ in client.scan_iter(f"{prefix}*", count=1000))
            if left:
                print(f"warning: {left} keys under {prefix} remain", file=sys.stderr)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, str]]:
    """Run aiosmtpd on a free loopback port in this process; yield its mailbox and MAIL_URL."""
    from aiosmtpd.controller import Controller

    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox, hostname=HOST, port=port, server_hostname="bench.hudoor.test", ready_timeout=10
    )
    controller.start()
    try:
        yield mailbox, f"smtp://{HOST}:{port}"
    finally:
        controller.stop()


def system_env(tmp: Path, urls: dict[str, str], redis_url: str, smtp_url: str, prefix: str):
    """Return the environment of every command, the server and the worker; and the web port."""
    from shared.badge_tokens import BadgeKeyring

    port = free_port()
    env = service_env(tmp, urls["registration"], redis_url, port)
    env = {k: v for k, v in env.items() if not k.startswith(INHERITED)}
    env.update(
        NOTIFICATIONS_DATABASE_URL=urls["notifications"],
        CHECKIN_DATABASE_URL=urls["checkin"],
        BADGE_SIGNING_KEYS=BadgeKeyring.generate(1).to_spec(),
        MAIL_URL=smtp_url,
        CELERY_KEY_PREFIX=prefix,
        # One client address sends every registration: the per-address limit would refuse them.
        RATE_LIMIT_REGISTRATION="1000000/minute",
        RATE_LIMIT_KEY_PREFIX=f"{prefix}limits",
    )
    return env, port


def prepare(env: dict[str, str]) -> None:
    """Migrate every database, load the demo event and lift its capacity and quotas."""
    prepare_database(env)
    for service in ("notifications", "checkin"):
        command = [sys.executable, "-m", "flask", "--app", f"services.{service}.wsgi"]
        done = subprocess.run(
            [*command, "db-upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 and "No such command" not in done.stderr:
            raise SetupError(f"{service} db-upgrade failed:\n{done.stdout}{done.stderr}")


def worker_command(args: argparse.Namespace, tmp: Path) -> list[str]:
    """Return the Celery worker (with beat) command line, as tests/worker_process.py runs it."""
    command = [sys.executable, "-m", "celery", "-A", "runner.worker", "worker", "-B"]
    command += ["-Q", QUEUES, "-c", str(args.workers), "--without-mingle", "--without-gossip"]
    command += ["-l", "WARNING", "-s", str(tmp / "beat-schedule")]
    return [*command, "-n", f"bench-{secrets.token_hex(4)}@%h"]


@contextlib.contextmanager
def worker(env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[int]:
    """Run the Celery worker in its own process group until it answers; yield its pid."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            worker_command(args, log.parent),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_consuming(env, process, log)
        yield process.pid
    finally:
        stop_group(process)


def wait_consuming(env: dict[str, str], process: subprocess.Popen, log: Path) -> None:
    """Wait until the worker answers a control ping under this run's key prefix."""
    from celery import Celery

    options = {"global_keyprefix": env["CELERY_KEY_PREFIX"]}
    app = Celery("bench", broker=env["REDIS_URL"], broker_transport_options=options)
    deadline = time.monotonic() + WORKER_START_SECONDS
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(Exception):
                if app.control.ping(timeout=0.5):
                    return
            time.sleep(0.2)
    finally:
        app.close()
    raise SetupError(f"the worker did not start:\n{tail(log)}")


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM a process group (warm shutdown), SIGKILL it if it does not exit in time."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- load ---------------------------------------------------------------------------------------


def drive(port: int, first: int, count: int, args: argparse.Namespace) -> list[Sample]:
    """POST registrations first..first+count-1 from --concurrency threads; return the samples."""
    numbers, outs = itertools.count(first), [[] for _ in range(args.concurrency)]
    deadline = time.perf_counter() + args.max_seconds
    threads = [
        threading.Thread(
            target=_client, args=(port, numbers, first + count, deadline, out), daemon=True
        )
        for out in outs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted((s for out in outs for s in out), key=lambda s: s.index)


def _client(port: int, numbers, end: int, deadline: float, out: list[Sample]) -> None:
    """Take registration numbers until the end or the deadline, on one kept-alive connection."""
    conn = None
    for i in numbers:
        if i >= end or time.perf_counter() > deadline:
            break
        conn, sample = _post(port, conn, i)
        out.append(sample)
    if conn is not None:
        conn.close()


def _post(port: int, conn, index: int) -> tuple[http.client.HTTPConnection | None, Sample]:
    """Send one registration; return the connection to reuse (or None) and its sample."""
    method, path, body, headers = registration_request(index)
    started = time.perf_counter()
    try:
        conn = conn or http.client.HTTPConnection(HOST, port, timeout=60)
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        if conn is not None:
            conn.close()
        return None, Sample(index, started, time.perf_counter(), 0)
    sample = Sample(index, started, time.perf_counter(), response.status)
    if response.will_close:
        conn.close()
        conn = None
    return conn, sample


def await_mail(mailbox: Mailbox, addresses: list[str], deadline: float) -> None:
    """Poll the mailbox until every address has a message or the deadline passes."""
    while time.perf_counter() < deadline and mailbox.count(addresses) < len(addresses):
        time.sleep(0.05)


class BacklogSampler(threading.Thread):
    """Samples the length of the notifications queue in the broker while the load runs."""

    def __init__(self, url: str, prefix: str):
        super().__init__(daemon=True)
        self.client, self.key = redis_client(url), f"{prefix}notifications"
        self.stopping, self.peak = threading.Event(), 0

    def run(self) -> None:
        """Record the longest queue seen, every 100 ms."""
        while not self.stopping.wait(0.1):
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.client.llen(self.key))


# --- profiling ----------------------------------------------------------------------------------


def py_spy() -> str | None:
    """Return the py-spy executable next to this interpreter or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def process_tree(pid: int) -> list[int]:
    """Return a process and its direct children (pool processes, embedded beat)."""
    with contextlib.suppress(OSError):
        return [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    return [pid]


@contextlib.contextmanager
def profiler(pid: int, directory: Path | None, kind: str) -> Iterator[dict[int, Path]]:
    """Record each process of a tree with py-spy (idle samples too) until the block ends."""
    executable = py_spy() if directory else None
    if executable is None:
        yield {}
        return
    outputs = {p: directory / f"worker-{kind}-{p}.txt" for p in process_tree(pid)}
    options = [*PROFILE_OPTIONS, "--rate", str(PROFILE_RATE)]
    spies = [
        subprocess.Popen(
            [executable, "record", "--pid", str(p), *options, "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p, out in outputs.items()
    ]
    try:
        yield outputs
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()


def profile_lines(outputs: dict[int, Path], worker_pid: int) -> list[str]:
    """Summarise py-spy profiles: how busy each pool process was and where task time went."""
    stacks = {pid: _read_stacks(path) for pid, path in outputs.items() if path.exists()}
    pool = {pid: c for pid, c in stacks.items() if pid != worker_pid and not _is_beat(c)}
    if not pool:
        return []
    busy: Counter = Counter()
    idle = "idle samples included" if "--idle" in PROFILE_OPTIONS else "idle samples left out"
    lines = [f"py-spy at {PROFILE_RATE} Hz, {idle}"]
    for pid, counts in pool.items():
        in_task = Counter({s: n for s, n in counts.items() if any("trace_task" in f for f in s)})
        busy.update(in_task)
        share = sum(in_task.values()) / max(sum(counts.values()), 1)
        lines.append(f"pool process {pid}: inside a task {share:.0%} of the time")
    total = sum(busy.values())
    lines += _shares("task time by task and project function (inclusive)", _inclusive(busy), total)
    lines += _shares("task time by innermost frame", _leaves(busy), total, 12)
    main = stacks.get(worker_pid, Counter())
    active = Counter({s: n for s, n in main.items() if not _idle(s[-1])})
    lines += _shares(
        "worker main process: busy frames (share of its samples)",
        _leaves(active),
        sum(main.values()),
        6,
    )
    return lines


def _read_stacks(path: Path) -> Counter:
    """Parse py-spy's raw (collapsed) output into a Counter of frame tuples."""
    stacks: Counter = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def _is_beat(stacks: Counter) -> bool:
    """Tell whether a profile is the embedded beat's process."""
    return any("celery/beat.py" in frame for stack in stacks for frame in stack)


def _idle(frame: str) -> bool:
    """Tell whether an innermost frame is a wait for I/O or a lock."""
    waits = ("select", "poll", "wait", "sleep", "recv", "read", "accept", "acquire", "_eintr")
    return frame.split(" (", 1)[0].rsplit(".", 1)[-1].lstrip("_").startswith(waits)


def _label(frame: str) -> str:
    """Shorten a frame's file path to the package-relative part."""
    return re.sub(r"\((/\S*?)(site-packages|lib/python3\.\d+|/main)/", "(", frame)


def _inclusive(stacks: Counter) -> Counter:
    """Count, for each task and project function, the samples whose stack contains it."""
    counts: Counter = Counter()
    for stack, n in stacks.items():
        for frame in {_label(f) for f in stack}:
            if re.search(r"\((services|shared)/", frame):
                counts[frame] += n
    return counts


def _leaves(stacks: Counter) -> Counter:
    """Count samples by innermost frame."""
    counts: Counter = Counter()
    for stack, n in stacks.items():
        counts[_label(stack[-1])] += n
    return counts


def _shares(title: str, counts: Counter, total: int, top: int = 16) -> list[str]:
    """Render the top entries of counts as shares of total."""
    rows = [f"  {n / max(total, 1):6.1%}  {frame}" for frame, n in counts.most_common(top)]
    return [f"{title}:", *rows]


# --- measuring ----------------------------------------------------------------------------------


def measure(kind: str, args: argparse.Namespace, system: System) -> Run:
    """Warm up, then send the measured registrations and wait for their e-mails."""
    warm_up(system, args)
    idle_busy = quiet_host(args.quiet_wait)
    sampler = BacklogSampler(system.env["REDIS_URL"], system.prefix)
    pids = (system.server_pid, system.broker_pid)
    before, before_worker = procstat.snapshot(*pids), procstat.snapshot(system.worker_pid, None)
    with profiler(system.worker_pid, args.profile, kind) as outputs:
        sampler.start()
        samples = drive(system.port, args.warmup, args.count, args)
        addresses = [address(s.index) for s in samples if s.status == 201]
        await_mail(system.mailbox, addresses, time.perf_counter() + args.timeout)
        sampler.stopping.set()
        postgres = args.database == "postgres"
        cpu = cpu_usage(before, before_worker, pids, system.worker_pid, postgres)
    time.sleep(DUPLICATE_GRACE)
    run = Run(kind, args.database, samples, system.mailbox.received(addresses), cpu=cpu)
    run.backlog, run.profile = sampler.peak, profile_lines(outputs, system.worker_pid)
    run.notes.append(f"{kind}: host CPU busy in the idle second before measuring: {idle_busy:.0%}")
    return run


def warm_up(system: System, args: argparse.Namespace) -> None:
    """Send the warm-up registrations and wait for all their e-mails."""
    warm = [address(s.index) for s in drive(system.port, 0, args.warmup, args)]
    await_mail(system.mailbox, warm, time.perf_counter() + WARMUP_SECONDS)
    missing = args.warmup - len(system.mailbox.received(warm))
    if missing:
        raise SetupError(f"{missing} warm-up e-mails did not arrive:\n{tail(system.worker_log)}")
    time.sleep(1.0)  # let the warm-up's roster and bookkeeping tasks finish


def quiet_host(wait: float) -> float:
    """Wait up to `wait` seconds for a mostly idle second of host CPU; return its busy share."""
    deadline = time.monotonic() + wait
    while True:
        before = procstat.snapshot(None, None)
        time.sleep(1.0)
        busy = procstat.usage(before, procstat.snapshot(None, None))["host_busy"]
        if busy < QUIET_BELOW or time.monotonic() > deadline:
            return busy


def cpu_usage(before, before_worker, pids: tuple, worker_pid: int, ours_postgres: bool):
    """Return CPU seconds by process group since the snapshots."""
    used = procstat.usage(before, procstat.snapshot(*pids))
    worker_used = procstat.usage(before_worker, procstat.snapshot(worker_pid, None))["server"]
    # Backends that exit take their CPU time with them: a negative sum means "not measured".
    database = max(used["database"], 0.0) if ours_postgres else 0.0
    return {
        "gunicorn": used["server"],
        "worker": worker_used,
        "broker": used["broker"],
        "database": database,
        "bench": used["client"],
        "other": used["other"] + used["database"] - database - worker_used,
        "host_busy": used["host_busy"],
    }


def tail(log: Path | None, lines: int = 30) -> str:
    """Return the last lines of a log file."""
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def collect(run: Run, system: System) -> None:
    """Add the delivery log's view (stages, status counts) and the logs' errors to the run."""
    deliveries, outbox = read_logs(system.env)
    run.statuses = dict(Counter(d[4] for d in deliveries))
    retried = sum(1 for d in deliveries if d[5] > 1)
    run.notes.append(f"{run.broker}: deliveries attempted more than once: {retried}")
    run.stages = stages(run, deliveries, outbox)
    run.notes += log_notes(f"{run.broker} worker", system.worker_log)
    run.notes += log_notes(f"{run.broker} gunicorn", system.server_log)


def read_logs(env: dict[str, str]) -> tuple[list[tuple], dict[str, tuple]]:
    """Return the delivery log's rows and the outbox's timestamps by message id."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from services.notifications.models import Delivery
    from services.registration.models import OutboxMessage
    from shared.config import database_url

    d, o = Delivery, OutboxMessage
    columns = (d.recipient, d.source, d.created_at, d.sent_at, d.status, d.attempts)
    with Session(create_engine(database_url("notifications", env))) as session:
        deliveries = [tuple(row) for row in session.execute(select(*columns))]
        session.get_bind().dispose()
    with Session(create_engine(database_url("registration", env))) as session:
        rows = session.execute(select(o.message_id, o.created_at, o.published_at))
        outbox = {row[0]: (row[1], row[2]) for row in rows}
        session.get_bind().dispose()
    return deliveries, outbox


def stages(run: Run, deliveries: list[tuple], outbox: dict[str, tuple]) -> dict[str, list[float]]:
    """Split each measured message's path into stages, in seconds, from the logs' timestamps."""
    offset = time.time() - time.perf_counter()
    result: dict[str, list[float]] = {name: [] for name, _ in STAGES}
    for recipient, source, created, sent, _status, _attempts in deliveries:
        arrivals = run.arrivals.get(recipient.lower())
        written, published = outbox.get(source, (None, None))
        if not arrivals or sent is None or published is None:
            continue
        arrived = datetime.fromtimestamp(arrivals[0] + offset, UTC)
        result["publish"].append((published - written).total_seconds())
        result["to log"].append((created - published).total_seconds())
        result["to SMTP"].append((arrived - created).total_seconds())
        result["after SMTP"].append((sent - arrived).total_seconds())
    return result


def log_notes(label: str, log: Path | None) -> list[str]:
    """Count a log's warning and error lines by kind and show the commonest."""
    if log is None or not log.exists():
        return []
    kinds: Counter = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if any(word in line for word in ("WARNING", "ERROR", "CRITICAL", "Traceback")):
            kinds[re.sub(r"\[[^\]]*\]|\d+", "#", line)[:140]] += 1
    if not kinds:
        return [f"{label} log: no warnings or errors"]
    shown = "; ".join(f"{n} x `{kind.strip()}`" for kind, n in kinds.most_common(3))
    return [f"{label} log: {sum(kinds.values())} warning/error lines; commonest: {shown}"]


@contextlib.contextmanager
def running_system(kind: str, args: argparse.Namespace, tmp: Path) -> Iterator[System]:
    """Start databases, broker, SMTP server, gunicorn and the worker; tear all down after."""
    with (
        databases(args.database, args.pg_url, tmp) as urls,
        broker(kind, args, tmp) as (redis_url, broker_pid),
        key_prefix(redis_url) as prefix,
        smtp_server() as (mailbox, smtp_url),
    ):
        env, port = system_env(tmp, urls, redis_url, smtp_url, prefix)
        prepare(env)
        system = System(env, port, mailbox, prefix, broker_pid)
        with gunicorn(env, port, GUNICORN, tmp / "gunicorn.log") as server:
            system.server_pid, system.server_log = server.process.pid, server.log
            system.worker_log = tmp / "worker.log"
            with worker(env, args, system.worker_log) as worker_pid:
                system.worker_pid = worker_pid
                yield system


def bench_broker(kind: str, args: argparse.Namespace) -> Run:
    """Run the whole system on one broker and measure it."""
    with (
        tempfile.TemporaryDirectory(prefix=f"hudoor-bench-mail-{kind}-") as tmp,
        running_system(kind, args, Path(tmp)) as system,
    ):
        run = measure(kind, args, system)
        collect(run, system)
        if args.profile:
            for log in (system.worker_log, system.server_log):
                shutil.copy(log, args.profile / f"{kind}-{log.name}")
        return run


# --- report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The headline numbers of one run."""

    registered: int
    errors: int
    registration_rate: float
    received: int
    duplicates: int
    missing: int
    confirmation_rate: float
    drain: float
    delays: list[float]


def summarise(run: Run) -> Summary:
    """Compute rates, delays and counts of a run."""
    ok = {s.index: s for s in run.samples if s.status == 201}
    first = min((s.started for s in run.samples), default=0.0)
    last_response = max((s.finished for s in ok.values()), default=first)
    firsts = {a: times[0] for a, times in run.arrivals.items()}
    last_arrival = max(firsts.values(), default=first)
    delays = [firsts[address(i)] - s.finished for i, s in ok.items() if address(i) in firsts]
    return Summary(
        registered=len(ok),
        errors=len(run.samples) - len(ok),
        registration_rate=len(ok) / (last_response - first) if last_response > first else 0.0,
        received=len(firsts),
        duplicates=sum(len(times) - 1 for times in run.arrivals.values()),
        missing=len(ok) - len(firsts),
        confirmation_rate=len(firsts) / (last_arrival - first) if last_arrival > first else 0.0,
        drain=max(last_arrival - last_response, 0.0),
        delays=delays,
    )


def table(runs: list[Run]) -> str:
    """Render the headline table in Markdown."""
    lines = [
        "| broker | database | registered | errors | reg/s | e-mails | duplicates | missing "
        "| confirmations/s | delay p50 ms | p99 ms | max ms | drain s | peak backlog |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        s = summarise(run)
        delays = [percentile(s.delays, p) * 1000 for p in (50, 99, 100)]
        lines.append(
            f"| {run.broker} | {run.database} | {s.registered} | {s.errors} | "
            f"{s.registration_rate:.1f} | {s.received} | {s.duplicates} | {s.missing} | "
            f"{s.confirmation_rate:.1f} | {delays[0]:.0f} | {delays[1]:.0f} | {delays[2]:.0f} | "
            f"{s.drain:.1f} | {run.backlog} |"
        )
    return "\n".join(lines)


def stage_table(runs: list[Run]) -> str:
    """Render the per-stage p50/p99 table in Markdown."""
    head = " | ".join(f"{name} p50 / p99 ms" for name, _ in STAGES)
    lines = [f"| broker | {head} |", "|---|" + "---:|" * len(STAGES)]
    for run in runs:
        cells = [
            f"{percentile(run.stages.get(name, []), 50) * 1000:.0f} / "
            f"{percentile(run.stages.get(name, []), 99) * 1000:.0f}"
            for name, _ in STAGES
        ]
        lines.append(f"| {run.broker} | {' | '.join(cells)} |")
    return "\n".join(lines)


def cpu_table(runs: list[Run]) -> str:
    """Render CPU ms per confirmation by process group in Markdown."""
    head = " | ".join(label for _, label in CPU_GROUPS)
    lines = [f"| broker | {head} | host busy |", "|---|" + "---:|" * (len(CPU_GROUPS) + 1)]
    for run in runs:
        per = 1000 / max(summarise(run).received, 1)
        cells = " | ".join(f"{run.cpu.get(key, 0.0) * per:.2f}" for key, _ in CPU_GROUPS)
        lines.append(f"| {run.broker} | {cells} | {run.cpu.get('host_busy', 0.0):.0%} |")
    return "\n".join(lines)


def goal_lines(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """State whether the Redis run meets the goal."""
    redis_run = next((run for run in runs if run.broker == "redis"), None)
    if redis_run is None:
        return []
    s = summarise(redis_run)
    p99 = percentile(s.delays, 99)
    met = s.confirmation_rate >= GOAL_RATE and p99 < GOAL_P99 and not s.missing
    return [
        f"goal (Redis, {args.workers} worker processes: >= {GOAL_RATE:.0f} confirmations/s, "
        f"p99 delay < {GOAL_P99:.0f} s, none missing): {s.confirmation_rate:.1f}/s, "
        f"p99 {p99:.2f} s, {s.missing} missing: {'met' if met else 'NOT met'}"
    ]


def run_notes(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """Describe statuses, CPU and errors of each run."""
    notes = [f"stage `{name}`: {meaning}" for name, meaning in STAGES]
    for run in runs:
        notes.append(f"{run.broker}: delivery log statuses {run.statuses}")
        errors = Counter(s.status for s in run.samples if s.status != 201)
        if errors:
            notes.append(f"{run.broker}: failed registrations by status (0 = no answer) {errors}")
        seconds = ", ".join(f"{label} {run.cpu.get(key, 0):.1f}" for key, label in CPU_GROUPS)
        notes.append(f"{run.broker}: CPU seconds over the measured window: {seconds}")
        notes += ceiling_lines(run, args) + run.notes
    return notes


def ceiling_lines(run: Run, args: argparse.Namespace) -> list[str]:
    """Turn CPU per confirmation into the rates it allows, if CPU were the only limit."""
    received = max(summarise(run).received, 1)
    ours = sum(run.cpu.get(key, 0.0) for key, _ in CPU_GROUPS if key != "other") / received
    worker_ms = run.cpu.get("worker", 0.0) * 1000 / received
    cores = len(os.sched_getaffinity(0))
    return [
        f"{run.broker}: CPU-bound ceilings: the system's {ours * 1000:.1f} CPU ms per "
        f"confirmation allow {cores / ours if ours else 0:.0f}/s on {cores} idle cores; the "
        f"worker's {worker_ms:.1f} ms allow {args.workers * 1000 / max(worker_ms, 1e-9):.0f}/s "
        f"with {args.workers} processes on a core each"
    ]


def machine_lines(args: argparse.Namespace) -> list[str]:
    """Describe the machine, software and settings of the run."""
    from importlib.metadata import version

    return [
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- server: gunicorn {version('gunicorn')} on {HOST}, {GUNICORN.workers} workers x "
        f"{GUNICORN.threads} threads (gthread), access log on; database {args.database}",
        f"- worker: celery {version('celery')} (kombu {version('kombu')}), -c {args.workers} "
        f"prefork, -B, queues {QUEUES}, -l WARNING; SMTP: aiosmtpd {version('aiosmtpd')} "
        "in the benchmark process",
        f"- client: {args.concurrency} threads, one keep-alive connection each; {args.count} "
        f"measured registrations after {args.warmup} warm-up ones; e-mails awaited "
        f"{args.timeout:.0f} s after the last response",
    ]


def print_report(runs: list[Run], args: argparse.Namespace) -> None:
    """Print the Markdown report."""
    print("# Notifications benchmark (registration to confirmation e-mail)\n")
    print("\n".join(machine_lines(args)), end="\n\n")
    print(table(runs), end="\n\n")
    print("Delay split by stage (outbox and delivery-log timestamps):\n")
    print(stage_table(runs), end="\n\n")
    print("CPU ms per confirmation by process group (measured window):\n")
    print(cpu_table(runs), end="\n\n")
    print("\n".join(f"- {note}" for note in [*goal_lines(runs, args), *run_notes(runs, args)]))
    for run in runs:
        if run.profile:
            print(f"\n{run.broker} worker profile:\n```\n" + "\n".join(run.profile) + "\n```")


def figures(runs: list[Run]) -> list[Figure]:
    """Return each broker's confirmation rate and p99 delay as figures."""
    out = []
    for run in runs:
        s = summarise(run)
        name = f"{run.broker} broker, {run.database}"
        out.append(Figure("notifications", f"{name}: confirmations", s.confirmation_rate, "/s"))
        p99 = percentile(s.delays, 99)
        out.append(Figure("notifications", f"{name}: e-mail delay p99", p99, "s"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the chosen brokers and print the report."""
    return run(argv)[0]


def run(argv: list[str] | None = None) -> tuple[int, list[Figure]]:
    """Run the benchmark, print the report and return the exit status and the figures."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    kinds = ("redis", "embedded") if args.broker == "both" else (args.broker,)
    runs, failed = [], False
    for kind in kinds:
        try:
            runs.append(bench_broker(kind, args))
        except (SetupError, OSError, subprocess.SubprocessError) as error:
            print(f"setup failed on {kind}: {error}", file=sys.stderr)
            failed = True
    print_report(runs, args)
    return (1 if failed else 0), figures(runs)


if __name__ == "__main__":
    sys.exit(main())
