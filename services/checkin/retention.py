"""Check-in's personal-data purge: the roster and the scan log of events past retention.

Kept: every badge's agency, category, gender and status, every check-in and scan with its list,
gate, direction and answer status (the attendance figures). Gone: names, search keys, e-mails and
phones on the roster, the badge shown in each stored scan answer, audit details, undo reasons.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.checkin.models import AuditEntry, Checkin, EventInfo, RosterEntry, Scan
from shared.retention import PURGED, clear_audit_details, expired


def purge(session: Session, cutoff: date) -> dict[str, int]:
    """Anonymise events whose last day is before `cutoff`; return rows changed by table."""
    last_days = [(e.id, max(e.days, default=None)) for e in session.scalars(select(EventInfo))]
    events = expired(last_days, cutoff)
    return {
        "roster": _roster(session, events),
        "scans": _scans(session, events),
        "audit_log": clear_audit_details(session, AuditEntry, events),
        "checkins": _update(
            session,
            Checkin,
            events,
            Checkin.undo_reason.is_not(None) & (Checkin.undo_reason != PURGED),
            undo_reason=PURGED,
        ),
    }


def _roster(session: Session, events: list[int]) -> int:
    return _update(
        session,
        RosterEntry,
        events,
        RosterEntry.name_key != "",
        full_name_ar=None,
        full_name_en=PURGED,
        name_key="",
        email=None,
        phone=None,
    )


def _scans(session: Session, events: list[int]) -> int:
    """A stored answer shows the badge's name: keep only what it said."""
    rows = session.scalars(select(Scan).where(Scan.event_id.in_(events))).all()
    changed = [row for row in rows if set(row.answer) - {"status"}]
    for row in changed:
        row.answer = {"status": row.status}
    session.flush()
    return len(changed)


def _update(session: Session, model, events: list[int], pending, **values) -> int:
    query = update(model).where(model.event_id.in_(events), pending).values(**values)
    return session.execute(query.execution_options(synchronize_session=False)).rowcount
