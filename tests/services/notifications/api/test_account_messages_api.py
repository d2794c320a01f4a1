"""Password resets and invitations in the API: listed and read without their link, never resent."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.notifications import operations
from tests.services.notifications.api.calls import (
    ADMIN,
    DELIVERIES,
    FIELDS,
    bearer,
    ids_of,
    problem,
)
from tests.services.notifications.api.delivery_log import count
from tests.services.notifications.payloads import account_message

# --- account messages (password reset, invitation): the link is a credential ----------------------


@pytest.fixture
def account_deliveries(session):
    """An invitation for event 1 and a password reset (no event), as the worker logs them."""
    [invitation] = operations.record_account_message(session, account_message("invitation"))
    [reset] = operations.record_account_message(session, account_message("password_reset"))
    return SimpleNamespace(invitation=invitation, reset=reset)


def test_listings_and_reads_show_account_messages_without_their_link(client, account_deliveries):
    organizer = bearer("organizer", events=[1])
    responses = [
        client.get(DELIVERIES, headers=ADMIN),
        client.get(f"{DELIVERIES}?event_id=1", headers=organizer),
        client.get(f"{DELIVERIES}?kind=password_reset", headers=ADMIN),
        client.get(f"{DELIVERIES}/{account_deliveries.invitation}", headers=organizer),
        client.get(f"{DELIVERIES}/{account_deliveries.reset}", headers=ADMIN),
    ]
    assert [r.status_code for r in responses] == [200] * 5
    for response in responses:
        assert "Secret_" not in response.get_data(as_text=True)
    listed = {item["kind"]: item for item in responses[0].get_json()}
    assert set(listed["invitation"]) == FIELDS
    assert (listed["password_reset"]["event_id"], listed["password_reset"]["badge_id"]) == (0, 0)
    assert ids_of(responses[1]) == [account_deliveries.invitation]


def test_an_organizer_of_an_event_cannot_read_password_resets(client, account_deliveries):
    organizer = bearer("organizer", events=[1])
    problem(client.get(f"{DELIVERIES}/{account_deliveries.reset}", headers=organizer), 403)


@pytest.mark.parametrize(
    ("lang", "start"),
    [("ar", "لا يُعاد إرسال رسائل استعادة كلمة المرور"), ("en", "Password reset and invitation")],
)
def test_account_messages_are_never_resent(client, session, sends, account_deliveries, lang, start):
    sends()
    before = count(session)
    for delivery_id in (account_deliveries.invitation, account_deliveries.reset):
        response = client.post(
            f"{DELIVERIES}/{delivery_id}/resend", headers={**ADMIN, "Accept-Language": lang}
        )
        body = problem(response, 409)
        assert body["code"] == "account_message_not_resendable"
        assert body["title"].startswith(start)
    assert count(session) == before and sends() == []
