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
scheduled time, so waiting for a free sender counts (no coordinated omission). `/bare` is measured
the same way in the same run, just before each check-in phase. The table reports correct answers
per second of wall time, p50/p99/max latency of correct answers and the ratio to `/bare` in the
same mode. Exits non-zero only when a setup step fails.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.client
import itertools
import json
import os
import platform
import queue
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench import procstat
from bench.bare_app import BARE_PATH
from bench.loadgen import Result

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
EVENT_ID = 1
TIMEZONE = "Asia/Baghdad"
SCAN_PATH = "/api/v1/scans"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
UNUSED_REDIS = "redis://127.0.0.1:1/0"
MIX = (("first", 0.80), ("repeat", 0.15), ("invalid", 0.05))
EXPECTED = {"first": "ok", "repeat": "already_checked_in", "invalid": "invalid"}
GOAL_RATIO = 0.60
GOAL_P99_MS = 15.0
AGENCIES = ("IWED", "WED-DIW", "WED-KRK", "WED-BGD", "OHCHR", "NSC", "PMC", "MOH-WE", "LCN")
CATEGORIES = (("DELEGATE", "مندوب", "Delegate", "#1f6feb"), ("PRESS", "صحافة", "Press", "#d29922"))
CPU_GROUPS = {
    "server": "gunicorn",
    "database": "postgres (our backends)",
    "client": "client",
    "other": "other processes",
}
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class SetupError(RuntimeError):
    """A step before measuring failed (database, migrations, roster, server start)."""


@dataclass
class Server:
    """A running gunicorn server."""

    process: subprocess.Popen
    port: int
    log: Path


@dataclass
class Row:
    """One line of the result table with its CPU accounting."""

    database: str
    endpoint: str
    mode: str
    load: str
    result: Result
    cpu: dict[str, float]
    extra: dict = field(default_factory=dict)


@dataclass
class Setup:
    """What a database's benchmark needs: env, keyring tokens, lists, device token."""

    kind: str
    env: dict[str, str]
    tokens: list[str]
    lists: dict[str, int]
    device_token: str = ""


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


def open_count(args: argparse.Namespace) -> int:
    """Return the number of requests an open-loop phase schedules."""
    return round(args.rate * args.seconds)


# --- requests -----------------------------------------------------------------------------------

# (method, path, body, headers, check): check(http_status, body) -> error label or None.
Request = tuple[str, str, bytes | None, dict[str, str], Callable[[int, bytes], str | None]]


class BareTraffic:
    """GET /bare; any 200 answer is correct."""

    name = "bare"

    def make(self, _i: int) -> Request:
        """Return the i-th request."""
        return "GET", BARE_PATH, None, {"Accept": "application/json"}, self.check

    @staticmethod
    def check(status: int, body: bytes) -> str | None:
        """Return an error label unless the answer is a 200."""
        return None if status == 200 else f"HTTP {status}"


