"""Rate limits of the public registration form and API, on a real Redis (never a mock)."""

from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest

from runner.redis_server import EmbeddedRedis
from services.registration.app import create_app
from shared.limits import LimitSettings
from tests.conftest import RUN_ID
from tests.services.registration.conftest import delegate, nth_delegate
from tests.services.registration.test_views import FORM, csrf_token, form_fields

REGISTER = "/api/v1/events/wli-gbv-2023/registrations"
PROBLEM = "application/problem+json"


def low_limits(**overrides) -> LimitSettings:
    """Two registrations a minute per IP, under keys no other test (or run) shares."""
    prefix = f"hudoor-test-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    return LimitSettings(registration="2/minute", key_prefix=prefix, **overrides)


@pytest.fixture
def limited_app(config, session_factory, redis_url):
    """The registration app on the run's Redis with low limits; returns a factory of apps."""

    def make(redis=redis_url, **overrides):
        limited = dataclasses.replace(config, redis_url=redis, limits=low_limits(**overrides))
        app = create_app(limited, session_factory=session_factory)
        app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
        return app

    return make


def client_at(app, address: str):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_api_answers_429_problem_with_retry_after_past_the_limit(limited_app, demo_event):
    client = client_at(limited_app(), "198.51.100.7")
    assert client.post(REGISTER, json=nth_delegate(1)).status_code == 201
    assert client.post(REGISTER, json=nth_delegate(2)).status_code == 201
    response = client.post(REGISTER, json=nth_delegate(3), headers={"Accept-Language": "en"})
    assert response.status_code == 429
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert (body["status"], body["code"]) == (429, "rate_limited")
    assert body["title"] == "Too many requests; try again in a little while."
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_invalid_bodies_count_too(limited_app, demo_event):
    client = client_at(limited_app(), "198.51.100.8")
    assert client.post(REGISTER, json={}).status_code == 422
    assert client.post(REGISTER, json={}).status_code == 422
    assert client.post(REGISTER, json=delegate()).status_code == 429


def test_each_client_address_has_its_own_allowance(limited_app, demo_event):
    app = limited_app()
    for _ in range(2):
        client_at(app, "198.51.100.9").post(REGISTER, json={})
    assert client_at(app, "198.51.100.9").post(REGISTER, json={}).status_code == 429
    assert client_at(app, "198.51.100.10").post(REGISTER, json={}).status_code == 422


def test_a_forged_forwarded_for_changes_nothing_without_a_trusted_proxy(limited_app, demo_event):
    client = client_at(limited_app(), "198.51.100.11")
    statuses = [
        client.post(REGISTER, json={}, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(3)
    ]
    assert statuses == [422, 422, 429]


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_the_key(limited_app, demo_event):
    proxy = client_at(limited_app(trusted_proxies=1), "10.0.0.2")

    def post(client_address):
        headers = {"X-Forwarded-For": f"203.0.113.250, {client_address}"}
        return proxy.post(REGISTER, json={}, headers=headers).status_code

    assert [post("198.51.100.12") for _ in range(3)] == [422, 422, 429]
    assert post("198.51.100.13") == 422


def test_the_form_is_limited_on_post_only_and_answers_a_localized_page(limited_app, demo_event):
    client = client_at(limited_app(), "198.51.100.14")
    token = csrf_token(client.get(FORM).get_data(as_text=True))
    for n in range(2):
        response = client.post(FORM, data={**form_fields(**nth_delegate(n)), "csrf_token": token})
        assert response.status_code == 302
    response = client.post(FORM, data={**form_fields(), "csrf_token": token})
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert "طلبات كثيرة جداً" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert client.get(FORM).status_code == 200


def test_the_form_and_the_api_share_one_allowance_per_address(limited_app, demo_event):
    client = client_at(limited_app(), "198.51.100.15")
    token = csrf_token(client.get(FORM).get_data(as_text=True))
    client.post(FORM, data={"csrf_token": token})
    client.post(REGISTER, json={})
    assert client.post(REGISTER, json={}).status_code == 429


def test_the_private_page_s_corrections_share_the_allowance_but_reading_it_does_not(
    limited_app, demo_event
):
    # A correction answers whether an address is registered already: no unlimited probing.
    client = client_at(limited_app(), "198.51.100.16")
    page = client.post(REGISTER, json=nth_delegate(1)).get_json()["self_service_url"]
    path = page.split("://", 1)[1].split("/", 1)[1]
    token = csrf_token(client.get(f"/{path}").get_data(as_text=True))
    correction = {"csrf_token": token, "action": "update", "channel": "both"}
    assert client.post(f"/{path}", data=correction).status_code == 200
    assert client.post(f"/{path}", data=correction).status_code == 429
    assert client.get(f"/{path}").status_code == 200


def test_registration_goes_on_without_limits_when_redis_is_down(
    limited_app, demo_event, tmp_path, caplog
):
    redis = EmbeddedRedis(tmp_path / "redis").start()
    try:
        client = client_at(limited_app(redis.url), "198.51.100.16")
        for _ in range(2):
            assert client.post(REGISTER, json={}).status_code == 422
        assert client.post(REGISTER, json={}).status_code == 429
    finally:
        redis.stop()
    with caplog.at_level(logging.WARNING, logger="shared.limits"):
        responses = [client.post(REGISTER, json=nth_delegate(n)) for n in range(3)]
    assert [r.status_code for r in responses] == [201, 201, 201]
    warnings = [r for r in caplog.records if "rate limits off" in r.getMessage()]
    assert len(warnings) == 1, "one warning per outage, not one per request"


def test_wrong_passwords_lock_that_address_out_of_that_account_only(
    limited_app, make_account, demo_event
):
    from tests.services.registration.conftest import PASSWORD

    make_account("organizer", email="amal@example.org")
    app = limited_app(login_account="2/minute")
    attacker, owner = client_at(app, "203.0.113.9"), client_at(app, "198.51.100.8")
    wrong = {"email": "amal@example.org", "password": "not-the-password"}
    statuses = [attacker.post("/api/v1/auth/tokens", json=wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    right = {"email": "amal@example.org", "password": PASSWORD}
    assert owner.post("/api/v1/auth/tokens", json=right).status_code == 201
