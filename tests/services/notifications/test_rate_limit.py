"""The shared SMS rate limit on a real Redis (the bundled one, or HUDOOR_TEST_REDIS_URL)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from services.notifications.rate_limit import RateLimiter, redis_client


@pytest.fixture
def limiter_factory(redis_url):
    """Build limiters on a fresh key (each instance stands in for a worker process)."""
    key = f"test-{uuid.uuid4().hex}"
    limiters: list[RateLimiter] = []

    def make(per_second: float) -> RateLimiter:
        limiters.append(RateLimiter(redis_url, key, per_second))
        return limiters[-1]

    yield make
    for limiter in limiters:
        limiter.close()


def test_redis_client_accepts_the_bundled_socket_and_tcp_urls(redis_url):
    client = redis_client(redis_url)
    assert client.ping()
    client.close()


def test_a_second_acquisition_within_the_interval_is_refused(limiter_factory):
    first, second = limiter_factory(1), limiter_factory(1)

    assert first.acquire(timeout=0) is True
    started = time.monotonic()
    assert second.acquire(timeout=0) is False
    assert first.acquire(timeout=0.5) is False
    assert time.monotonic() - started < 0.2  # gives up at once instead of sleeping in vain


def test_acquire_waits_for_the_next_slot(limiter_factory):
    limiter = limiter_factory(5)
    assert limiter.acquire(timeout=0)

    started = time.monotonic()
    assert limiter.acquire(timeout=1)

    assert 0.15 <= time.monotonic() - started < 0.5


def test_four_threads_never_exceed_twenty_per_second(limiter_factory):
    limiters = [limiter_factory(20) for _ in range(4)]
    stamps: list[float] = []
    lock = threading.Lock()

    def worker(limiter: RateLimiter) -> None:
        for _ in range(15):
            assert limiter.acquire(timeout=10)
            with lock:
                stamps.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stamps.sort()
    assert len(stamps) == 60
    assert stamps[-1] - started >= 2.5
    busiest = max(sum(1 for t in stamps if first <= t < first + 1.0) for first in stamps)
    assert busiest <= 20


def test_the_rate_must_be_positive(redis_url):
    for rate in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            RateLimiter(redis_url, "x", rate)
