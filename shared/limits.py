"""Rate limits over the service's Redis (`limits`): named limits per client IP or account.

A view declares its limit with a decorator (`limit_registration()`, `limit_login()`). A login
also calls `check_failed_logins(account)` first and `count_failed_login(account)` when the password
was wrong: only failures count, per account and address, so nobody can lock an organizer out by
logging in as them from elsewhere. A password reset calls `hit_reset_limit(account)`, a door
search `hit_search_limit(subject)`. Each
app gets its own limiter from `init_limits`, so the three apps of the gateway, and the many apps
of the tests, never share settings. A breach is a 429 with Retry-After (problem+json on the API,
the error page on pages). When Redis is unreachable the limits are off for a while, with a warning:
registration must not go down with Redis.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import ConfigError, env_str

REGISTRATION = "registration"
LOGIN = "login"
LOGIN_ACCOUNT = "login_account"
SEARCH = "search"
# Seconds the limits stay off after Redis failed, before the next attempt.
PAUSE_AFTER_FAILURE = 30.0
# Redis must answer fast or not at all: a slow limiter must not slow registration down.
STORAGE_OPTIONS = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 0.5,
    "retry": Retry(NoBackoff(), 0),
    "wrap_exceptions": True,
}
EXTENSION = "hudoor_limits"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitSettings:
    """The limits (`limits` notation, `;` between several) and how clients are told apart."""

    registration: str = "20/minute;200/hour"
    login: str = "10/minute;100/hour"
    login_account: str = "5/minute;30/hour"
    key_prefix: str = "hudoor-limits"
    trusted_proxies: int = 0
    # Door searches per signed-in device or account: a door finds delegates, it does not walk
    # the roster by trying every three letters.
    search: str = "30/minute;600/hour"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LimitSettings:
        """Read RATE_LIMIT_* and TRUSTED_PROXY_COUNT; a bad one fails naming it."""
        return cls(
            registration=_rate("RATE_LIMIT_REGISTRATION", cls.registration, environ),
            login=_rate("RATE_LIMIT_LOGIN", cls.login, environ),
            login_account=_rate("RATE_LIMIT_LOGIN_ACCOUNT", cls.login_account, environ),
            key_prefix=env_str("RATE_LIMIT_KEY_PREFIX", cls.key_prefix, environ),
            trusted_proxies=_proxy_count(environ),
            search=_rate("RATE_LIMIT_SEARCH", cls.search, environ),
        )

    def rates(self) -> dict[str, list[RateLimitItem]]:
        """Parsed limits by name."""
        names = {REGISTRATION: self.registration, LOGIN: self.login}
        names[LOGIN_ACCOUNT], names[SEARCH] = self.login_account, self.search
        return {name: parse_many(value) for name, value in names.items()}


def _rate(name: str, default: str, environ: Mapping[str, str]) -> str:
    """A limit such as `10/minute;100/hour`, checked at start."""
    value = env_str(name, default, environ)
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must look like 10/minute;100/hour, got {value!r}") from None
    return value


def _proxy_count(environ: Mapping[str, str]) -> int:
    """How many proxies in front of the app add X-Forwarded-For (0: trust none)."""
    raw = env_str("TRUSTED_PROXY_COUNT", "0", environ)
    if not raw.isdigit():
        raise ConfigError(f"TRUSTED_PROXY_COUNT must be 0 or a positive integer, got {raw!r}")
    return int(raw)


def storage_uri(redis_url: str) -> str:
    """The `limits` form of a broker URL (`redis+socket://` is `redis+unix://` there)."""
    return redis_url.replace("redis+socket://", "redis+unix://", 1)


class RateLimited(TooManyRequests):
    """A client went over a named limit; rendered as 429 with Retry-After."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after)
        self.retry_after_seconds = retry_after


