"""Outbox relay: publish committed delegate events to their consumers, marking them published."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration.models import OutboxMessage
from shared.contracts import CONSUMERS_BY_TOPIC
from shared.db import utcnow
from shared.logs import bound_request_id

log = logging.getLogger(__name__)
# send(task_name, payload, task_id) hands one message to the broker (or buffers it) or raises.
Send = Callable[[str, dict, str], None]
# flush() delivers what send() buffered, or raises.
Flush = Callable[[], None]
PENDING_LIMIT = 200


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
            with bound_request_id(message.request_id):  # a task header (shared/logs.py)
                for consumer in CONSUMERS_BY_TOPIC[message.topic]:
                    send(consumer, message.payload, f"{message.message_id}:{consumer}")
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
