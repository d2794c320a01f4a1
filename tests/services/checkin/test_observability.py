"""Check-in's /readyz and /metrics: database and broker checked, counters that move, access."""

from __future__ import annotations

import dataclasses
import re

import pytest

from services.checkin.app import create_app
from tests.services.checkin.conftest import bearer, nonce, token


def metric(client, name: str, **labels) -> float:
    """One sample of /metrics (0 when absent)."""
    text = client.get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match[1] or "") for k, v in labels.items()):
            return float(match[2])
    return 0.0


@pytest.fixture
def live(config, session_factory, redis_url):
    """The check-in app on a reachable Redis."""
    app = create_app(dataclasses.replace(config, redis_url=redis_url), session_factory)
    return app.test_client()


def test_readyz_is_ready_while_database_and_broker_answer(live):
    response = live.get("/readyz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ready"})


def test_readyz_names_the_broker_when_it_is_down_and_healthz_stays_alive(client):
    response = client.get("/readyz", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["down"] == ["broker"]
    assert response.headers["Retry-After"]
    assert client.get("/healthz").status_code == 200


def test_scans_and_requests_move_their_counters(live, today_list):
    scans_before = metric(live, "hudoor_checkin_scans_total", status="ok")
    requests_before = metric(
        live, "hudoor_http_requests_total", endpoint="api.scan", method="POST", status="200"
    )
    body = {"token": token(1), "list_id": today_list.id, "gate": "north", "nonce": nonce()}
    assert live.post("/api/v1/scans", json=body, headers=bearer("organizer")).status_code == 200
    assert metric(live, "hudoor_checkin_scans_total", status="ok") == scans_before + 1
    after = metric(
        live, "hudoor_http_requests_total", endpoint="api.scan", method="POST", status="200"
    )
    assert after == requests_before + 1
    assert metric(live, "hudoor_http_request_duration_seconds_count", endpoint="api.scan") >= 1
    assert metric(live, "hudoor_metrics_source_up", source="scans_by_status") == 1


def test_metrics_show_no_personal_data(live, today_list):
    body = {"token": token(1), "list_id": today_list.id, "gate": "north", "nonce": nonce()}
    live.post("/api/v1/scans", json=body, headers=bearer("organizer"))
    text = live.get("/metrics").get_data(as_text=True)
    assert "Yusra" not in text and "example.org" not in text and "+964" not in text


def test_metrics_refuse_requests_relayed_by_a_proxy_or_from_a_public_address(live):
    assert live.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    public = {"REMOTE_ADDR": "8.8.8.8"}
    assert live.get("/metrics", environ_overrides=public).status_code == 403
    private = {"REMOTE_ADDR": "10.1.2.3"}
    assert live.get("/metrics", environ_overrides=private).status_code == 200


def test_metrics_token_is_required_when_configured(config, session_factory, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "scrape-secret")
    client = create_app(config, session_factory).test_client()
    assert client.get("/metrics").status_code == 403
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200