class ScanTraffic:
    """Scans on one check-in list in the 80/15/5 mix, each answer checked against its kind.

    First scans take the next unscanned badge; repeats pick one whose first scan was already
    answered `ok` (so never one still in flight); invalid tokens are random base32.
    """

    name = "checkin"

    def __init__(self, list_id: int, tokens: list[str], device_token: str, seed: int) -> None:
        self.list_id = list_id
        self.tokens = tokens
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {device_token}",
        }
        self.rng = random.Random(seed)
        order = list(range(1, len(tokens)))
        self.rng.shuffle(order)
        self.fresh = iter(order)
        self.checked_in: list[int] = []
        self.kinds: list[str] = []
        self.answers: Counter = Counter()
        self.lock = threading.Lock()

    def plan(self, count: int, *, mixed: bool = True) -> None:
        """Fix the kinds of the next `count` requests: the mix shuffled, or only first scans."""
        if not mixed:
            self.kinds = ["first"] * count
            return
        counts = {kind: round(share * count) for kind, share in MIX[1:]}
        kinds = ["first"] * (count - sum(counts.values()))
        for kind, n in counts.items():
            kinds += [kind] * n
        self.rng.shuffle(kinds)
        self.kinds = kinds

    def make(self, i: int) -> Request:
        """Return request i of the plan (badges are drawn when it is sent)."""
        kind = self.kinds[i]
        badge = None
        with self.lock:
            if kind == "repeat" and not self.checked_in:
                kind = "first"
            if kind == "first":
                badge = next(self.fresh, None)
                if badge is None:
                    raise RuntimeError("every badge of the roster was scanned; raise --badges")
            elif kind == "repeat":
                badge = self.rng.choice(self.checked_in)
        if kind == "invalid":
            token = base64.b32encode(os.urandom(80)).decode()[: len(self.tokens[1])]
        else:
            token = self.tokens[badge]
        body = {
            "token": token,
            "list_id": self.list_id,
            "gate": "north",
            "nonce": uuid.uuid4().hex,
            "direction": "entry",
        }
        check = functools.partial(self.check, kind, badge)
        return "POST", SCAN_PATH, json.dumps(body).encode(), self.headers, check

    def check(self, kind: str, badge: int | None, status: int, body: bytes) -> str | None:
        """Return an error label unless the answer is what this kind of scan must get."""
        if status != 200:
            return f"HTTP {status}"
        try:
            answer = json.loads(body)
            got, reason = answer["status"], answer.get("reason")
        except (ValueError, KeyError, TypeError):
            return "unreadable answer"
        with self.lock:
            self.answers[(kind, got)] += 1
            if kind == "first" and got == "ok" and reason is None:
                self.checked_in.append(badge)
                return None
        if got == EXPECTED[kind] and kind != "first":
            return None
        return f"{kind} scan answered {got}" + (f" ({reason})" if reason else "")


# --- load ---------------------------------------------------------------------------------------


class Connection:
    """One kept-alive HTTP/1.1 connection, reopened when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def open(self) -> None:
        """Connect now (before the clock starts)."""
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        self.conn.connect()

    def close(self) -> None:
        """Close the connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def exchange(self, method: str, path: str, body, headers) -> tuple[int, bytes]:
        """Send one request; resend once on a fresh connection if a kept-alive one was closed."""
        for attempt in (1, 2):
            reused = self.conn is not None and self.conn.sock is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            try:
                self.conn.request(method, path, body, headers)
                response = self.conn.getresponse()
                payload = response.read()
            except STALE:
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, payload
        raise AssertionError("unreachable")


def _record(result: Result, make: Callable[[int], Request], i: int, conn: Connection, began=None):
    """Send request i on conn; record its latency (from `began`, default: send time)."""
    method, path, body, headers, check = make(i)
    result.requests += 1
    sent = time.perf_counter()
    try:
        status, payload = conn.exchange(method, path, body, headers)
    except (OSError, http.client.HTTPException) as error:
        _error(result, type(error).__name__, repr(error))
        return sent
    elapsed = time.perf_counter() - (sent if began is None else began)
    result.answered.append(elapsed)
    problem = check(status, payload)
    if problem is None:
        result.ok += 1
        result.latencies.append(elapsed)
    else:
        _error(result, problem, payload[:300].decode("utf-8", "replace"))
    return sent


def _error(result: Result, kind: str, detail: str) -> None:
    """Count an error and keep the first few details."""
    result.errors[kind] += 1
    if len(result.samples) < 5:
        result.samples.append(f"{kind}: {detail}")


def closed_loop(port: int, make, count: int, concurrency: int, max_seconds: float) -> Result:
    """Send `count` requests from `concurrency` threads, each waiting for its answer."""
    counter = itertools.count()
    gate = threading.Barrier(concurrency + 1)
    results = [Result() for _ in range(concurrency)]

    def worker(result: Result) -> None:
        conn = Connection(port)
        with contextlib.suppress(OSError):
            conn.open()
        gate.wait()
        deadline = time.monotonic() + max_seconds
        for i in counter:
            if i >= count:
                break
            if time.monotonic() > deadline:
                result.stopped_early = True
                break
            _record(result, make, i, conn)
        conn.close()

    threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in results]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    total = Result(wall=time.perf_counter() - began)
    for result in results:
        total.merge(result)
        total.stopped_early |= result.stopped_early
    return total


