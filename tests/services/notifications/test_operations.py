"""Notification use cases on a real database: the delivery log and the recipients replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.notifications import operations
from services.notifications.models import Delivery, Recipient
from shared.problems import DomainError
from tests.conftest import rollback_factory
from tests.services.notifications.payloads import delegate_event


@pytest.fixture
def session(notifications_db):
    factory, close = rollback_factory(notifications_db.engine)
    with factory() as session:
        yield session
    close()


STALE = timedelta(minutes=10)


def deliveries(session) -> list[Delivery]:
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_registration_logs_one_queued_delivery_per_channel(session):
    ids = operations.record_delegate_event(session, delegate_event(channel="both"))
    logged = deliveries(session)
    assert [d.id for d in logged] == ids
    assert [(d.kind, d.channel, d.recipient, d.status) for d in logged] == [
        ("confirmation", "email", "yusra@example.org", "queued"),
        ("confirmation", "sms", "+9647701234567", "queued"),
    ]


def test_a_redelivered_event_logs_nothing_twice(session):
    event = delegate_event()
    first = operations.record_delegate_event(session, event)
    again = operations.record_delegate_event(session, event)
    assert first == again and len(deliveries(session)) == 2


def test_a_redelivered_event_does_not_resend_what_was_sent(session):
    event = delegate_event(channel="email")
    [delivery_id] = operations.record_delegate_event(session, event)
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.finish_attempt(session, delivery, "msg-1")
    assert operations.record_delegate_event(session, event) == []
    assert operations.start_attempt(session, delivery_id, STALE) is None


def test_older_event_never_overwrites_the_recipient(session):
    operations.record_delegate_event(
        session, delegate_event("delegate.cancelled", version=3, status="cancelled")
    )
    operations.record_delegate_event(session, delegate_event(version=1))
    assert session.get(Recipient, 7).status == "cancelled"


def test_a_new_email_gets_the_new_link_and_the_former_one_a_notice_without_it(session):
    operations.record_delegate_event(session, delegate_event(channel="email"))
    change = delegate_event("delegate.updated", version=2, channel="email", email="new@example.org")
    ids = operations.record_delegate_event(session, change | {"reason": "contact_changed"})
    logged = deliveries(session)[1:]
    assert [d.id for d in logged] == ids
    assert [(d.kind, d.recipient) for d in logged] == [
        ("contact_changed_notice", "yusra@example.org"),
        ("contact_changed", "new@example.org"),
    ]
    notice = logged[0].payload
    assert notice["self_service_url"] == "" and "new@example.org" not in repr(notice)
    assert logged[1].payload["self_service_url"] == change["self_service_url"]
    copy = operations.resend(session, logged[0].id)
    assert (copy.recipient, copy.payload) == ("yusra@example.org", notice)


def test_a_contact_change_overtaken_by_a_newer_one_sends_no_revoked_link(session):
    operations.record_delegate_event(session, delegate_event(channel="email"))
    later = delegate_event("delegate.updated", version=3, channel="email", email="c@example.org")
    operations.record_delegate_event(session, later | {"reason": "contact_changed"})
    earlier = delegate_event("delegate.updated", version=2, channel="email", email="b@example.org")
    assert operations.record_delegate_event(session, earlier | {"reason": "contact_changed"}) == []
    assert [d.recipient for d in deliveries(session)[1:]] == ["yusra@example.org", "c@example.org"]


def test_a_redelivered_contact_change_still_sends_its_pending_message(session):
    operations.record_delegate_event(session, delegate_event(channel="email"))
    change = delegate_event("delegate.updated", version=2, channel="email", email="new@example.org")
    first = operations.record_delegate_event(session, change | {"reason": "contact_changed"})
    again = operations.record_delegate_event(session, change | {"reason": "contact_changed"})
    assert again == first[1:] and len(deliveries(session)) == 3


def test_failed_attempts_are_counted_and_the_last_error_kept(session):
    [delivery_id] = operations.record_delegate_event(session, delegate_event(channel="email"))
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.fail_attempt(session, delivery, "connection_refused: down", final=False)
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.fail_attempt(session, delivery, "recipient_refused: 550", final=True)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        2,
        "recipient_refused: 550",
    )


def test_receipt_marks_an_sms_delivered(session):
    [delivery_id] = operations.record_delegate_event(session, delegate_event(channel="sms"))
    operations.finish_attempt(session, operations.start_attempt(session, delivery_id, STALE), "SM1")
    assert operations.apply_receipt(session, "SM1", "delivered", None)
    assert session.get(Delivery, delivery_id).status == "delivered"
    assert not operations.apply_receipt(session, "SM-unknown", "delivered", None)


def test_resend_makes_a_new_delivery_with_its_own_key(session):
    [delivery_id] = operations.record_delegate_event(session, delegate_event(channel="email"))
    copy = operations.resend(session, delivery_id)
    second = operations.resend(session, delivery_id)
    assert copy.id != delivery_id and copy.idempotency_key.endswith(":resend:1")
    assert second.idempotency_key.endswith(":resend:2")


def test_resend_goes_to_the_delegates_corrected_address_with_the_current_link(session):
    mistyped = delegate_event(channel="email", email="someone-else@example.org")
    [delivery_id] = operations.record_delegate_event(session, mistyped)
    corrected = delegate_event("delegate.updated", version=2, channel="email")
    corrected["self_service_url"] += "-reissued"
    operations.record_delegate_event(session, corrected)
    copy = operations.resend(session, delivery_id)
    assert (copy.kind, copy.recipient) == ("confirmation", "yusra@example.org")
    assert copy.payload["self_service_url"] == corrected["self_service_url"]
    assert "someone-else@example.org" not in str(copy.payload)


def test_resend_on_a_channel_the_delegate_no_longer_has_is_refused(session):
    [email_id, _] = operations.record_delegate_event(session, delegate_event(channel="both"))
    sms_only = delegate_event("delegate.updated", version=2, channel="sms", email=None)
    operations.record_delegate_event(session, sms_only)
    with pytest.raises(DomainError) as refused:
        operations.resend(session, email_id)
    assert (refused.value.code, refused.value.status) == ("no_address_on_channel", 409)


def test_reminder_is_logged_once_per_delegate_the_day_before(session):
    operations.record_delegate_event(session, delegate_event(channel="both", days=["2023-02-12"]))
    day_before = datetime(2023, 2, 11, 9, 0, tzinfo=UTC)
    first = operations.due_reminders(session, day_before)
    again = operations.due_reminders(session, day_before + timedelta(hours=1))
    assert len(first) == 2 and again == []
    assert operations.due_reminders(session, datetime(2023, 2, 9, 9, tzinfo=UTC)) == []


def test_cancelled_delegates_get_no_reminder(session):
    operations.record_delegate_event(
        session, delegate_event(version=2, status="cancelled", topic="delegate.cancelled")
    )
    assert operations.due_reminders(session, datetime(2023, 2, 11, 9, tzinfo=UTC)) == []


def test_broadcast_reaches_only_the_chosen_agency(session):
    operations.record_delegate_event(
        session,
        delegate_event(
            badge_id=1, agency="IWED", email="a@example.org", phone=None, channel="email"
        ),
    )
    operations.record_delegate_event(
        session,
        delegate_event(
            badge_id=2, agency="MOE", email="b@example.org", phone=None, channel="email"
        ),
    )
    message = {"id": "b1", "subject_ar": "س", "subject_en": "S", "body_ar": "ن", "body_en": "B"}
    ids = operations.broadcast(session, 1, {"agency": "MOE"}, message)
    assert [session.get(Delivery, i).recipient for i in ids] == ["b@example.org"]


def test_stuck_deliveries_are_found_after_the_threshold(session):
    [delivery_id] = operations.record_delegate_event(session, delegate_event(channel="email"))
    operations.start_attempt(session, delivery_id, STALE)
    assert operations.stuck_deliveries(session, timedelta(minutes=5)) == []
    session.get(Delivery, delivery_id).updated_at -= timedelta(minutes=10)
    session.commit()
    assert operations.stuck_deliveries(session, timedelta(minutes=5)) == [delivery_id]


def test_a_delivery_being_sent_cannot_be_claimed_twice(session):
    [delivery_id] = operations.record_delegate_event(session, delegate_event(channel="email"))
    assert operations.start_attempt(session, delivery_id, STALE) is not None
    assert operations.start_attempt(session, delivery_id, STALE) is None


def test_an_abandoned_attempt_is_claimed_again_after_the_stale_period(session):
    [delivery_id] = operations.record_delegate_event(session, delegate_event(channel="email"))
    operations.start_attempt(session, delivery_id, STALE)
    session.get(Delivery, delivery_id).updated_at -= timedelta(minutes=11)
    session.commit()
    assert operations.start_attempt(session, delivery_id, STALE).attempts == 2


def test_a_claimed_registration_logs_its_email_as_its_first_attempt(session):
    event = delegate_event(channel="both")
    claimed, pending = operations.record_and_claim(session, event, "email")
    assert [(d.channel, d.status, d.attempts) for d in claimed] == [("email", "sending", 1)]
    assert [(d.channel, d.status, d.attempts) for d in pending] == [("sms", "queued", 0)]
    assert operations.start_attempt(session, claimed[0].id, STALE) is None  # already claimed


def test_a_redelivered_event_claims_nothing_twice(session):
    event = delegate_event(channel="email")
    [delivery], _ = operations.record_and_claim(session, event, "email")
    claimed, pending = operations.record_and_claim(session, event, "email")
    assert claimed == [] and [d.id for d in pending] == [delivery.id]
    operations.finish_attempt(session, delivery, "m-1")
    assert operations.record_and_claim(session, event, "email") == ([], [])