class AppLimits:
    """One app's named limits over its Redis storage; open while Redis is unreachable."""

    def __init__(self, strategy: FixedWindowRateLimiter, settings: LimitSettings):
        self.strategy = strategy
        self.rates = settings.rates()
        self.paused_until = 0.0

    def hit(self, name: str, key: str, *, count: bool = True) -> None:
        """Count one request of `key` against limit `name` (or only look); raise when over it."""
        if time.monotonic() < self.paused_until:
            return
        try:
            breached = self._first_breached(name, key, count)
            retry_after = self._retry_after(breached, name, key) if breached else 0
        except StorageError as error:
            self.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
            log.warning(
                "rate limits off for %.0f s: Redis unreachable (%s)", PAUSE_AFTER_FAILURE, error
            )
            return
        if breached:
            raise RateLimited(retry_after)

    def _first_breached(self, name: str, key: str, count: bool) -> RateLimitItem | None:
        """Hit (or test) every rate of the limit; return the first one over its amount."""
        strategy = self.strategy
        for item in self.rates[name]:
            if not (strategy.hit(item, name, key) if count else strategy.test(item, name, key)):
                return item
        return None

    def _retry_after(self, item: RateLimitItem, name: str, key: str) -> int:
        """Seconds until the window lets `key` in again (at least 1)."""
        reset_at = self.strategy.get_window_stats(item, name, key).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def init_limits(app: Flask, redis_url: str, settings: LimitSettings) -> AppLimits:
    """Give the app its limits on `redis_url` and, behind proxies, the client's real address."""
    # `limits` itself, not Flask-Limiter: its before/after-request hooks cost every request
    # ~0.2 ms of CPU to evaluate limits no view declares (ours are counted by name, below).
    options = {**STORAGE_OPTIONS, "key_prefix": settings.key_prefix}
    storage = storage_from_string(storage_uri(redis_url), **options)
    limits = app.extensions[EXTENSION] = AppLimits(FixedWindowRateLimiter(storage), settings)
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    return limits


def client_ip() -> str:
    """The client's address (the proxy's X-Forwarded-For entry when TRUSTED_PROXY_COUNT is set)."""
    return request.remote_addr or "unknown"


def account_key(account: str) -> str:
    """A stable key for an account name (e-mail) that keeps the name itself out of Redis."""
    return hashlib.sha256(account.strip().casefold().encode()).hexdigest()[:32]


def hit_limit(name: str, key: str) -> None:
    """Count this request against a named limit of the running app (no-op without limits)."""
    limits = current_app.extensions.get(EXTENSION)
    if limits is not None:
        limits.hit(name, key)


def check_failed_logins(account: str) -> None:
    """Refuse (429) a login to `account` from an address that failed too often, counting nothing."""
    limits = current_app.extensions.get(EXTENSION)
    if limits is not None:
        limits.hit(LOGIN_ACCOUNT, _failure_key(account), count=False)


def count_failed_login(account: str) -> None:
    """Count a wrong password for `account` from this address (the account may not exist)."""
    hit_limit(LOGIN_ACCOUNT, _failure_key(account))


def hit_reset_limit(account: str) -> None:
    """Count a password-reset request for `account` from anywhere: no mailbox gets flooded."""
    hit_limit(LOGIN_ACCOUNT, "reset:" + account_key(account))


def hit_search_limit(subject: str) -> None:
    """Count a search or check-in by badge id of this device or account (RATE_LIMIT_SEARCH)."""
    hit_limit(SEARCH, "search:" + account_key(subject))


def _failure_key(account: str) -> str:
    return f"{account_key(account)}:{client_ip()}"


def _limited(name: str, methods: tuple[str, ...]):
    """A decorator counting each `methods` request of a view against limit `name` per client IP."""

    def decorate(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            if request.method in methods:
                hit_limit(name, client_ip())
            return view(*args, **kwargs)

        return limited

    return decorate


def limit_registration(methods: tuple[str, ...] = ("POST",)):
    """Limit a public registration view per client IP (RATE_LIMIT_REGISTRATION)."""
    return _limited(REGISTRATION, methods)


def limit_login(methods: tuple[str, ...] = ("POST",)):
    """Limit a login, password-reset or token view per client IP (RATE_LIMIT_LOGIN)."""
    return _limited(LOGIN, methods)
