"""The outbox relay re-sends a published message to each consumer that never confirmed it,
settles confirmed ones, and gives up loudly after MAX_ATTEMPTS."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.registration.models import OutboxMessage
from services.registration.operations import outbox
from shared.contracts import DELEGATE_EVENT_CONSUMERS
from shared.db import utcnow
from shared.outbox_receipts import outbox_task_id
from tests.services.registration.conftest import delegate
from tests.services.registration.test_operations import register

WAIT = timedelta(seconds=60)
NOTIFICATIONS, CHECKIN = DELEGATE_EVENT_CONSUMERS


@pytest.fixture
def published(session, ctx, demo_event) -> OutboxMessage:
    """A delegate.registered message published two minutes ago."""
    register(session, ctx, demo_event, delegate())
    query = select(OutboxMessage).where(OutboxMessage.topic == "delegate.registered")
    message = session.scalar(query)
    message.published_at, message.attempts = utcnow() - timedelta(minutes=2), 1
    session.commit()
    return message


class Broker:
    """Records what the relay sends; refuses everything when `down`."""

    def __init__(self, down: bool = False):
        self.sent: list[tuple[str, str]] = []
        self.down = down

    def send(self, consumer: str, payload: dict, task_id: str) -> None:
        if self.down:
            raise ConnectionError("broker down")
        self.sent.append((consumer, task_id))


def receipts(*task_ids: str):
    """A receipt lookup that knows these task ids."""
    return lambda asked: set(asked) & set(task_ids)


def resend(session, broker: Broker, confirmed) -> int:
    return outbox.resend_unconfirmed(session, broker.send, confirmed, older_than=WAIT)


def test_a_message_every_consumer_confirmed_settles_and_is_not_sent_again(session, published):
    both = [outbox_task_id(published.message_id, c) for c in DELEGATE_EVENT_CONSUMERS]
    broker = Broker()
    assert resend(session, broker, receipts(*both)) == 0
    assert broker.sent == [] and published.settled_at is not None


def test_a_message_one_consumer_never_got_goes_again_to_that_consumer_only(session, published):
    broker = Broker()
    assert resend(session, broker, receipts(outbox_task_id(published.message_id, CHECKIN))) == 1
    assert broker.sent == [(NOTIFICATIONS, outbox_task_id(published.message_id, NOTIFICATIONS))]
    assert (published.settled_at, published.attempts) == (None, 2)
    assert utcnow() - published.published_at < WAIT  # watched again from now
    assert resend(session, broker, receipts()) == 0  # not due again yet


def test_a_message_published_lately_is_left_to_its_consumers(session, published):
    published.published_at = utcnow()
    session.commit()
    broker = Broker()
    assert resend(session, broker, receipts()) == 0
    assert broker.sent == [] and published.settled_at is None


def test_after_max_attempts_the_message_is_given_up_with_an_error(session, published, caplog):
    published.attempts = outbox.MAX_ATTEMPTS
    session.commit()
    broker = Broker()
    with caplog.at_level(logging.ERROR, logger=outbox.log.name):
        assert resend(session, broker, receipts()) == 0
    assert broker.sent == [] and published.settled_at is not None
    assert published.message_id in caplog.text and "given up" in caplog.text


def test_a_broker_refusing_the_resend_changes_nothing(session, published):
    before = published.published_at
    assert resend(session, Broker(down=True), receipts()) == 0
    session.expire_all()
    row = session.get(OutboxMessage, published.id)
    assert (row.published_at, row.settled_at, row.attempts) == (before, None, 1)


def test_unpublished_messages_are_the_relay_s_not_the_resend_s(session, ctx, demo_event):
    register(session, ctx, demo_event, delegate())
    session.commit()
    broker = Broker()
    assert resend(session, broker, receipts()) == 0
    assert broker.sent == []


def test_a_consumer_with_tasks_queued_is_waited_for_not_sent_a_repeat(session, published):
    broker = Broker()
    confirmed = receipts(outbox_task_id(published.message_id, CHECKIN))
    sent = outbox.resend_unconfirmed(
        session, broker.send, confirmed, older_than=WAIT, busy=lambda c: c == NOTIFICATIONS
    )
    assert (sent, broker.sent) == (0, [])
    assert (published.settled_at, published.attempts) == (None, 1)
    assert resend(session, broker, confirmed) == 1  # the queue drained, still no receipt


def test_a_consumer_busy_for_longer_than_its_patience_is_sent_the_repeat_anyway(session, published):
    # Counted from its creation: re-sent lately to another consumer, it is still as old.
    published.created_at = utcnow() - outbox.BUSY_PATIENCE * WAIT - timedelta(seconds=1)
    published.published_at = utcnow() - WAIT - timedelta(seconds=1)
    session.commit()
    broker = Broker()
    confirmed = receipts(outbox_task_id(published.message_id, CHECKIN))
    sent = outbox.resend_unconfirmed(
        session, broker.send, confirmed, older_than=WAIT, busy=lambda c: True
    )
    assert (sent, broker.sent) == (
        1,
        [(NOTIFICATIONS, outbox_task_id(published.message_id, NOTIFICATIONS))],
    )
    assert (published.settled_at, published.attempts) == (None, 2)
