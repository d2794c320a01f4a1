"""Delegate use cases: register, correct, cancel, reissue; each writes its outbox event."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registration import domain
from services.registration.models import (
    ACTIVE,
    CANCELLED,
    Agency,
    Event,
    Registration,
)
from services.registration.operations import statements
from services.registration.operations.context import Context, new_nonce
from services.registration.operations.events import (
    agency_and_category,
    category_by_code,
    check_registration_open,
)
from services.registration.operations.events import link_parts as _link_parts
from services.registration.schemas import EventRules
from shared.contracts import CONTACT_CHANGED, DelegateEventSchema
from shared.problems import DomainError, FieldError

DEFAULT_CATEGORY = "DELEGATE"
_event_schema = DelegateEventSchema()


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
        check_registration_open(event, now)
    agency, category = agency_and_category(
        session, event, agency or data.get("agency") or "", data.get("category") or DEFAULT_CATEGORY
    )
    if agency is None:
        raise DomainError("unknown_agency", field="agency")
    if category is None:
        raise DomainError("unknown_category", field="category")
    domain.check_category(category.self_registration, privileged)
    domain.check_channel(data["channel"], data.get("email"), data.get("phone"))
    _refuse_if_full(event, agency)
    _refuse_duplicate(session, event.id, data.get("email"), data.get("phone"))
    registration = _new_registration(event, agency, category, data, now)
    _flush_unique(session, registration)
    _record(session, ctx, "delegate.registered", registration)
    # Last: the seat counters lock the event's row until commit, serialising registrations,
    # so everything that can be done before taking them is done before.
    _claim_seat(session, event, agency)
    return registration


def event_rules(
    session: Session, event: Event, agency: Agency | None = None, *, privileged: bool = False
) -> EventRules:
    """Rules the registration schema adds for `event`: agency, category and who may choose it."""

    @functools.cache  # a list repeats the same codes on every row
    def find(agency_code: Agency | str, category_code: str):
        return agency_and_category(session, event, agency_code, category_code)

    def check(data: dict) -> dict[str, list[str]]:
        # A focal point's link or a list fixes the agency; else the payload names it.
        found, category = find(
            agency or data.get("agency") or "", data.get("category") or DEFAULT_CATEGORY
        )
        errors = {"agency": ["unknown_agency"]} if found is None else {}
        return errors | _category_errors(category, privileged)

    return EventRules(check)


def _category_errors(category, privileged: bool) -> dict[str, list[str]]:
    """The category's error as a field error: missing, or kept for organizers."""
    if category is None:
        return {"category": ["unknown_category"]}
    try:
        domain.check_category(category.self_registration, privileged)
    except DomainError as error:
        return {"category": [error.code]}
    return {}


def get_registration(session: Session, registration_id: int, *, lock: bool = False) -> Registration:
    """Find a registration by id (also its badge id); `lock` before changing it."""
    # Changes bump the version in Python: the row lock keeps two changes from sharing one.
    registration = session.get(Registration, registration_id, with_for_update=_row_lock(lock))
    if registration is None:
        raise DomainError("registration_not_found", kind="not_found")
    return registration


def _row_lock(lock: bool) -> dict | bool:
    """FOR UPDATE OF registrations: PostgreSQL refuses to lock the eager-loaded outer joins."""
    return {"of": Registration.__table__} if lock else False


def resolve_delegate_link(
    session: Session, secret: str, token: str, *, lock: bool = False
) -> Registration:
    """Return the registration of a valid, unrevoked self-service link; `lock` to change it."""
    registration_id, nonce = _link_parts(secret, "delegate", token)
    registration = session.get(Registration, registration_id, with_for_update=_row_lock(lock))
    if registration is None or registration.link_nonce != nonce:
        raise DomainError("link_invalid", kind="not_found")
    return registration


def update_contact(
    session: Session, ctx: Context, registration: Registration, data: dict
) -> Registration:
    """Correct a delegate's contact details; a new address renews the badge and private link."""
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
    current = {name: getattr(registration, name) for name in domain.CONTACT_ADDRESSES}
    renewed = domain.contact_changed(current, data)
    for name, value in data.items():
        setattr(registration, name, value)
    if renewed:
        # Whoever got the first messages at a mistyped address holds the link and the badge.
        _renew_credentials(registration)
    _touch(registration, ctx.clock())
    _flush_unique(session, registration)
    reason = CONTACT_CHANGED if renewed else None
    _record(session, ctx, "delegate.updated", registration, reason)
    return registration


def cancel_registration(
    session: Session,
    ctx: Context,
    registration: Registration,
    reason: str | None = None,
    *,
    by: str = "organizer",
) -> Registration:
    """Cancel a registration: free its seat and revoke its badge (`by`: the caller's role)."""
    check_change(ctx, registration, by)
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


