"""A send-rate limit shared by every worker process through Redis.

The algorithm is GCRA (the generic cell rate algorithm, as in leaky-bucket "virtual scheduling"):
Redis keeps one number per key, the theoretical arrival time (TAT) of the next permitted send. A
Lua script reads the clock with Redis TIME (so workers on other hosts need no synchronised clocks),
grants a slot when now >= TAT and moves TAT to now + 1/rate, or else answers how long to wait.
Compared with counting requests in windows it needs no bucket per time slice, spaces sends evenly
(providers throttle bursts), never lets a window boundary admit a double burst, and costs one
round trip per attempt. With no burst allowance, sends are at least 1/rate apart, so no interval
of one second ever holds more than `per_second` of them.
"""

from __future__ import annotations

import math
import time

import redis

KEY_PREFIX = "hudoor:rate:"

# KEYS[1]: the TAT key. ARGV[1]: emission interval in microseconds.
# Returns 0 when a slot is granted, else the microseconds to wait before trying again.
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then
  return tat - now
end
redis.call('SET', KEYS[1], string.format('%.0f', now + interval),
           'PX', math.ceil(interval / 1000) + 1000)
return 0
"""


def redis_client(url: str, **options) -> redis.Redis:
    """A client for a redis://, rediss:// or redis+socket:///path URL (the bundled server)."""
    if url.startswith("redis+socket://"):
        # redis-py spells unix sockets unix:///path and keeps ?db= and the like.
        url = "unix://" + url.removeprefix("redis+socket://")
    return redis.Redis.from_url(url, **options)


class RateLimiter:
    """At most `per_second` acquisitions per second across all processes sharing `key`."""

    def __init__(self, redis_url: str, key: str, per_second: float):
        if not per_second > 0 or math.isinf(per_second):
            raise ValueError(f"per_second must be a positive number, got {per_second!r}")
        self.key = KEY_PREFIX + key
        self.per_second = per_second
        # Rounded up, so per_second + 1 slots never fit into one second.
        self.interval_us = max(1, math.ceil(1_000_000 / per_second))
        self._client = redis_client(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self._client.register_script(GCRA_SCRIPT)

    def try_acquire(self) -> float:
        """Take a slot now and return 0.0, or return the seconds until one may be free."""
        wait_us = int(self._script(keys=[self.key], args=[self.interval_us]))
        return wait_us / 1_000_000

    def acquire(self, timeout: float) -> bool:
        """Block until a slot is taken (True) or `timeout` seconds would pass first (False)."""
        deadline = time.monotonic() + timeout
        while True:
            wait = self.try_acquire()
            if wait == 0:
                return True
            remaining = deadline - time.monotonic()
            if wait > remaining:
                return False
            # Others may take the slot meanwhile; then the script answers a new wait.
            time.sleep(wait)

    def close(self) -> None:
        """Release the Redis connections."""
        self._client.close()
