"""The check-in benchmark's requests and its closed- and open-loop load."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.client
import itertools
import json
import os
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

from bench.bare_app import BARE_PATH, FLOOR_PATH
from bench.checkin_setup import EXPECTED, MIX, SCAN_PATH, STALE
from bench.loadgen import Result, run_threads
from bench.server import HOST

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


class FloorTraffic(BareTraffic):
    """POST /floor: one row inserted and committed; any 200 answer is correct."""

    name = "floor"

    def make(self, _i: int) -> Request:
        """Return the i-th request."""
        return "POST", FLOOR_PATH, b"", {"Accept": "application/json"}, self.check


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
        """Connect and send a first request now, before the clock starts."""
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        self.conn.connect()
        # gunicorn's gthread worker gives each new connection a thread that waits up to 5 s for
        # its first request: 64 idle new connections would stall other requests (p99 ~120 ms on
        # /bare at 300/s). Behind nginx a connection's first request comes with it.
        self.exchange("GET", BARE_PATH, None, {})

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
    return run_threads(threads, gate, results)


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
