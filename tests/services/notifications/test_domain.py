"""Pure notification rules."""

from datetime import UTC, date, datetime

import pytest

from services.notifications import domain
from tests.services.notifications.payloads import delegate_event


def test_registration_with_both_channels_plans_an_email_and_an_sms():
    assert domain.planned_messages("delegate.registered", "both") == [
        ("confirmation", "email"),
        ("confirmation", "sms"),
    ]


def test_updates_send_nothing_and_cancellations_send_a_cancellation():
    assert domain.planned_messages("delegate.updated", "email") == []
    assert domain.planned_messages("delegate.cancelled", "sms") == [("cancellation", "sms")]


def test_an_update_giving_a_new_address_sends_the_new_link_on_every_channel():
    assert domain.planned_messages("delegate.updated", "both", "contact_changed") == [
        ("contact_changed", "email"),
        ("contact_changed", "sms"),
    ]
    assert domain.planned_messages("delegate.updated", "sms", None) == []
    assert domain.planned_messages("delegate.cancelled", "sms", "contact_changed") == [
        ("cancellation", "sms")
    ]


def test_a_superseded_contact_change_sends_no_link_but_other_messages_still_go():
    assert domain.planned_messages("delegate.updated", "both", "contact_changed", True) == []
    assert domain.planned_messages("delegate.cancelled", "sms", None, True) == [
        ("cancellation", "sms")
    ]


def _contact_change(**delegate) -> dict:
    return delegate_event("delegate.updated", version=2, **delegate) | {"reason": "contact_changed"}


def test_a_former_email_that_got_messages_is_told_of_the_change_without_the_link():
    previous = delegate_event(channel="both")
    change = _contact_change(channel="both", email="yusra.k@example.org")
    notice = domain.former_address_notice(previous, change)
    assert notice["delegate"] == previous["delegate"]
    assert (notice["self_service_url"], notice["badge_token"]) == ("", "")
    assert "yusra.k@example.org" not in repr(notice)
    assert notice["message_id"] == change["message_id"]


@pytest.mark.parametrize(
    ("previous", "change"),
    [
        (None, _contact_change(email="yusra.k@example.org")),
        (delegate_event(channel="sms"), _contact_change(email="yusra.k@example.org")),
        (delegate_event(email=None, channel="sms"), _contact_change(email="yusra.k@example.org")),
        (delegate_event(), _contact_change(phone="+9647812345678")),
        (delegate_event(), delegate_event("delegate.updated", email="yusra.k@example.org")),
    ],
    ids=["unknown", "sms-only", "no-email", "phone-only", "not-a-contact-change"],
)
def test_no_notice_where_the_former_email_got_nothing_or_did_not_change(previous, change):
    assert domain.former_address_notice(previous, change) is None


def test_a_resent_notice_stays_at_the_former_address():
    notice = domain.former_address_notice(
        delegate_event(), _contact_change(email="new@example.org")
    )
    latest = _contact_change(email="new@example.org")
    assert domain.as_resent(notice, latest, domain.NOTICE) == notice
    assert domain.as_resent(notice, latest, "contact_changed")["delegate"] == latest["delegate"]


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert domain.backoff_seconds(1, rand=lambda: 0.0) == 1.0
    assert domain.backoff_seconds(1, rand=lambda: 1.0) == 2.0
    assert domain.backoff_seconds(4, rand=lambda: 0.0) == 8.0
    assert domain.backoff_seconds(30, rand=lambda: 1.0) == domain.BACKOFF_CAP_SECONDS


def test_reminder_is_due_on_the_day_before_in_the_event_timezone():
    first_day = date(2023, 2, 12)
    # 06:30 UTC on the 11th is 09:30 in Baghdad (UTC+3), the day before.
    assert domain.reminder_due(first_day, "Asia/Baghdad", datetime(2023, 2, 11, 6, 30, tzinfo=UTC))
    assert not domain.reminder_due(
        first_day, "Asia/Baghdad", datetime(2023, 2, 10, 20, 0, tzinfo=UTC)
    )
    assert not domain.reminder_due(first_day, "Asia/Baghdad", datetime(2023, 2, 12, 9, tzinfo=UTC))


@pytest.mark.parametrize(
    "utc_hour, due", [(21, False), (5, False), (6, True), (17, True), (18, False)]
)
def test_reminders_wait_for_waking_hours_in_the_event_timezone(utc_hour, due):
    # Baghdad is UTC+3: 21:00 UTC on the 10th is 00:00 on the 11th, the day before.
    day = 10 if utc_hour >= 21 else 11
    now = datetime(2023, 2, day, utc_hour, tzinfo=UTC)
    assert domain.reminder_due(date(2023, 2, 12), "Asia/Baghdad", now) is due


def test_only_newer_versions_apply():
    assert domain.is_newer(2, None) and domain.is_newer(3, 2)
    assert not domain.is_newer(2, 2) and not domain.is_newer(1, 2)
