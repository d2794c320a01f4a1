"""A low-overhead HTTP load client: threads with http.client, a fixed request count."""

from __future__ import annotations

import http.client
import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# (method, path, body, headers) of the i-th request.
Request = tuple[str, str, bytes | None, dict[str, str]]
MAX_SAMPLES = 5


@dataclass
class Result:
    """What one phase measured: successes, errors, wall time and success latencies."""

    requests: int = 0
    ok: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def error_count(self) -> int:
        """Return the number of requests that did not get the expected status."""
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        """Return successful requests per second of wall time."""
        return self.ok / self.wall if self.wall else 0.0

    @property
    def answered_rate(self) -> float:
        """Return HTTP responses of any status per second of wall time."""
        return len(self.answered) / self.wall if self.wall else 0.0

    def percentile_ms(self, pct: float, *, answered: bool = False) -> float:
        """Return a nearest-rank latency percentile of the successes (or all answers), in ms."""
        samples = self.answered if answered else self.latencies
        if not samples:
            return float("nan")
        ordered = sorted(samples)
        rank = min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered))))
        return ordered[rank - 1] * 1000

    def merge(self, other: Result) -> None:
        """Add another thread's counts into this result."""
        self.requests += other.requests
        self.ok += other.ok
        self.latencies.extend(other.latencies)
        self.answered.extend(other.answered)
        self.errors.update(other.errors)
        self.samples.extend(other.samples[: MAX_SAMPLES - len(self.samples)])


@dataclass(frozen=True)
class Plan:
    """A phase to run: which requests, how many, how many at once, until when."""

    make_request: Callable[[int], Request]
    expected: int
    count: int
    concurrency: int
    start: int = 0
    max_seconds: float = 300.0


def run(host: str, port: int, plan: Plan) -> Result:
    """Send `plan.count` requests from `plan.concurrency` threads and measure them."""
    counter = itertools.count()
    gate = threading.Barrier(plan.concurrency + 1)
    results = [Result() for _ in range(plan.concurrency)]
    threads = [
        threading.Thread(target=_worker, args=(host, port, plan, counter, gate, r), daemon=True)
        for r in results
    ]
    return run_threads(threads, gate, results)


def run_threads(threads: list, gate: threading.Barrier, results: list[Result]) -> Result:
    """Start the sender threads, time them from the gate to the last one, merge their results."""
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


def _worker(host, port, plan: Plan, counter, gate, result: Result) -> None:
    """Take request numbers until the count or the deadline is reached."""
    gate.wait()
    deadline = time.monotonic() + plan.max_seconds
    conn = None
    for i in counter:
        if i >= plan.count:
            break
        if time.monotonic() > deadline:
            result.stopped_early = True
            break
        conn = _send(host, port, conn, plan.make_request(plan.start + i), plan.expected, result)
    if conn is not None:
        conn.close()


def _send(host, port, conn, request: Request, expected: int, result: Result):
    """Send one request on a kept-alive connection (reopened when needed); return it."""
    method, path, body, headers = request
    result.requests += 1
    began = time.perf_counter()
    try:
        conn = conn or http.client.HTTPConnection(host, port, timeout=60)
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as error:
        if conn is not None:
            conn.close()
        _record_error(result, type(error).__name__, repr(error))
        return None
    elapsed = time.perf_counter() - began
    result.answered.append(elapsed)
    if response.status == expected:
        result.ok += 1
        result.latencies.append(elapsed)
    else:
        _record_error(result, f"HTTP {response.status}", payload[:300].decode("utf-8", "replace"))
    if response.will_close:
        conn.close()
        return None
    return conn


def _record_error(result: Result, kind: str, detail: str) -> None:
    """Count an error and keep the first few details."""
    result.errors[kind] += 1
    if len(result.samples) < MAX_SAMPLES:
        result.samples.append(f"{kind}: {detail}")
