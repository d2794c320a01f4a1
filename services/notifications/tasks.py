"""Celery tasks of the notifications service: log messages, send them once, retry, sweep."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError

from services.notifications import domain, operations
from services.notifications.models import FINAL, Delivery, RevokedToken
from shared.contracts import AccountMessageSchema, DelegateEventSchema
from shared.db import utcnow
from shared.revocations import apply_revocation_event
from shared.web import db_session

log = logging.getLogger(__name__)
_contract = DelegateEventSchema()
_account_contract = AccountMessageSchema()


# The driver's errors quote the SQL parameters, the link among them: retries log this instead.
class StoreUnavailable(Exception):
    """The database failed while logging an account message (the text names no values)."""


def runtime():
    """The dispatcher (senders, limiter) built by the notifications app."""
    return current_app.extensions["notifications"]


@shared_task(
    name="notifications.handle_delegate_event",
    autoretry_for=(DBAPIError,),
    retry_backoff=True,
    max_retries=None,
)
def handle_delegate_event(payload: dict) -> int:
    """Log the messages a delegate event calls for, send its e-mails, queue its SMS."""
    try:
        _contract.load(payload)
    except ValidationError as error:  # a bad message never becomes valid: drop, loudly
        log.error("rejected delegate event: %s", error.messages)
        return 0
    session = db_session()
    # New e-mails are logged claimed for their first attempt: no claim of their own to commit.
    claimed, pending = operations.record_and_claim(session, payload, "email")
    for delivery in pending:
        _send_or_queue(session, delivery)
    for delivery in claimed:
        _send_claimed(session, delivery)
    return len(claimed) + len(pending)


def _send_or_queue(session, delivery: Delivery) -> None:
    """Send an e-mail right here (one task less per message); SMS waits for the rate limit."""
    if delivery.channel == "sms":
        send_delivery.delay(delivery.id)
        return
    claimed = operations.start_attempt(session, delivery.id, _stale_after())
    if claimed is not None:
        _send_claimed(session, claimed)


def _send_claimed(session, delivery: Delivery) -> None:
    """Attempt a delivery claimed for this task; a transient failure waits for send_delivery."""
    _, wait = _attempt(session, delivery)
    if wait is not None:  # logged as queued: the sweep sends it if this retry is lost
        send_delivery.apply_async((delivery.id,), countdown=wait)


@shared_task(
    name="notifications.handle_account_message",
    autoretry_for=(StoreUnavailable,),
    retry_backoff=True,
    max_retries=None,
)
def handle_account_message(payload: dict) -> int:
    """Log an account holder's e-mail (password reset, invitation), then queue it for sending."""
    try:
        _account_contract.load(payload)
    except ValidationError as error:  # never log the values: one of them may be the link
        log.error(
            "rejected account message %s: invalid %s", _id_of(payload), sorted(error.messages)
        )
        return 0
    if not domain.account_message_complete(payload):
        log.error(
            "rejected account message %s: an invitation without event or agency", _id_of(payload)
        )
        return 0
    try:
        ids = operations.record_account_message(db_session(), payload)
    except DBAPIError as error:
        reason = type(error.orig or error).__name__
        raise StoreUnavailable(f"{reason} logging account message {_id_of(payload)}") from None
    queue_sends(ids)
    return len(ids)


def _id_of(payload) -> str:
    """A message's id for logs, whatever the payload looks like."""
    return str(payload.get("message_id") if isinstance(payload, dict) else None)[:64]


def queue_sends(ids: list[int]) -> None:
    """Queue one send task per delivery (after the commit that logged them)."""
    for delivery_id in ids:
        send_delivery.delay(delivery_id)


@shared_task(
    name="notifications.send_delivery",
    bind=True,
    autoretry_for=(DBAPIError,),
    retry_backoff=True,
    max_retries=None,
)
def send_delivery(self, delivery_id: int) -> str:
    """Send one logged message once; retry transient failures with backoff and jitter."""
    session = db_session()
    current = session.get(Delivery, delivery_id)
    session.rollback()  # a read only: hold no transaction while waiting for a rate-limit slot
    if current is None or current.status in FINAL:
        return "skipped"
    if current.channel == "sms" and not runtime().limiter.acquire(timeout=5):
        raise self.retry(countdown=1, max_retries=None)
    delivery = operations.start_attempt(session, delivery_id, _stale_after())
    if delivery is None:
        return "skipped"
    outcome, wait = _attempt(session, delivery)
    if wait is not None:
        raise self.retry(countdown=wait, max_retries=None)
    return outcome


def _stale_after() -> timedelta:
    return timedelta(seconds=runtime().stuck_after)


def _attempt(session, delivery: Delivery) -> tuple[str, float | None]:
    """Send a claimed delivery and log the outcome; also the seconds to wait for a retry."""
    from services.notifications.senders import SendError

    if domain.link_expired(delivery.payload, utcnow()):
        operations.fail_attempt(session, delivery, "link_expired: not sent in time", final=True)
        return "failed", None
    try:
        provider_id = runtime().deliver(delivery)
    except SendError as error:
        wait = _retry_or_fail(session, delivery, error)
        return ("failed" if wait is None else "retry"), wait
    except Exception as error:  # a message that cannot be rendered never will be: fail it, loudly
        log.exception("delivery %s cannot be rendered or sent", delivery.id)
        operations.fail_attempt(session, delivery, f"render_error: {error}", final=True)
        return "failed", None
    operations.finish_attempt(session, delivery, provider_id)
    return "sent", None


def _retry_or_fail(session, delivery: Delivery, error) -> float | None:
    """A transient failure waits for a retry (backoff with jitter); a permanent one fails."""
    final = not error.transient or delivery.attempts >= domain.MAX_ATTEMPTS
    operations.fail_attempt(session, delivery, f"{error.reason}: {error.detail}", final=final)
    if final:
        return None
    return max(domain.backoff_seconds(delivery.attempts), error.retry_after or 0)


@shared_task(name="notifications.sweep_deliveries")
def sweep_deliveries() -> int:
    """Requeue deliveries whose task was lost (worker killed, broker restarted)."""
    ids = operations.stuck_deliveries(db_session(), timedelta(seconds=runtime().stuck_after))
    queue_sends(ids)
    return len(ids)


@shared_task(name="notifications.send_reminders")
def send_reminders() -> int:
    """Log and queue the day-before reminders due now (once per delegate per event)."""
    ids = operations.due_reminders(db_session(), utcnow())
    queue_sends(ids)
    return len(ids)


@shared_task(
    name="notifications.revoke_token",
    autoretry_for=(DBAPIError,),
    retry_backoff=True,
    max_retries=None,
)
def revoke_token(payload: dict) -> bool:
    """Refuse a bearer token revoked in registration from now on."""
    return apply_revocation_event(db_session(), RevokedToken, payload)