def substitute_delegate(
    session: Session,
    ctx: Context,
    registration: Registration,
    data: dict,
    *,
    by: str = "focal_point",
) -> Registration:
    """Give a delegate's seat to someone else: the old badge is revoked, the seat is kept."""
    _require_active(registration)
    check_change(ctx, registration, by)
    privileged = by in domain.ORGANIZERS
    category = registration.category
    if not (privileged or category.self_registration):
        # A speaker's seat passes to a delegate: organizer-only categories stay with organizers.
        category = category_by_code(session, registration.event, DEFAULT_CATEGORY)
    if data.get("category"):
        category = category_by_code(session, registration.event, data["category"])
        if category is None:
            raise DomainError("unknown_category", field="category")
        domain.check_category(category.self_registration, privileged)
    domain.check_channel(data["channel"], data.get("email"), data.get("phone"))
    _end_for_substitution(session, ctx, registration)
    _refuse_duplicate(session, registration.event_id, data.get("email"), data.get("phone"))
    successor = _new_registration(
        registration.event, registration.agency, category, data, ctx.clock()
    )
    _flush_unique(session, successor)
    _record(session, ctx, "delegate.registered", successor)
    return successor


def check_change(ctx: Context, registration: Registration, by: str) -> None:
    """Apply the delegation-change deadline in the event's own calendar."""
    event = registration.event
    today = ctx.clock().astimezone(ZoneInfo(event.timezone)).date()
    domain.check_delegation_change(by, [d.day for d in event.days], today)


def _end_for_substitution(session: Session, ctx: Context, registration: Registration) -> None:
    """Cancel without freeing the seat: the successor takes it in the same transaction."""
    registration.status, registration.cancelled_at = CANCELLED, ctx.clock()
    # A new generation revokes the printed badge: the door answers `revoked`, not `cancelled`.
    registration.badge_generation += 1
    _touch(registration, ctx.clock())
    session.flush()
    _record(session, ctx, "delegate.cancelled", registration, "substituted")


def reissue_badge(
    session: Session,
    ctx: Context,
    registration: Registration,
    reason: str | None = None,
    *,
    by: str = "organizer",
) -> Registration:
    """Issue a new badge generation; the old QR stops being valid (`by`: the caller's role)."""
    # Revoking a printed badge changes who gets in as much as a withdrawal: the same deadline.
    check_change(ctx, registration, by)
    _require_active(registration)
    # A lost badge may travel with its confirmation: the old private link goes too.
    _renew_credentials(registration)
    _touch(registration, ctx.clock())
    session.flush()
    _record(session, ctx, "badge.reissued", registration, reason)
    return registration


def _renew_credentials(registration: Registration) -> None:
    """Issue a new badge generation and a new private link; the old QR and link stop working."""
    registration.badge_generation += 1
    registration.link_nonce = new_nonce()


def _claim_seat(session: Session, event: Event, agency: Agency) -> None:
    """Take one seat of the event and of the agency, or refuse; the database decides."""
    if not _take_one(session, statements.TAKE_EVENT_SEAT, event.id):
        raise DomainError("event_full", kind="conflict")
    if not _take_one(session, statements.TAKE_AGENCY_SEAT, agency.id):
        raise DomainError("quota_full", kind="conflict", field="agency")
    session.expire(event, ["registered_count"])
    session.expire(agency, ["registered_count"])


def _refuse_if_full(event: Event, agency: Agency) -> None:
    """Refuse when the counters as read leave no seat (the claim still decides under races)."""
    # Before the duplicate check: a full agency must not answer "already registered" for one
    # e-mail address and "full" for another.
    if event.capacity is not None and event.registered_count >= event.capacity:
        raise DomainError("event_full", kind="conflict")
    if agency.quota is not None and agency.registered_count >= agency.quota:
        raise DomainError("quota_full", kind="conflict", field="agency")


def _take_one(session: Session, statement, key: int) -> bool:
    """Add one to a row's registered_count unless that reaches its limit; tell whether it did."""
    return session.execute(statement, {"row_id": key}).rowcount == 1


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
    """Refuse a second active registration of the same person."""
    if email is None and phone is None:
        return
    # One query for both fields (a None never matches); the unique indexes guard against races.
    params = {"event_id": event_id, "email": email, "phone": phone, "exclude": exclude_id or 0}
    if session.execute(statements.SAME_PERSON, params).first() is not None:
        raise _duplicate(email, phone)


def _duplicate(email, phone) -> DomainError:
    """The refusal of a person already registered, on every contact given."""
    # Never which one matched: an e-mail address paired with a phone known to be registered
    # would be told registered or not, and attending this event is sensitive.
    error = DomainError("duplicate_person", kind="conflict")
    given = [name for name, value in (("email", email), ("phone", phone)) if value is not None]
    error.fields = [FieldError(name, "duplicate_contact") for name in given]
    return error


def _flush_unique(session: Session, registration: Registration) -> None:
    """Flush, turning a uniqueness race lost in the database into a clear refusal."""
    session.add(registration)
    try:
        session.flush()
    except IntegrityError:
        raise _duplicate(registration.email, registration.phone) from None


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
) -> int:
    """Write a delegate event to the outbox in the caller's transaction; return the row's id."""
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
    row = {
        "message_id": message_id,
        "topic": topic,
        "badge_id": registration.id,
        "payload": payload,
        "created_at": ctx.clock(),
        "attempts": 0,
    }
    session.flush()  # the change it describes goes first, as the ORM would order it
    # A Core insert: no caller needs the row as an object, and the unit of work costs more.
    inserted = session.execute(statements.INSERT_OUTBOX, row).inserted_primary_key[0]
    # Published after commit by the caller's relay hook (see app.py), else by the sweep.
    session.info.setdefault("outbox_pending", []).append(inserted)
    return inserted
