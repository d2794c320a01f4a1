"""The shared rate limits: settings, the login helpers per IP and per account, on a real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Flask, request
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import HTTPException

from shared.access import PUBLIC, allow
from shared.config import ConfigError
from shared.i18n import Catalog
from shared.limits import (
    LimitSettings,
    account_key,
    check_failed_logins,
    count_failed_login,
    hit_reset_limit,
    init_limits,
    limit_login,
    storage_uri,
)
from shared.web import init_web, render_http_error
from tests.conftest import RUN_ID


def test_settings_default_to_production_limits_and_no_trusted_proxy():
    settings = LimitSettings.from_env({})
    assert settings == LimitSettings()
    assert settings.trusted_proxies == 0


def test_settings_read_every_variable():
    environ = {
        "RATE_LIMIT_REGISTRATION": "3/minute",
        "RATE_LIMIT_LOGIN": "4/minute;40/hour",
        "RATE_LIMIT_LOGIN_ACCOUNT": "5/hour",
        "RATE_LIMIT_KEY_PREFIX": "site-a",
        "TRUSTED_PROXY_COUNT": "1",
        "RATE_LIMIT_SEARCH": "6/minute",
    }
    assert LimitSettings.from_env(environ) == LimitSettings(
        "3/minute", "4/minute;40/hour", "5/hour", "site-a", 1, "6/minute"
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("RATE_LIMIT_REGISTRATION", "lots"),
        ("RATE_LIMIT_LOGIN", "10 per fortnight"),
        ("RATE_LIMIT_SEARCH", "often"),
        ("TRUSTED_PROXY_COUNT", "-1"),
        ("TRUSTED_PROXY_COUNT", "yes"),
    ],
)
def test_a_bad_setting_fails_at_start_naming_it(name, value):
    with pytest.raises(ConfigError, match=name):
        LimitSettings.from_env({name: value})


def test_the_embedded_socket_url_becomes_the_limits_form():
    assert storage_uri("redis+socket:///var/redis.sock") == "redis+unix:///var/redis.sock"
    assert storage_uri("redis://h:6379/0") == "redis://h:6379/0"


def test_account_keys_ignore_case_and_spaces_and_hide_the_address():
    key = account_key(" Iman@Example.org ")
    assert key == account_key("iman@example.org")
    assert "iman" not in key and len(key) == 32


def login_app(redis_url: str, settings: LimitSettings) -> Flask:
    """A login endpoint as the accounts pages will have it: per IP and per account."""
    app = Flask(__name__)
    init_web(app, Catalog(), sessionmaker())
    app.register_error_handler(HTTPException, render_http_error)
    init_limits(app, redis_url, settings)

    @app.post("/api/v1/login")
    @allow(PUBLIC)
    @limit_login()
    def login():
        email = request.get_json()["email"]
        check_failed_logins(email)
        if request.get_json().get("password") != "right":
            count_failed_login(email)
            return {"status": "wrong"}, 401
        return {"status": "in"}

    @app.post("/api/v1/password-resets")
    @allow(PUBLIC)
    def reset():
        hit_reset_limit(request.get_json()["email"])
        return {"status": "sent"}, 202

    return app


@pytest.fixture
def settings():
    prefix = f"hudoor-test-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    return LimitSettings(login="3/minute", login_account="2/minute", key_prefix=prefix)


def attempt(client, email: str, address: str, password: str = "wrong") -> int:
    body = {"email": email, "password": password}
    response = client.post("/api/v1/login", json=body, environ_base={"REMOTE_ADDR": address})
    return response.status_code


def test_failed_logins_are_limited_per_account_and_address(redis_url, settings):
    client = login_app(redis_url, settings).test_client()
    statuses = [attempt(client, "IMAN@example.org", "198.51.100.1") for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert attempt(client, "other@example.org", "198.51.100.2") == 401


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(redis_url, settings):
    client = login_app(redis_url, settings).test_client()
    for _ in range(2):
        attempt(client, "iman@example.org", "203.0.113.66")
    assert attempt(client, "iman@example.org", "203.0.113.66") == 429
    assert attempt(client, "iman@example.org", "198.51.100.7", "right") == 200


def test_successful_logins_do_not_count(redis_url, settings):
    client = login_app(redis_url, settings).test_client()
    statuses = [attempt(client, "iman@example.org", f"198.51.100.{n}", "right") for n in range(3)]
    assert statuses == [200, 200, 200]


def test_password_resets_are_limited_per_account_from_any_address(redis_url, settings):
    client = login_app(redis_url, settings).test_client()
    statuses = [
        client.post(
            "/api/v1/password-resets",
            json={"email": "iman@example.org"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        ).status_code
        for n in range(3)
    ]
    assert statuses == [202, 202, 429]


def test_login_is_limited_per_address_whatever_the_account(redis_url, settings):
    client = login_app(redis_url, settings).test_client()
    statuses = [attempt(client, f"user{n}@example.org", "198.51.100.20") for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_limits_live_in_redis_under_the_configured_prefix(redis_url, settings):
    client = login_app(redis_url, settings).test_client()
    attempt(client, "iman@example.org", "198.51.100.30")
    connection = redis.Redis.from_url(storage_uri(redis_url).replace("redis+unix", "unix"))
    keys = [k.decode() for k in connection.keys(f"{settings.key_prefix}:*")]
    assert keys and all("iman" not in key for key in keys)
    assert any("198.51.100.30" in key for key in keys)
    connection.delete(*keys)