def open_loop(
    port: int, make, rate: float, seconds: float, senders: int, max_seconds: float
) -> tuple[Result, dict]:
    """Queue request k at t0 + k/rate whatever the answers; latency from the scheduled time."""
    count = max(1, round(rate * seconds))
    work: queue.SimpleQueue = queue.SimpleQueue()
    gate = threading.Barrier(senders + 1)
    results = [Result() for _ in range(senders)]
    lags: list[list[float]] = [[] for _ in range(senders)]
    sends: list[list[float]] = [[] for _ in range(senders)]
    clock: dict[str, float] = {}

    def sender(n: int) -> None:
        result, conn = results[n], Connection(port)
        with contextlib.suppress(OSError):
            conn.open()
        gate.wait()
        while (item := work.get()) is not None:
            i, scheduled = item
            if time.perf_counter() - clock["t0"] > max_seconds:
                result.requests += 1
                result.stopped_early = True
                _error(result, "not sent (--max-seconds)", "")
                continue
            sent = _record(result, make, i, conn, began=scheduled)
            lags[n].append(sent - scheduled)
            sends[n].append(sent)
        conn.close()

    threads = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(senders)]
    for thread in threads:
        thread.start()
    gate.wait()
    t0 = clock["t0"] = time.perf_counter() + 0.01
    late = 0
    for i in range(count):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.001:
            late += 1
        work.put((i, scheduled))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    total = Result(wall=time.perf_counter() - t0)
    for result in results:
        total.merge(result)
        total.stopped_early |= result.stopped_early
    all_sends = sorted(itertools.chain.from_iterable(sends))
    all_lags = sorted(itertools.chain.from_iterable(lags))
    extra = {
        "offered": rate,
        "sent_rate": (len(all_sends) - 1) / (all_sends[-1] - all_sends[0])
        if len(all_sends) > 1
        else float("nan"),
        "lag_p99_ms": _pct(all_lags, 99) * 1000,
        "lag_max_ms": (all_lags[-1] if all_lags else float("nan")) * 1000,
        "late_queued": late,
    }
    return total, extra


