"""Event set-up use cases: events, agencies (quotas, focal-point links) and categories."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.registration import domain
from services.registration.models import Agency, Category, Event, EventDay, OutboxMessage
from services.registration.operations import statements
from services.registration.operations.context import new_nonce
from shared.contracts import EVENT_CHANGED, SCHEMA_VERSION, EventSnapshotSchema
from shared.db import utcnow
from shared.identity import InvalidCredential, verify_link
from shared.problems import DomainError
from shared.routing import DATABASE_ID_MAX

_EVENT_REF = re.compile(r"^(\d{1,64}|[a-z0-9][a-z0-9-]{2,63})$")
_AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


def create_event(session: Session, data: dict, clock=utcnow) -> Event:
    """Create an event with its days."""
    if session.scalar(select(Event.id).where(Event.slug == data["slug"])) is not None:
        raise DomainError("slug_taken", kind="conflict", field="slug")
    days = [EventDay(day=d) for d in sorted(set(data.pop("days")))]
    event = Event(**data, days=days, registered_count=0, created_at=clock())
    session.add(event)
    session.flush()
    announce_event(session, event, clock())
    return event


def get_event(session: Session, ref: str | int) -> Event:
    """Find an event by id or slug (anything else is simply not found)."""
    text = str(ref)
    # Digits are an id, however many: a long one is no event, not a database overflow.
    as_id = text.isdigit()
    if not _EVENT_REF.match(text) or (as_id and int(text) > DATABASE_ID_MAX):
        raise DomainError("event_not_found", kind="not_found")
    query = statements.EVENT_BY_ID if as_id else statements.EVENT_BY_SLUG
    event = session.scalars(query, {"ref": int(text) if as_id else text}).unique().one_or_none()
    if event is None:
        raise DomainError("event_not_found", kind="not_found")
    return event


def open_events(session: Session, now: datetime) -> list[Event]:
    """Return events whose registration is open now."""
    events = session.scalars(select(Event).order_by(Event.created_at)).all()
    return [e for e in events if registration_open(e, now)]


def registration_open(event: Event, now: datetime) -> bool:
    """Tell whether the public may register for `event` at `now`."""
    try:
        check_registration_open(event, now)
    except DomainError:
        return False
    return True


def check_registration_open(event: Event, now: datetime) -> None:
    """Refuse registering outside the event's window (no closing time: until its last day ends)."""
    days = [d.day for d in event.days]
    closes = domain.registration_deadline(event.registration_closes_at, days, event.timezone)
    domain.check_registration_window(event.registration_opens_at, closes, now)


def add_agency(session: Session, event: Event, data: dict) -> Agency:
    """Add an agency (with its quota) to an event."""
    lock_event(session, event.id)
    if agency_by_code(session, event, data["code"]) is not None:
        raise DomainError("agency_code_taken", kind="conflict", field="code")
    agency = Agency(**data, event_id=event.id, registered_count=0, link_nonce=new_nonce())
    session.add(agency)
    session.flush()
    announce_event(session, event)
    return agency


def update_agency(session: Session, agency: Agency, data: dict) -> Agency:
    """Change an agency's names, sector or quota (never below its registrations)."""
    lock_event(session, agency.event_id)
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
    announce_event(session, session.get(Event, agency.event_id))
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
    lock_event(session, event.id)
    if category_by_code(session, event, data["code"]) is not None:
        raise DomainError("category_code_taken", kind="conflict", field="code")
    category = Category(**data, event_id=event.id)
    session.add(category)
    session.flush()
    announce_event(session, event)
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


def lock_event(session: Session, event_id: int) -> None:
    """Serialise set-up changes of one event, so their snapshots' sequences follow commit order."""
    # Taken before the change: registrations lock the event, then the agency (same order here).
    # FOR NO KEY UPDATE leaves inserts that reference the event free to go on.
    query = select(Event.id).where(Event.id == event_id).with_for_update(key_share=True)
    session.execute(query)


def announce_event(session: Session, event: Event, now: datetime | None = None) -> None:
    """Put the event's whole set-up in the outbox: one message per transaction, the latest."""
    announcements = _announcements(session)
    row = announcements.get(event.id)
    if row is None:
        row = OutboxMessage(
            message_id=uuid.uuid4().hex,
            topic=EVENT_CHANGED,
            badge_id=0,
            payload={},
            created_at=now or utcnow(),
            attempts=0,
        )
        session.add(row)
        session.flush()  # its id is the snapshot's sequence: later changes get larger ids
        announcements[event.id] = row
        # Published after commit by the request's relay hook (see app.py), else by the sweep.
        session.info.setdefault("outbox_pending", []).append(row.id)
    row.payload = event_snapshot(session, event, row.id, row.message_id, now or utcnow())
    session.flush()


def _announcements(session: Session) -> dict[int, OutboxMessage]:
    """This transaction's event.changed rows by event id (a new transaction starts afresh)."""
    transaction = session.get_transaction()
    held = session.info.get("event_announcements")
    if held is None or held[0] is not transaction:
        held = session.info["event_announcements"] = (transaction, {})
    return held[1]


def event_snapshot(
    session: Session, event: Event, sequence: int, message_id: str, now: datetime
) -> dict:
    """The `event.changed` payload: the event, every agency (quota, sector) and category."""
    agencies = session.scalars(
        select(Agency).where(Agency.event_id == event.id).order_by(Agency.id)
    )
    categories = session.scalars(
        select(Category).where(Category.event_id == event.id).order_by(Category.id)
    )
    payload = {
        "schema_version": SCHEMA_VERSION,
        "topic": EVENT_CHANGED,
        "message_id": message_id,
        "occurred_at": now.isoformat(),
        "sequence": sequence,
        "event": domain.event_info(event),
        "agencies": [_agency_info(a) for a in agencies],
        "categories": [_category_info(c) for c in categories],
    }
    errors = _snapshot_schema.validate(payload)
    if errors:
        raise ValueError(f"outbox payload breaks the contract: {errors}")
    return payload


def latest_event_sequence(session: Session) -> int:
    """The highest sequence announced so far (a rebuilt replica starts from it)."""
    query = select(func.max(OutboxMessage.id)).where(OutboxMessage.topic == EVENT_CHANGED)
    return session.scalar(query) or 0


def _agency_info(agency: Agency) -> dict:
    fields = ("id", "code", "name_ar", "name_en", "sector", "governorate", "quota")
    return {name: getattr(agency, name) for name in fields}


def _category_info(category: Category) -> dict:
    return {name: getattr(category, name) for name in ("code", "name_ar", "name_en", "color")}


_snapshot_schema = EventSnapshotSchema()
