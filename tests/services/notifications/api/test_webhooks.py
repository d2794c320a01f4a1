"""The SMS receipt webhook (POST /webhooks/sms): signed Twilio callbacks update the deliveries."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.notifications.dispatch import RECEIPTS_PATH
from tests.services.notifications.api.calls import ADMIN, BASE_URL, DELIVERIES
from tests.services.notifications.api.delivery_log import fetch, mark_sent, record
from tests.services.notifications.sms_provider import signature

RECEIPTS_URL = BASE_URL + RECEIPTS_PATH


# --- SMS receipts --------------------------------------------------------------------------------


@pytest.fixture
def sms_app(make_app, sms_provider):
    return make_app(sms_url=sms_provider.url())


@pytest.fixture
def sent_sms(session):
    """An SMS the provider accepted, with sid SM-receipt-1."""
    [delivery_id] = record(session, badge_id=31, channel="sms")
    mark_sent(session, delivery_id, "SM-receipt-1")
    return delivery_id


def receipt(status: str, sid: str = "SM-receipt-1", **extra) -> dict[str, str]:
    """A Twilio status callback's form fields."""
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
    return params | {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", **extra}


def post_receipt(client, params: dict, token: str, url: str = RECEIPTS_URL):
    headers = {"X-Twilio-Signature": signature(token, url, params)}
    return client.post("/webhooks/sms", data=params, headers=headers)


def test_a_delivered_receipt_marks_the_sms_delivered(sms_app, sms_provider, session, sent_sms):
    client = sms_app.test_client()
    response = post_receipt(client, receipt("delivered"), sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (200, {"status": "applied"})
    delivery = fetch(session, sent_sms)
    assert (delivery.status, delivery.last_error) == ("delivered", None)
    assert delivery.delivered_at is not None and delivery.delivered_at >= delivery.sent_at
    shown = client.get(f"{DELIVERIES}/{sent_sms}", headers=ADMIN).get_json()
    assert shown["status"] == "delivered"
    assert datetime.fromisoformat(shown["delivered_at"]) == delivery.delivered_at


def test_a_failed_receipt_keeps_the_provider_error_code(sms_app, sms_provider, session, sent_sms):
    params = receipt("undelivered", ErrorCode="30003")
    response = post_receipt(sms_app.test_client(), params, sms_provider.auth_token)
    assert response.status_code == 200
    delivery = fetch(session, sent_sms)
    assert delivery.status == "failed"
    assert delivery.last_error == "provider receipt: 30003"
    assert delivery.delivered_at is None


def test_a_failed_receipt_without_a_code_says_failed(sms_app, sms_provider, session, sent_sms):
    response = post_receipt(sms_app.test_client(), receipt("failed"), sms_provider.auth_token)
    assert response.status_code == 200
    assert fetch(session, sent_sms).last_error == "provider receipt: failed"


def test_a_late_receipt_never_downgrades_a_delivered_sms(sms_app, sms_provider, session, sent_sms):
    client = sms_app.test_client()
    assert post_receipt(client, receipt("delivered"), sms_provider.auth_token).status_code == 200
    delivered_at = fetch(session, sent_sms).delivered_at
    for late in ("sent", "queued", "failed"):
        assert post_receipt(client, receipt(late), sms_provider.auth_token).status_code == 200
    delivery = fetch(session, sent_sms)
    assert (delivery.status, delivery.delivered_at, delivery.last_error) == (
        "delivered",
        delivered_at,
        None,
    )


def test_an_intermediate_receipt_leaves_a_sent_sms_sent(sms_app, sms_provider, session, sent_sms):
    response = post_receipt(sms_app.test_client(), receipt("sent"), sms_provider.auth_token)
    assert response.status_code == 200
    assert fetch(session, sent_sms).status == "sent"


@pytest.mark.parametrize(
    "forge",
    ["wrong-token", "tampered", "other-url", "missing"],
)
def test_a_forged_receipt_is_403_and_changes_nothing(
    sms_app, sms_provider, session, sent_sms, forge
):
    params = receipt("failed", ErrorCode="30007")
    token, url = sms_provider.auth_token, RECEIPTS_URL
    if forge == "wrong-token":
        token = "not-the-auth-token"
    elif forge == "other-url":
        url = "https://evil.example.org" + RECEIPTS_PATH
    headers = {"X-Twilio-Signature": signature(token, url, params)}
    if forge == "tampered":
        params = params | {"MessageStatus": "delivered", "SmsStatus": "delivered"}
    elif forge == "missing":
        headers = {}
    response = sms_app.test_client().post("/webhooks/sms", data=params, headers=headers)
    assert (response.status_code, response.get_json()) == (403, {"status": "forbidden"})
    assert fetch(session, sent_sms).status == "sent"


@pytest.mark.parametrize(
    "params",
    [
        {"MessageStatus": "delivered", "AccountSid": "AC1"},
        receipt("delivered", sid=""),
        receipt("teleported"),
        {"MessageSid": "SM-receipt-1"},
    ],
    ids=["no-sid", "empty-sid", "unknown-status", "no-status"],
)
def test_a_signed_receipt_that_is_not_a_receipt_is_400(
    sms_app, sms_provider, session, sent_sms, params
):
    response = post_receipt(sms_app.test_client(), params, sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (400, {"status": "malformed receipt"})
    assert fetch(session, sent_sms).status == "sent"


def test_a_receipt_for_an_unknown_sid_is_404(sms_app, sms_provider, sent_sms, session):
    params = receipt("delivered", sid="SM-nobody")
    response = post_receipt(sms_app.test_client(), params, sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (404, {"status": "unknown message"})
    assert fetch(session, sent_sms).status == "sent"


def test_legacy_sms_fields_alone_are_a_receipt(sms_app, sms_provider, session, sent_sms):
    params = {"SmsSid": "SM-receipt-1", "SmsStatus": "delivered"}
    assert post_receipt(sms_app.test_client(), params, sms_provider.auth_token).status_code == 200
    assert fetch(session, sent_sms).status == "delivered"


def test_receipts_are_refused_with_the_file_sms_backend(client, sms_provider, session, sent_sms):
    # `client` is built with sms_url=None: there is no auth token to check a signature with.
    response = post_receipt(client, receipt("delivered"), sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (403, {"status": "forbidden"})
    assert fetch(session, sent_sms).status == "sent"
