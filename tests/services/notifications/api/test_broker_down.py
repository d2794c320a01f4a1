"""Resends and broadcasts with Redis unreachable: logged, committed and accepted for the sweep."""

from __future__ import annotations

import pytest

from tests.services.notifications.api.calls import ADMIN, DELIVERIES, broadcasts, message
from tests.services.notifications.api.delivery_log import count, record

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


# --- the broker down after the commit ------------------------------------------------------------


@pytest.mark.parametrize("action", ["resend", "broadcast"])
def test_with_the_broker_down_logged_messages_are_accepted_for_the_sweep(
    make_app, session, recipients, action
):
    client = make_app(redis=UNREACHABLE_REDIS).test_client()
    before = count(session)
    if action == "resend":
        [delivery_id] = record(session, badge_id=7, channel="email")
        before += 1
        response = client.post(f"{DELIVERIES}/{delivery_id}/resend", headers=ADMIN)
        logged = 1
    else:
        response = client.post(broadcasts(1), headers=ADMIN, json=message())
        logged = 5
    # Logged and committed whatever the answer: the sweep will send them.
    assert count(session) == before + logged
    assert response.status_code == 202, response.get_data(as_text=True)
