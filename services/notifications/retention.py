"""Notifications' personal-data purge: recipients and the delivery log of events past retention.

Kept: every delivery's event, badge id, kind, channel, language, status and times (figures by
status). Gone: the recipient replica of those events (names, contacts, badge links), and each
delivery's address, message payload, extra data and last error, for those events and for every
delivery made before the cutoff (account messages included).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from services.notifications.models import Delivery, Recipient
from shared.retention import PURGED, expired


def purge(session: Session, cutoff: date) -> dict[str, int]:
    """Anonymise events whose last day is before `cutoff`; return rows changed by table."""
    events = expired(_last_days(session), cutoff)
    since = datetime.combine(cutoff, time(), tzinfo=UTC)
    old = or_(Delivery.event_id.in_(events), Delivery.created_at < since)
    deliveries = (
        update(Delivery)
        .where(old, Delivery.recipient != PURGED)
        .values(recipient=PURGED, payload={}, extra=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return {
        "deliveries": session.execute(deliveries).rowcount,
        "recipients": session.execute(
            delete(Recipient).where(Recipient.event_id.in_(events))
        ).rowcount,
    }


def _last_days(session: Session) -> list[tuple[int, str | None]]:
    """Each event's last day, from the event its recipients' latest state describes."""
    days: dict[int, str | None] = {}
    for event_id, payload in session.execute(select(Recipient.event_id, Recipient.payload)):
        event_days = (payload.get("event") or {}).get("days") or []
        days[event_id] = max([*event_days, days.get(event_id) or ""]) or None
    return list(days.items())
