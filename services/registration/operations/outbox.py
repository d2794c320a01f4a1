"""Outbox relay: publish committed delegate events to their consumers, marking them published."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration.models import OutboxMessage
from shared.contracts import CONSUMERS_BY_TOPIC
from shared.db import utcnow
from shared.logs import bound_request_id
from shared.outbox_receipts import outbox_task_id

log = logging.getLogger(__name__)
# send(task_name, payload, task_id) hands one message to the broker (or buffers it) or raises.
Send = Callable[[str, dict, str], None]
# flush() delivers what send() buffered, or raises.
Flush = Callable[[], None]
# confirmed(task_ids) tells which outbox tasks left a receipt (shared/outbox_receipts.py).
Confirmed = Callable[[list[str]], set[str]]
PENDING_LIMIT = 200
# A message no consumer confirmed after this many sends is given up, loudly.
MAX_ATTEMPTS = 10
# A consumer whose queue holds tasks is not sent a repeat (the message may be among them), but
# for at most this many confirmation waits: a queue that never empties under steady load must
# not hold back a message the broker lost. Consumers drop repeats.
BUSY_PATIENCE = 10


def _nothing() -> None:
    """The flush of a send that buffers nothing."""


def pending(
    session: Session,
    *,
    ids: Iterable[int] | None = None,
    older_than: float = 0,
    limit: int = PENDING_LIMIT,
) -> list[OutboxMessage]:
    """Lock and return unpublished messages (skipping rows another relay holds)."""
    query = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    if older_than:
        query = query.where(OutboxMessage.created_at < utcnow() - timedelta(seconds=older_than))
    query = query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(query))


def publish(
    session: Session, messages: list[OutboxMessage], send: Send, flush: Flush = _nothing
) -> int:
    """Send each message to every consumer, in order; stop at the first broker failure."""
    sent = []
    for message in messages:
        message.attempts += 1
        try:
            _send(message, CONSUMERS_BY_TOPIC[message.topic], send)
        except Exception as error:  # the broker's errors vary by transport; all mean "later"
            _refused(message.message_id, error)
            break
        sent.append(message)
    try:
        flush()  # before anything is marked: a buffered message is not yet delivered
    except Exception as error:
        _refused(", ".join(m.message_id for m in sent), error)
        sent = []  # delivery is uncertain: send them all again (consumers drop repeats)
    now = utcnow()
    for message in sent:
        message.published_at = now
    session.commit()
    return len(sent)


def _send(message: OutboxMessage, consumers, send: Send) -> None:
    with bound_request_id(message.request_id):  # a task header (shared/logs.py)
        for consumer in consumers:
            send(consumer, message.payload, outbox_task_id(message.message_id, consumer))


def _refused(message_ids: str, error: Exception) -> None:
    log.warning("outbox: broker refused message %s (%s); the sweep will retry", message_ids, error)


def relay(
    session: Session, send: Send, *, flush: Flush = _nothing, ids=None, older_than: float = 0
) -> int:
    """Publish pending messages (all, or the given ids) until none is left or the broker fails."""
    total = 0
    while True:
        batch = pending(session, ids=ids, older_than=older_than)
        if not batch:
            session.commit()
            return total
        sent = publish(session, batch, send, flush)
        total += sent
        # Given ids were all fetched at once (up to the limit): another query would find none.
        if sent < len(batch) or (ids is not None and len(batch) < PENDING_LIMIT):
            return total


def unsettled(session: Session, older_than: timedelta, limit: int = PENDING_LIMIT):
    """Lock and return messages published `older_than` ago that not every consumer confirmed."""
    query = select(OutboxMessage).where(
        OutboxMessage.published_at.is_not(None),
        OutboxMessage.settled_at.is_(None),
        OutboxMessage.published_at < utcnow() - older_than,
    )
    query = query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(query))


def resend_unconfirmed(
    session: Session,
    send: Send,
    confirmed: Confirmed,
    *,
    older_than: timedelta,
    flush: Flush = _nothing,
    busy: Callable[[str], bool] = lambda consumer: False,
) -> int:
    """Settle confirmed messages; re-send the others to the consumers that did not confirm."""
    # A `busy` consumer (its queue not empty: the message may still be waiting) is left alone
    # until the message is BUSY_PATIENCE times `older_than` old.
    messages = unsettled(session, older_than)
    missing = _unconfirmed_consumers(messages, confirmed)
    due = _due(messages, missing, busy, utcnow() - BUSY_PATIENCE * older_than)
    resent = [m for m in messages if due[m.id] and m.attempts < MAX_ATTEMPTS]
    try:
        for message in resent:
            message.attempts += 1
            _send(message, due[message.id], send)
        flush()
    except Exception as error:  # as in publish(): the broker's errors vary by transport
        _refused(", ".join(m.message_id for m in resent), error)
        session.rollback()
        return 0
    resent_ids = {m.id for m in resent}
    waited = {m.id for m in messages if m.id not in resent_ids and missing[m.id] != due[m.id]}
    _settle([m for m in messages if m.id not in waited], missing, resent_ids)
    session.commit()
    return len(resent)


def _unconfirmed_consumers(messages, confirmed: Confirmed) -> dict[int, list[str]]:
    """Per message, the consumers that left no receipt."""
    wanted = {m.id: CONSUMERS_BY_TOPIC[m.topic] for m in messages}
    ids = [outbox_task_id(m.message_id, c) for m in messages for c in wanted[m.id]]
    received = confirmed(ids)
    return {
        m.id: [c for c in wanted[m.id] if outbox_task_id(m.message_id, c) not in received]
        for m in messages
    }


def _due(messages, missing: dict[int, list[str]], busy, cutoff: datetime) -> dict[int, list[str]]:
    """Per message, unconfirmed consumers with an empty queue; all if created before `cutoff`."""
    # Counted from the message's creation: a re-send to one consumer must not restart the
    # patience of another whose queue stays busy.
    waiting = {c for c in {c for consumers in missing.values() for c in consumers} if busy(c)}
    return {
        m.id: [c for c in missing[m.id] if c not in waiting or m.created_at < cutoff]
        for m in messages
    }


def _settle(messages, missing: dict[int, list[str]], resent_ids: set[int]) -> None:
    """Confirmed messages settle; re-sent ones wait again; the rest are given up, loudly."""
    now = utcnow()
    for message in messages:
        if message.id in resent_ids:
            message.published_at = now
            continue
        message.settled_at = now
        if missing[message.id]:
            log.error(
                "outbox: message %s unconfirmed by %s after %d sends; given up",
                message.message_id,
                ", ".join(missing[message.id]),
                message.attempts,
            )
