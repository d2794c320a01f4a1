"""Who may call which endpoint: missing, forged and expired tokens, roles, event scopes."""

from __future__ import annotations

from datetime import datetime

import pytest
from itsdangerous import TimestampSigner

from shared.identity import issue_api_token
from tests.services.notifications.api.calls import (
    DELIVERIES,
    bearer,
    broadcasts,
    ids_of,
    message,
    problem,
)
from tests.services.notifications.api.delivery_log import count, record

# --- auth ----------------------------------------------------------------------------------------

ENDPOINTS = {
    "list": ("get", lambda log: DELIVERIES, None),
    "read": ("get", lambda log: f"{DELIVERIES}/{log.e1_email}", None),
    "resend": ("post", lambda log: f"{DELIVERIES}/{log.e1_email}/resend", None),
    "broadcast": ("post", lambda log: broadcasts(1), message()),
}


def call(client, endpoint: str, log, headers: dict):
    method, path, body = ENDPOINTS[endpoint]
    return getattr(client, method)(path(log), headers=headers, json=body)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer hdr_not-a-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {
            "Authorization": "Bearer "
            + issue_api_token("another-secret-" * 4, subject="x", role="admin", token_id="t")
        },
    ],
    ids=["none", "empty", "garbage", "basic", "other-secret"],
)
def test_without_a_valid_token_every_endpoint_is_401(
    client, session, sends, log, endpoint, headers
):
    before = count(session)
    body = problem(call(client, endpoint, log, headers), 401)
    assert (body["code"], body["title"]) == ("unauthorized", "يلزم تسجيل الدخول.")
    assert count(session) == before and sends() == []


def test_an_expired_token_is_401(client, log, monkeypatch):
    issued = int(datetime.now().timestamp()) - 91 * 86400  # the API accepts 90 days
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued)
    old = bearer("admin")
    monkeypatch.undo()
    assert problem(client.get(DELIVERIES, headers=old), 401)["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ["viewer", "focal_point", "device", "delegate"])
def test_roles_other_than_admin_and_organizer_are_403(client, session, sends, log, endpoint, role):
    before = count(session)
    body = problem(call(client, endpoint, log, bearer(role)), 403)
    assert (body["code"], body["title"]) == ("forbidden", "غير مسموح لك بهذا الإجراء.")
    assert count(session) == before and sends() == []


def test_an_organizer_of_event_2_cannot_list_event_1(client, log):
    organizer = bearer("organizer", events=[2])
    body = problem(client.get(DELIVERIES, headers=organizer), 403)
    assert [e["field"] for e in body["errors"]] == ["event_id"]
    problem(client.get(f"{DELIVERIES}?event_id=1", headers=organizer), 403)
    problem(client.get(f"{DELIVERIES}?event_id=1&channel=sms", headers=organizer), 403)
    assert ids_of(client.get(f"{DELIVERIES}?event_id=2", headers=organizer)) == [log.e2_email]


def test_an_organizer_of_event_2_cannot_read_or_resend_event_1(client, session, sends, log):
    organizer = bearer("organizer", events=[2])
    before = count(session)
    for delivery_id in (log.e1_email, log.e1_cancelled):
        problem(client.get(f"{DELIVERIES}/{delivery_id}", headers=organizer), 403)
        problem(client.post(f"{DELIVERIES}/{delivery_id}/resend", headers=organizer), 403)
    assert count(session) == before and sends() == []
    assert client.get(f"{DELIVERIES}/{log.e2_email}", headers=organizer).status_code == 200
    assert client.post(f"{DELIVERIES}/{log.e2_email}/resend", headers=organizer).status_code == 202


def test_an_organizer_of_event_2_cannot_broadcast_to_event_1(client, session, sends):
    record(session, badge_id=5, channel="email")
    before = count(session)
    organizer = bearer("organizer", events=[2])
    problem(client.post(broadcasts(1), headers=organizer, json=message()), 403)
    assert count(session) == before and sends() == []


def test_an_organizer_of_several_events_lists_each_of_them(client, log):
    organizer = bearer("organizer", events=[1, 2])
    assert ids_of(client.get(f"{DELIVERIES}?event_id=2", headers=organizer)) == [log.e2_email]
    assert len(ids_of(client.get(f"{DELIVERIES}?event_id=1", headers=organizer))) == 3
    # A scoped token must name one of its events: no mixed listing across them.
    problem(client.get(DELIVERIES, headers=organizer), 403)


@pytest.mark.parametrize("role", ["admin", "organizer"])
def test_unscoped_admin_and_organizer_reach_every_event(client, log, role):
    headers = bearer(role)
    assert len(ids_of(client.get(DELIVERIES, headers=headers))) == 4
    assert client.get(f"{DELIVERIES}/{log.e1_email}", headers=headers).status_code == 200
    assert client.get(f"{DELIVERIES}/{log.e2_email}", headers=headers).status_code == 200
    assert client.post(f"{DELIVERIES}/{log.e1_email}/resend", headers=headers).status_code == 202