def _pct(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered), max(1, -(-len(ordered) * pct // 100))) - 1]


def max_ms(result: Result) -> float:
    """Return the slowest correct answer, in ms."""
    return max(result.latencies) * 1000 if result.latencies else float("nan")


# --- databases ----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, pg_url: str, tmp: Path) -> Iterator[str]:
    """Yield the URL of an empty database of this kind, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'checkin.db'}"
        return
    import psycopg

    schema = f"bench_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.Error as error:
        raise SetupError(f"cannot create schema on {pg_url}: {error}") from error
    try:
        # application_name tags the service's connections so that their CPU can be counted.
        query = f"options=-csearch_path%3D{schema}&application_name={schema}"
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}{query}"
    finally:
        try:
            with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        except psycopg.Error as error:
            print(f"warning: cannot drop schema {schema}: {error}", file=sys.stderr)


def service_env(tmp: Path, database_url: str, public_keys: list) -> dict[str, str]:
    """Return the environment of the service's commands and server."""
    skip = ("CHECKIN_", "FLASK_", "REDIS_", "CELERY_", "BADGE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        HUDOOR_VAR_DIR=str(tmp / "var"),
        CHECKIN_DATABASE_URL=database_url,
        REDIS_URL=UNUSED_REDIS,
        SECRET_KEY=secrets.token_urlsafe(48),
        BADGE_PUBLIC_KEYS=json.dumps(public_keys),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def migrate(env: dict[str, str]) -> None:
    """Run the check-in migrations with the service's own command."""
    command = [sys.executable, "-m", "flask", "--app", "services.checkin.wsgi", "db-upgrade"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SetupError(f"db-upgrade failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def sessions(env: dict[str, str]):
    """Yield a session factory on the service's database, as the service builds it."""
    from shared.config import database_url
    from shared.db import create_db_engine, make_sessionmaker

    engine = create_db_engine(database_url("checkin", env))
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def delegate_event(badge_id: int, token: str) -> dict:
    """A contract-valid delegate event (as registration publishes it) for one badge."""
    code = AGENCIES[badge_id % len(AGENCIES)]
    category = CATEGORIES[int(badge_id % 10 == 0)]
    return {
        "schema_version": 1,
        "topic": "delegate.registered",
        "message_id": uuid.uuid4().hex,
        "occurred_at": "2026-11-28T09:00:00+00:00",
        "event": {
            "id": EVENT_ID,
            "slug": "wli-gbv-2023",
            "name_ar": "مؤتمر مناهضة العنف القائم على النوع الاجتماعي ودعم تعافي الناجيات",
            "name_en": "Conference to Combat Gender-Based Violence and Support the "
            "Recovery of Survivors",
            "venue_ar": "دار الضيافة، بغداد",
            "venue_en": "Government Guesthouse, Baghdad",
            "timezone": TIMEZONE,
            "days": ["2023-02-12"],
        },
        "delegate": {
            "badge_id": badge_id,
            "generation": 1,
            "version": 1,
            "status": "active",
            "full_name_ar": f"مشاركة رقم {badge_id} العلاق",
            "full_name_en": f"Delegate {badge_id} Al-Alaq",
            "job_title": "Director",
            "gender": ("female", "male")[badge_id % 2],
            "language": ("ar", "en")[badge_id % 2],
            "channel": "email",
            "email": f"d{badge_id}@example.org",
            "phone": f"+96477{badge_id:08d}",
            "agency": {
                "id": AGENCIES.index(code) + 1,
                "code": code,
                "name_ar": f"جهة {code}",
                "name_en": f"Agency {code}",
            },
            "category": dict(zip(("code", "name_ar", "name_en", "color"), category, strict=True)),
        },
        "badge_token": token,
        "self_service_url": f"https://hudoor.example.org/r/{badge_id}~abcdEFGH1234.{'x' * 27}",
        "reason": None,
    }


def load_roster(env: dict[str, str], tokens: list[str], list_names: list[str]) -> dict[str, int]:
    """Load the roster in one transaction and add one unrestricted list per phase; return ids."""
    from services.checkin.models import CheckinList
    from services.checkin.operations import rebuild_roster
    from shared.contracts import DelegateEventSchema
    from shared.db import utcnow

    payloads = [delegate_event(b, tokens[b]) for b in range(1, len(tokens))]
    DelegateEventSchema().load(payloads[0])
    with sessions(env) as factory, factory() as session:
        rebuild_roster(session, EVENT_ID, payloads)
        lists = {
            name: CheckinList(
                event_id=EVENT_ID,
                name_ar=f"قائمة القياس {name}",
                name_en=f"Benchmark {name}",
                day=None,
                categories=None,
                created_at=utcnow(),
            )
            for name in list_names
        }
        session.add_all(lists.values())
        session.commit()
        return {name: checkin_list.id for name, checkin_list in lists.items()}


def sign_tokens(count: int) -> tuple[list[str], list]:
    """Sign badges 1..count with a fresh key; return tokens (index = badge id) and public keys."""
    from shared.badge_tokens import BadgeKeyring

    keyring = BadgeKeyring.generate(1)
    tokens = [""] + [keyring.sign(EVENT_ID, badge, 1) for badge in range(1, count + 1)]
    return tokens, keyring.public_key_document()


def database_counts(env: dict[str, str], lists: dict[str, int]) -> dict[str, tuple[int, Counter]]:
    """Return, per phase's list, the live check-ins and the recorded scans by status."""
    from sqlalchemy import func, select

    from services.checkin.models import Checkin, Scan

    counts = {}
    with sessions(env) as factory, factory() as session:
        for name, list_id in lists.items():
            checkins = session.scalar(
                select(func.count()).select_from(Checkin).where(Checkin.list_id == list_id)
            )
            by_status = session.execute(
                select(Scan.status, func.count())
                .where(Scan.list_id == list_id)
                .group_by(Scan.status)
            )
            counts[name] = (checkins, Counter(dict(by_status.all())))
        session.rollback()
    return counts


# --- server -------------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def worker_class(args: argparse.Namespace) -> str:
    """Return gunicorn's worker class for the thread count (gthread when threaded)."""
    return "gthread" if args.threads > 1 else "sync"


@contextlib.contextmanager
def gunicorn(env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[Server]:
    """Run gunicorn with the deployed options until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "bench.checkin_app:build()"]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(args.workers)]
    command += ["--threads", str(args.threads), "--worker-class", worker_class(args)]
    command += ["--access-logfile", "-", "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Wait until both endpoints answer, or raise SetupError with the server log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        if all(_get(server.port, path)[0] == 200 for path in (BARE_PATH, "/healthz")):
            return
        time.sleep(0.2)
    raise SetupError(f"gunicorn did not start:\n{server.log.read_text(errors='replace')[-3000:]}")


def _get(port: int, path: str, method="GET", body=None, headers=None) -> tuple[int, bytes]:
    """Send one request on a new connection; (0, b'') if the server does not answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def stop(process: subprocess.Popen) -> None:
    """Stop a child server gracefully, killing it if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def enrol_device(server: Server, env: dict[str, str]) -> str:
    """Enrol a door device with an organizer token, as an organizer would; return its token."""
    from shared.identity import issue_api_token

    organizer = issue_api_token(
        env["SECRET_KEY"],
        subject="bench-organizer",
        role="organizer",
        events=[EVENT_ID],
        token_id=f"bench-{secrets.token_hex(6)}",
    )
    status, body = _get(
        server.port,
        f"/api/v1/events/{EVENT_ID}/devices",
        "POST",
        json.dumps({"gate": "north", "name": "Benchmark door"}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {organizer}"},
    )
    if status != 201:
        log = server.log.read_text(errors="replace")[-3000:]
        raise SetupError(f"device enrolment answered {status}: {body[:300]!r}\n{log}")
    return json.loads(body)["token"]


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
    bare = BareTraffic()
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
        for traffic in (bare, scans):
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


# --- report -------------------------------------------------------------------------------------


def machine_lines(args: argparse.Namespace) -> list[str]:
    """Describe the machine, software and settings of the run."""
    load1, load5, _ = os.getloadavg()
    return [
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average at the end {load1:.1f} (1 min), {load5:.1f} (5 min)",
        f"- server: gunicorn {_version('gunicorn')} on {HOST}, {args.workers} workers x "
        f"{args.threads} threads ({worker_class(args)}), access log on, serving "
        "`bench.checkin_app:build()`",
        f"- roster: {args.badges} badges of one event; each check-in phase on its own list",
        f"- closed loop: {args.count} measured requests per phase after {args.warmup} first "
        f"scans of warm-up, client threads {', '.join(map(str, args.concurrency))}, one "
        "keep-alive http.client connection each, on the same machine",
        f"- open loop: {args.rate:g} requests/s for {args.seconds:g} s "
        f"({open_count(args)} requests), {args.open_threads} sender threads, latency from the "
        "scheduled send time",
        "- check-in mix: 80 % first scans (ok), 15 % repeats (already_checked_in), "
        "5 % random tokens (invalid); a device token, a fresh nonce per request",
    ]


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _version(package: str) -> str:
    """Return an installed package's version."""
    from importlib.metadata import version

    return version(package)


def _bare_rate(rows: list[Row], row: Row) -> float | None:
    """Return the /bare rate measured in the same database, mode and load as row."""
    for other in rows:
        key = (other.database, other.mode, other.load)
        if other.endpoint == "bare" and key == (row.database, row.mode, row.load):
            return other.result.rate
    return None


def table(rows: list[Row]) -> str:
    """Render the result table in Markdown."""
    lines = [
        "| database | endpoint | mode | concurrency/rate | requests | errors | req/s "
        "| p50 ms | p99 ms | max ms | ratio to bare |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.result
        bare = _bare_rate(rows, row)
        ratio = f"{r.rate / bare:.2f}" if bare else "-"
        lines.append(
            f"| {row.database} | {row.endpoint} | {row.mode} | {row.load} | {r.requests} | "
            f"{r.error_count} | {r.rate:.1f} | {r.percentile_ms(50):.1f} | "
            f"{r.percentile_ms(99):.1f} | {max_ms(r):.1f} | {ratio} |"
        )
    return "\n".join(lines)


def goal_lines(rows: list[Row], args: argparse.Namespace) -> list[str]:
    """State each goal of the issue and whether this run met it."""
    by = {(r.database, r.endpoint, r.load): r for r in rows}
    lines = []
    bare, scans = by.get(("postgres", "bare", "c32")), by.get(("postgres", "checkin", "c32"))
    if bare and scans and bare.result.rate:
        ratio = scans.result.rate / bare.result.rate
        verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
        lines.append(
            f"goal PostgreSQL c32 throughput >= {GOAL_RATIO:.0%} of bare: "
            f"{scans.result.rate:.0f} vs {bare.result.rate:.0f} req/s = {ratio:.0%}, {verdict}"
        )
    opened = by.get(("postgres", "checkin", f"{args.rate:g}/s"))
    if opened:
        p99 = opened.result.percentile_ms(99)
        verdict = "met" if p99 <= GOAL_P99_MS and not opened.result.errors else "NOT met"
        lines.append(
            f"goal PostgreSQL p99 <= {GOAL_P99_MS:g} ms at {args.rate:g} scans/s offered: "
            f"p99 {p99:.1f} ms, achieved {opened.result.rate:.1f}/s, "
            f"{opened.result.error_count} errors, {verdict}"
        )
    sqlite = by.get(("sqlite", "checkin", "c32"))
    if sqlite:
        errors = sqlite.result.error_count
        verdict = "met" if errors == 0 and not sqlite.result.stopped_early else "NOT met"
        lines.append(f"goal no errors on SQLite at c32: {errors} errors, {verdict}")
    return lines


def row_notes(rows: list[Row]) -> list[str]:
    """Describe CPU use, open-loop schedule keeping, errors and early stops of each row."""
    notes = []
    for row in rows:
        r, cpu = row.result, row.cpu
        label = f"{row.database} {row.endpoint} {row.load}"
        per = 1000 / max(r.requests, 1)
        spent = ", ".join(f"{name} {cpu[key] * per:.2f}" for key, name in CPU_GROUPS.items())
        notes.append(f"{label}: CPU ms/request: {spent}; host busy {cpu['host_busy']:.0%}")
        if row.extra:
            x = row.extra
            notes.append(
                f"{label}: offered {x['offered']:g}/s, sent {x['sent_rate']:.1f}/s; send lag "
                f"behind schedule p99 {x['lag_p99_ms']:.1f} ms, max {x['lag_max_ms']:.1f} ms; "
                f"{x['late_queued']} requests queued > 1 ms late by the scheduler"
            )
        if r.errors:
            notes.append(f"{label}: errors {dict(r.errors)}; first: {r.samples[:2]}")
            notes.append(
                f"{label}: counting every HTTP answer: {r.answered_rate:.1f}/s, "
                f"p50 {r.percentile_ms(50, answered=True):.1f} ms, "
                f"p99 {r.percentile_ms(99, answered=True):.1f} ms"
            )
        if r.stopped_early:
            notes.append(f"{label}: stopped at --max-seconds before the full count")
    return notes


def cost_lines(rows: list[Row]) -> list[str]:
    """Service CPU (gunicorn, plus postgres on PostgreSQL) per request, less sensitive to noise."""
    lines = []
    for row in rows:
        if row.endpoint != "checkin":
            continue
        bare = next(
            (
                o
                for o in rows
                if o.endpoint == "bare" and (o.database, o.load) == (row.database, row.load)
            ),
            None,
        )
        if bare is None:
            continue
        scan_cpu, bare_cpu = service_cpu_ms(row), service_cpu_ms(bare)
        lines.append(
            f"{row.database} {row.load}: service CPU per request: bare {bare_cpu:.2f} ms, "
            f"scan {scan_cpu:.2f} ms; CPU-cost ratio {bare_cpu / scan_cpu:.0%}"
        )
    return lines


def service_cpu_ms(row: Row) -> float:
    """Return the CPU ms per request of gunicorn and (on PostgreSQL) postgres."""
    groups = ["server"] + (["database"] if row.database == "postgres" else [])
    return sum(row.cpu[g] for g in groups) * 1000 / max(row.result.requests, 1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the chosen databases and print the report."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    # Shorter GIL turns let the open-loop scheduler wake on time among the sender threads.
    sys.setswitchinterval(0.001)
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    rows, notes, failed = [], [], False
    for kind in kinds:
        try:
            kind_rows, kind_notes = bench_database(kind, args)
        except (SetupError, OSError, subprocess.SubprocessError) as error:
            print(f"setup failed on {kind}: {error}", file=sys.stderr)
            failed = True
            continue
        rows += kind_rows
        notes += kind_notes
    print("\n".join(["# Check-in benchmark", "", *machine_lines(args), "", table(rows), ""]))
    lines = [*goal_lines(rows, args), *cost_lines(rows), *row_notes(rows), *notes]
    print("\n".join(f"- {line}" for line in lines))
    return 1 if failed else 0


def _terminated(_signum, _frame) -> None:
    """Turn SIGTERM into SystemExit so that servers are stopped and schemas dropped."""
    sys.exit(143)


if __name__ == "__main__":
    sys.exit(main())
