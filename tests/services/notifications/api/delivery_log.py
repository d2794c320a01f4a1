"""The delivery log as the tests arrange and read it, beside the app's own session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from services.notifications import operations
from services.notifications.models import Delivery
from tests.services.notifications.payloads import delegate_event

STALE = timedelta(minutes=10)


def fetch(session, delivery_id: int) -> Delivery:
    """The delivery as the database holds it now (the app commits on its own session)."""
    session.expire_all()
    return session.get(Delivery, delivery_id)


def count(session) -> int:
    """How many deliveries are logged now."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Delivery))


def record(session, **overrides) -> list[int]:
    """Record a delegate event as the worker would; return the ids it logged to send."""
    return operations.record_delegate_event(session, delegate_event(**overrides))


def mark_sent(session, delivery_id: int, provider_id: str) -> None:
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.finish_attempt(session, delivery, provider_id)


def mark_failed(session, delivery_id: int, error: str) -> None:
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.fail_attempt(session, delivery, error, final=True)
