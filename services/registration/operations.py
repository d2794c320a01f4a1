"""Registration use cases: plain functions taking a database session (no Flask in here)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registration import domain
from services.registration.models import (
    ACTIVE,
    CANCELLED,
    Agency,
    Category,
    Event,
    EventDay,
    OutboxMessage,
    Registration,
)
from shared.badge_tokens import BadgeKeyring
from shared.contracts import DelegateEventSchema
from shared.db import utcnow
from shared.identity import InvalidCredential, sign_link, verify_link
from shared.problems import DomainError

DEFAULT_CATEGORY = "DELEGATE"
_event_schema = DelegateEventSchema()


@dataclass(frozen=True)
class Context:
    """What use cases need besides the session: keys, secrets, base URL, clock."""

    keyring: BadgeKeyring
    secret_key: str
    public_base_url: str
    clock: Callable[[], datetime] = field(default=utcnow)

    def badge_token(self, registration: Registration) -> str:
        """Return the signed badge token (QR payload) of a registration."""
        r = registration
        return self.keyring.sign(r.event_id, r.id, r.badge_generation)

    def delegate_link(self, registration: Registration) -> str:
        """Return the delegate's private self-service URL."""
        payload = {"r": registration.id, "n": registration.link_nonce}
        return f"{self.public_base_url}/r/{sign_link(self.secret_key, 'delegate', payload)}"

    def agency_link(self, agency: Agency, event: Event) -> str:
        """Return the agency focal point's private registration URL."""
        token = sign_link(self.secret_key, "agency", {"a": agency.id, "n": agency.link_nonce})
        return f"{self.public_base_url}/e/{event.slug}/register/{token}"


def new_nonce() -> str:
    """Return a fresh nonce for a revocable link."""
    return secrets.token_urlsafe(12)


# --- events, agencies, categories -------------------------------------------------------------


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
    """Find an event by id or slug."""
    column = Event.id if str(ref).isdigit() else Event.slug
    value = int(ref) if str(ref).isdigit() else str(ref)
    event = session.scalar(select(Event).where(column == value))
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
    if _agency_by_code(session, event, data["code"]) is not None:
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
    agency = _agency_by_code(session, event, code)
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
    try:
        payload = verify_link(secret, "agency", token)
    except InvalidCredential:
        raise DomainError("link_invalid", kind="not_found") from None
    agency = session.get(Agency, payload.get("a"))
    if agency is None or agency.event_id != event.id or agency.link_nonce != payload.get("n"):
        raise DomainError("link_invalid", kind="not_found")
    return agency


def add_category(session: Session, event: Event, data: dict) -> Category:
    """Add a badge category to an event."""
    if _category_by_code(session, event, data["code"]) is not None:
        raise DomainError("category_code_taken", kind="conflict", field="code")
    category = Category(**data, event_id=event.id)
    session.add(category)
    session.flush()
    return category


def _agency_by_code(session: Session, event: Event, code: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.event_id == event.id, Agency.code == code))


def _category_by_code(session: Session, event: Event, code: str) -> Category | None:
    return session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == code)
    )


# --- delegates ----------------------------------------------------------------------------------


def register_delegate(
    session: Session,
    ctx: Context,
    event: Event,
    data: dict,
    *,
    privileged: bool = False,
    agency: Agency | None = None,
) -> Registration:
    """Register a delegate: window, category, seat (capacity and quota), uniqueness, outbox."""
    now = ctx.clock()
    if not privileged:
        domain.check_registration_window(
            event.registration_opens_at, event.registration_closes_at, now
        )
    agency = agency or _agency_by_code(session, event, data.get("agency") or "")
    if agency is None:
        raise DomainError("unknown_agency", field="agency")
    category = _category_by_code(session, event, data.get("category") or DEFAULT_CATEGORY)
    if category is None:
        raise DomainError("unknown_category", field="category")
    domain.check_category(category.self_registration, privileged)
    domain.check_channel(data["channel"], data.get("email"), data.get("phone"))
    _claim_seat(session, event, agency)
    _refuse_duplicate(session, event.id, data.get("email"), data.get("phone"))
    registration = _new_registration(event, agency, category, data, now)
    _flush_unique(session, registration)
    _record(session, ctx, "delegate.registered", registration)
    return registration


def get_registration(session: Session, registration_id: int) -> Registration:
    """Find a registration by id (also its badge id)."""
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise DomainError("registration_not_found", kind="not_found")
    return registration


def resolve_delegate_link(session: Session, secret: str, token: str) -> Registration:
    """Return the registration of a valid, unrevoked self-service link."""
    try:
        payload = verify_link(secret, "delegate", token)
    except InvalidCredential:
        raise DomainError("link_invalid", kind="not_found") from None
    registration = session.get(Registration, payload.get("r"))
    if registration is None or registration.link_nonce != payload.get("n"):
        raise DomainError("link_invalid", kind="not_found")
    return registration


def update_contact(
    session: Session, ctx: Context, registration: Registration, data: dict
) -> Registration:
    """Correct a delegate's contact details and preferences."""
    _require_active(registration)
    merged = {k: data.get(k, getattr(registration, k)) for k in ("email", "phone", "channel")}
    domain.check_channel(merged["channel"], merged["email"], merged["phone"])
    _refuse_duplicate(
        session,
        registration.event_id,
        data.get("email"),
        data.get("phone"),
        exclude_id=registration.id,
    )
    for name, value in data.items():
        setattr(registration, name, value)
    _touch(registration, ctx.clock())
    _flush_unique(session, registration)
    _record(session, ctx, "delegate.updated", registration)
    return registration


