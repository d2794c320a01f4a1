"""Registration's personal-data purge: delegates of events past retention become anonymous.

Kept: each registration's event, agency, category, gender, status, language, channel and dates
(the attendance figures). Gone: names, search keys, job titles, e-mails, phones, private links,
outbox messages of those badges (and any published before the cutoff), invitations' names and
addresses, reprint reasons, audit details (who did what stays), rendered badge files, and
idempotency records older than the cutoff.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from services.registration.account_models import Invitation
from services.registration.audit_models import AuditEntry
from services.registration.models import (
    EventDay,
    IdempotencyRecord,
    OutboxMessage,
    Registration,
)
from services.registration.print_models import PrintJob
from shared.retention import PURGED, clear_audit_details, expired


def purge(session: Session, cutoff: date) -> dict[str, int]:
    """Anonymise events whose last day is before `cutoff`; return rows changed by table."""
    events = expired(
        session.execute(
            select(EventDay.event_id, func.max(EventDay.day)).group_by(EventDay.event_id)
        ),
        cutoff,
    )
    since = datetime.combine(cutoff, time(), tzinfo=UTC)
    return {
        "registrations": _registrations(session, events),
        "outbox": _outbox(session, events, since),
        "invitations": _invitations(session, events),
        "print_jobs": _print_jobs(session, events),
        "audit_log": clear_audit_details(session, AuditEntry, events),
        "idempotency_records": session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < since)
        ).rowcount,
    }


def _registrations(session: Session, events: list[int]) -> int:
    rows = session.scalars(
        select(Registration).where(Registration.event_id.in_(events), Registration.name_key != "")
    ).all()
    for row in rows:
        row.full_name_ar, row.full_name_en, row.name_key = None, PURGED, ""
        row.job_title, row.phone = None, None
        row.email = f"{row.id}@purged.invalid"  # a contact is required; this is nobody's
        row.link_nonce = secrets.token_hex(16)  # the private link stops working
    session.flush()
    return len(rows)


def _outbox(session: Session, events: list[int], since: datetime) -> int:
    """Messages about those badges, and any message published before the cutoff (history)."""
    badges = select(Registration.id).where(Registration.event_id.in_(events))
    published = OutboxMessage.published_at.is_not(None) & (OutboxMessage.created_at < since)
    gone = delete(OutboxMessage).where(or_(OutboxMessage.badge_id.in_(badges), published))
    return session.execute(gone).rowcount


def _invitations(session: Session, events: list[int]) -> int:
    rows = session.scalars(
        select(Invitation).where(Invitation.event_id.in_(events), Invitation.name != PURGED)
    ).all()
    for row in rows:
        row.name, row.email, row.invited_by = PURGED, f"{row.id}@purged.invalid", PURGED
    session.flush()
    return len(rows)


def _print_jobs(session: Session, events: list[int]) -> int:
    rows = session.scalars(
        select(PrintJob).where(
            PrintJob.event_id.in_(events),
            (PrintJob.file_path.is_not(None)) | (PrintJob.reprint_reason.is_not(None)),
        )
    ).all()
    for row in rows:
        if row.file_path:
            Path(row.file_path).unlink(missing_ok=True)  # badges printed with names
        row.file_path, row.reprint_reason = None, None
    session.flush()
    return len(rows)
