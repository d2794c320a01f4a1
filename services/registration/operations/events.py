"""Event set-up use cases: events, agencies (quotas, focal-point links) and categories."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration import domain
from services.registration.models import Agency, Category, Event, EventDay
from services.registration.operations import statements
from services.registration.operations.context import new_nonce
from shared.db import utcnow
from shared.identity import InvalidCredential, verify_link
from shared.problems import DomainError

_EVENT_REF = re.compile(r"^(\d{1,12}|[a-z0-9][a-z0-9-]{2,63})$")
_AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


def create_event(session: Session, data: dict, clock=utcnow) -> Event:
    """Create an event with its days."""
    if session.scalar(select(Event.id).where(Event.slug == data["slug"])) is not None:
        raise DomainError("slug_taken", kind="conflict", field="slug")
    days = [EventDay(day=d) for d in sorted(set(data.pop("days")))]
    event = Event(**data, days=days, registered_count=0, created_at=clock())
    session.add(event)
    session.flush()
    return event


def get_event(session: Session, ref: str | int) -> Event:
    """Find an event by id or slug (anything else is simply not found)."""
    if not _EVENT_REF.match(str(ref)):
        raise DomainError("event_not_found", kind="not_found")
    query, value = (
        (statements.EVENT_BY_ID, int(ref))
        if str(ref).isdigit()
        else (statements.EVENT_BY_SLUG, str(ref))
    )
    event = session.scalars(query, {"ref": value}).unique().one_or_none()
    if event is None:
        raise DomainError("event_not_found", kind="not_found")
    return event


def open_events(session: Session, now: datetime) -> list[Event]:
    """Return events whose registration is open now."""
    events = session.scalars(select(Event).order_by(Event.created_at)).all()
    return [
        e for e in events if domain.is_open(e.registration_opens_at, e.registration_closes_at, now)
    ]


def add_agency(session: Session, event: Event, data: dict) -> Agency:
    """Add an agency (with its quota) to an event."""
    if agency_by_code(session, event, data["code"]) is not None:
        raise DomainError("agency_code_taken", kind="conflict", field="code")
    agency = Agency(**data, event_id=event.id, registered_count=0, link_nonce=new_nonce())
    session.add(agency)
    session.flush()
    return agency


def update_agency(session: Session, agency: Agency, data: dict) -> Agency:
    """Change an agency's names, sector or quota (never below its registrations)."""
    quota = data.get("quota", agency.quota)
    if quota is not None and quota < agency.registered_count:
        raise DomainError(
            "quota_below_registered",
            kind="conflict",
            field="quota",
            registered=agency.registered_count,
        )
    for name, value in data.items():
        setattr(agency, name, value)
    session.flush()
    return agency


def get_agency(session: Session, event: Event, code: str) -> Agency:
    """Find an event's agency by code."""
    if not _AGENCY_CODE.match(code):
        raise DomainError("agency_not_found", kind="not_found")
    agency = agency_by_code(session, event, code)
    if agency is None:
        raise DomainError("agency_not_found", kind="not_found")
    return agency


def revoke_agency_link(session: Session, agency: Agency) -> Agency:
    """Revoke the agency's focal-point link by rotating its nonce."""
    agency.link_nonce = new_nonce()
    session.flush()
    return agency


def resolve_agency_link(session: Session, secret: str, event: Event, token: str) -> Agency:
    """Return the agency of a valid, unrevoked focal-point link for this event."""
    agency_id, nonce = link_parts(secret, "agency", token)
    agency = session.get(Agency, agency_id)
    if agency is None or agency.event_id != event.id or agency.link_nonce != nonce:
        raise DomainError("link_invalid", kind="not_found")
    return agency


def link_parts(secret: str, purpose: str, token: str) -> tuple[int, str]:
    """Verify a link token and return its (id, nonce), or refuse it as invalid."""
    try:
        parts = verify_link(secret, purpose, token)
    except InvalidCredential:
        raise DomainError("link_invalid", kind="not_found") from None
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 12:
        raise DomainError("link_invalid", kind="not_found")
    return int(parts[0]), parts[1]


def add_category(session: Session, event: Event, data: dict) -> Category:
    """Add a badge category to an event."""
    if category_by_code(session, event, data["code"]) is not None:
        raise DomainError("category_code_taken", kind="conflict", field="code")
    category = Category(**data, event_id=event.id)
    session.add(category)
    session.flush()
    return category


def agency_by_code(session: Session, event: Event, code: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.event_id == event.id, Agency.code == code))


def agency_and_category(
    session: Session, event: Event, agency: Agency | str, category_code: str
) -> tuple[Agency | None, Category | None]:
    """Find an event's agency (unless given) and category by code, in one query."""
    if isinstance(agency, Agency):
        return agency, category_by_code(session, event, category_code)
    params = {"event_id": event.id, "agency": agency, "category": category_code}
    row = session.execute(statements.AGENCY_AND_CATEGORY, params).one()
    return row[0], row[1]


def category_by_code(session: Session, event: Event, code: str) -> Category | None:
    return session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == code)
    )
