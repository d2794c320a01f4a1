"""Registration's audit log: record who viewed or changed delegates' data; read it back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration.audit_models import AuditEntry
from services.registration.models import Registration
from shared.db import utcnow

# The actions recorded, by the routes and pages that perform them.
ACTIONS = (
    "delegation.viewed",
    "delegation.imported",
    "registration.viewed",
    "registration.created",
    "registration.cancelled",
    "registration.substituted",
    "badge.viewed",
    "badge.reissued",
)


@dataclass(frozen=True)
class Actor:
    """The account acting: its subject (name) and role."""

    subject: str
    role: str


def record(
    session: Session, actor: Actor, action: str, event_id: int, *, agency_id=None, **detail
) -> AuditEntry:
    """Add an entry to the session (committed with the action it records)."""
    entry = AuditEntry(
        event_id=event_id,
        actor=actor.subject,
        role=actor.role,
        action=action,
        agency_id=agency_id,
        registration_id=detail.pop("registration_id", None),
        detail=detail,
        at=utcnow(),
    )
    session.add(entry)
    return entry


def record_registration(
    session: Session, actor: Actor, action: str, registration: Registration, **detail
) -> AuditEntry:
    """Record an action on one delegate's registration."""
    return record(
        session,
        actor,
        action,
        registration.event_id,
        agency_id=registration.agency_id,
        registration_id=registration.id,
        **detail,
    )


def entries(session: Session, event_id: int, filters: dict, limit: int) -> list[AuditEntry]:
    """The event's entries, newest first, narrowed by `filters` (action, agency, registration,
    before: an entry id to page back from)."""
    query = select(AuditEntry).where(AuditEntry.event_id == event_id)
    for name in ("action", "agency_id", "registration_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(AuditEntry, name) == filters[name])
    if filters.get("before") is not None:
        query = query.where(AuditEntry.id < filters["before"])
    return session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