def cancel_registration(
    session: Session, ctx: Context, registration: Registration, reason: str | None = None
) -> Registration:
    """Cancel a registration: free its seat and revoke its badge."""
    now = ctx.clock()
    claimed = session.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.status == ACTIVE)
        .values(
            status=CANCELLED, cancelled_at=now, updated_at=now, version=Registration.version + 1
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:
        raise DomainError("already_cancelled", kind="conflict")
    _release_seat(session, registration)
    session.refresh(registration)
    _record(session, ctx, "delegate.cancelled", registration, reason)
    return registration


def reissue_badge(
    session: Session, ctx: Context, registration: Registration, reason: str | None = None
) -> Registration:
    """Issue a new badge generation; the old QR stops being valid."""
    _require_active(registration)
    registration.badge_generation += 1
    _touch(registration, ctx.clock())
    session.flush()
    _record(session, ctx, "badge.reissued", registration, reason)
    return registration


def _claim_seat(session: Session, event: Event, agency: Agency) -> None:
    """Take one seat of the event and of the agency, or refuse; the database decides."""
    taken = session.execute(
        update(Event)
        .where(
            Event.id == event.id,
            or_(Event.capacity.is_(None), Event.registered_count < Event.capacity),
        )
        .values(registered_count=Event.registered_count + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 0:
        raise DomainError("event_full", kind="conflict")
    taken = session.execute(
        update(Agency)
        .where(
            Agency.id == agency.id,
            or_(Agency.quota.is_(None), Agency.registered_count < Agency.quota),
        )
        .values(registered_count=Agency.registered_count + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 0:
        raise DomainError("quota_full", kind="conflict", field="agency")
    session.expire(event, ["registered_count"])
    session.expire(agency, ["registered_count"])


def _release_seat(session: Session, registration: Registration) -> None:
    """Give back the seat of a cancelled registration."""
    for model, key in ((Event, registration.event_id), (Agency, registration.agency_id)):
        session.execute(
            update(model)
            .where(model.id == key)
            .values(registered_count=model.registered_count - 1)
            .execution_options(synchronize_session=False)
        )
    session.expire(registration.event, ["registered_count"])
    session.expire(registration.agency, ["registered_count"])


def _refuse_duplicate(session: Session, event_id: int, email, phone, exclude_id=None) -> None:
    """Refuse a second active registration of the same person, naming the matching field."""
    for name, value in (("email", email), ("phone", phone)):
        if value is None:
            continue
        query = select(Registration.id).where(
            Registration.event_id == event_id,
            Registration.status == ACTIVE,
            getattr(Registration, name) == value,
            Registration.id != (exclude_id or 0),
        )
        if session.scalar(query) is not None:
            raise DomainError(
                "duplicate_person", kind="conflict", field=name, field_code=f"duplicate_{name}"
            )


def _flush_unique(session: Session, registration: Registration) -> None:
    """Flush, turning a uniqueness race lost in the database into a clear refusal."""
    session.add(registration)
    try:
        session.flush()
    except IntegrityError as error:
        field_name = domain.duplicate_field(str(error.orig))
        raise DomainError(
            "duplicate_person",
            kind="conflict",
            field=field_name,
            field_code=f"duplicate_{field_name}",
        ) from None


def _new_registration(event, agency, category, data: dict, now) -> Registration:
    """Build a registration row from validated data."""
    names = (data.get("full_name_ar"), data.get("full_name_en"))
    return Registration(
        event_id=event.id,
        agency_id=agency.id,
        category_id=category.id,
        event=event,
        agency=agency,
        category=category,
        status=ACTIVE,
        full_name_ar=names[0],
        full_name_en=names[1],
        name_key=domain.name_key(*names),
        job_title=data.get("job_title"),
        email=data.get("email"),
        phone=data.get("phone"),
        gender=data["gender"],
        language=data["language"],
        channel=data["channel"],
        consent_at=now,
        badge_generation=1,
        version=1,
        link_nonce=new_nonce(),
        created_at=now,
        updated_at=now,
    )


def _require_active(registration: Registration) -> None:
    if registration.status != ACTIVE:
        raise DomainError("registration_cancelled", kind="conflict")


def _touch(registration: Registration, now: datetime) -> None:
    registration.version += 1
    registration.updated_at = now


def _record(
    session: Session,
    ctx: Context,
    topic: str,
    registration: Registration,
    reason: str | None = None,
) -> OutboxMessage:
    """Write a delegate event to the outbox in the caller's transaction."""
    message_id = uuid.uuid4().hex
    payload = domain.delegate_event(
        topic,
        registration,
        token=ctx.badge_token(registration),
        url=ctx.delegate_link(registration),
        message_id=message_id,
        now=ctx.clock(),
        reason=reason,
    )
    errors = _event_schema.validate(payload)
    if errors:
        raise ValueError(f"outbox payload breaks the contract: {errors}")
    message = OutboxMessage(
        message_id=message_id,
        topic=topic,
        badge_id=registration.id,
        payload=payload,
        created_at=ctx.clock(),
        attempts=0,
    )
    session.add(message)
    session.flush()
    return message
