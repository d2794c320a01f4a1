"""Check-in's audit log read back: who undid, checked in by hand, enrolled devices, exported."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.checkin.models import AuditEntry


def entries(session: Session, event_id: int, filters: dict, limit: int) -> list[AuditEntry]:
    """The event's entries, newest first, narrowed by action, badge and `before` (an entry id)."""
    query = select(AuditEntry).where(AuditEntry.event_id == event_id)
    for name in ("action", "badge_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(AuditEntry, name) == filters[name])
    if filters.get("before") is not None:
        query = query.where(AuditEntry.id < filters["before"])
    return session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
