"""Notification use cases: plain functions taking a database session (no Flask or Celery)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.notifications import compose, domain, sms_segments
from services.notifications.models import (
    DELIVERED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    Delivery,
    Recipient,
)
from shared.db import utcnow
from shared.problems import DomainError

DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# Statements built once (values bound by name): logging a message pays for no query building.
DELIVERY_BY_KEY = select(Delivery).where(Delivery.idempotency_key == bindparam("key"))
# Where a concurrent redelivery logged it first this inserts nothing: no savepoint needed.
INSERT_DELIVERY = {
    name: insert(Delivery)
    .on_conflict_do_nothing(index_elements=[Delivery.idempotency_key])
    .returning(Delivery)
    # As if the values were in the statement (not the ORM's bulk INSERT of parameter sets).
    .execution_options(dml_strategy="orm")
    for name, insert in DIALECT_INSERT.items()
}


def record_delegate_event(session: Session, payload: dict) -> list[int]:
    """Remember the delegate and log the messages the event calls for; return ids to send."""
    logged = _record(session, payload)
    # Read in this transaction; the commit ends it before the caller talks to the broker.
    pending = [delivery.id for delivery, _ in logged if delivery.status in (QUEUED, SENDING)]
    session.commit()
    return pending


def record_and_claim(
    session: Session, payload: dict, channel: str
) -> tuple[list[Delivery], list[Delivery]]:
    """Record a delegate event, its new deliveries on `channel` logged already claimed for their
    first attempt (no claim of their own to commit); return those and the others to send."""
    logged = _record(session, payload, claim=channel)
    claimed = [delivery for delivery, ours in logged if ours]
    pending = [d for d, ours in logged if not ours and d.status in (QUEUED, SENDING)]
    session.commit()
    return claimed, pending


def _record(
    session: Session, payload: dict, claim: str | None = None
) -> list[tuple[Delivery, bool]]:
    """Remember the delegate and log the event's messages; flag those claimed here."""
    delegate = payload["delegate"]
    previous, superseded = _remember(session, payload)
    notice = domain.former_address_notice(previous, payload)
    logged = [] if notice is None else [_log_notice(session, notice, claim)]
    topic, reason = payload["topic"], payload.get("reason")
    planned = domain.planned_messages(topic, delegate["channel"], reason, superseded)
    for kind, channel in planned:
        to = domain.address(delegate, channel)
        if to:
            key = domain.delivery_key(payload["message_id"], kind, channel)
            logged.append(_log_claimed(session, claim, key, payload, kind, channel, to))
    return logged


def record_account_message(session: Session, payload: dict) -> list[int]:
    """Log an account holder's e-mail once per message id; return its id if still to send."""
    key = domain.delivery_key(payload["message_id"], payload["kind"], "email")
    delivery, _ = _log(session, key, payload, payload["kind"], "email", payload["email"])
    session.commit()
    pending = [delivery.id] if delivery.status in (QUEUED, SENDING) else []
    session.rollback()  # end the read before the caller talks to the broker
    return pending


def _log_notice(session: Session, notice: dict, claim: str | None) -> tuple[Delivery, bool]:
    """Log the notice to a former e-mail address (flagged if claimed here)."""
    key = domain.delivery_key(notice["message_id"], domain.NOTICE, "email")
    to = notice["delegate"]["email"]
    return _log_claimed(session, claim, key, notice, domain.NOTICE, "email", to)


def _log_claimed(
    session: Session, claim: str | None, key: str, payload: dict, kind: str, channel: str, to: str
) -> tuple[Delivery, bool]:
    """Log a delivery, claimed for its first attempt if it is new and on the `claim` channel;
    tell whether it was."""
    claimed = channel == claim
    delivery, new = _log(session, key, payload, kind, channel, to, claimed=claimed)
    return delivery, new and claimed


def _remember(session: Session, payload: dict) -> tuple[dict | None, bool]:
    """Keep the newest state of a delegate (events arrive out of order); return the one replaced
    and whether a newer one than this event's was already kept."""
    delegate, event = payload["delegate"], payload["event"]
    known = session.get(Recipient, delegate["badge_id"], with_for_update=True)
    if not domain.is_newer(delegate["version"], known.version if known else None):
        return None, known.version > delegate["version"]
    previous = known.payload if known else None
    recipient = known or Recipient(badge_id=delegate["badge_id"])
    recipient.event_id = event["id"]
    recipient.version, recipient.status = delegate["version"], delegate["status"]
    recipient.agency_code = delegate["agency"]["code"]
    recipient.category_code = delegate["category"]["code"]
    recipient.first_day = date.fromisoformat(min(event["days"]))
    recipient.timezone, recipient.payload = event["timezone"], payload
    recipient.updated_at = utcnow()
    session.add(recipient)
    session.flush()
    return previous, False


def _log(
    session: Session,
    key: str,
    payload: dict,
    kind: str,
    channel: str,
    to: str,
    extra: dict | None = None,
    *,
    claimed: bool = False,
) -> tuple[Delivery, bool]:
    """Insert a delivery once per idempotency key (claimed: as its first attempt's); on a repeat
    return the existing one."""
    existing = session.scalar(DELIVERY_BY_KEY, {"key": key})
    if existing is not None:
        return existing, False
    now = utcnow()
    event_id, badge_id, language = domain.filed_under(payload)
    values = dict(
        idempotency_key=key,
        source=payload["message_id"],
        event_id=event_id,
        badge_id=badge_id,
        kind=kind,
        channel=channel,
        recipient=to,
        language=language,
        status=SENDING if claimed else QUEUED,
        attempts=int(claimed),
        payload=payload,
        extra=extra,
        created_at=now,
        updated_at=now,
    )
    delivery = session.scalar(INSERT_DELIVERY[session.get_bind().dialect.name], values)
    if delivery is None:
        return session.scalar(DELIVERY_BY_KEY, {"key": key}), False
    return delivery, True


def start_attempt(session: Session, delivery_id: int, stale_after: timedelta) -> Delivery | None:
    """Claim a delivery for one attempt (queued, or sending but abandoned); None if not ours."""
    now = utcnow()
    claimable = or_(
        Delivery.status == QUEUED,
        and_(Delivery.status == SENDING, Delivery.updated_at < now - stale_after),
    )
    claimed = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, claimable)
        .values(status=SENDING, attempts=Delivery.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:
        session.rollback()
        return None
    delivery = session.get(Delivery, delivery_id, populate_existing=True)
    # Commit after reading it back: no transaction (on SQLite, no write lock) spans the send.
    session.commit()
    return delivery


def finish_attempt(session: Session, delivery: Delivery, provider_id: str | None) -> None:
    """Record that the provider accepted the message."""
    delivery.status, delivery.provider_id = SENT, provider_id
    delivery.sent_at = delivery.updated_at = utcnow()
    delivery.last_error = None
    session.commit()


def fail_attempt(session: Session, delivery: Delivery, error: str, *, final: bool) -> None:
    """Record a failed attempt: queued again for a retry, or failed for good."""
    delivery.status = FAILED if final else QUEUED
    delivery.last_error, delivery.updated_at = error[:1000], utcnow()
    session.commit()


def apply_receipt(session: Session, provider_id: str, status: str, error: str | None) -> bool:
    """Apply a provider's delivery receipt; tell whether a delivery matched."""
    delivery = session.scalar(select(Delivery).where(Delivery.provider_id == provider_id))
    if delivery is None:
        return False
    if delivery.status == DELIVERED:
        return True  # receipts arrive out of order; delivered is the last word
    if status == DELIVERED:
        delivery.status, delivery.delivered_at = DELIVERED, utcnow()
    elif status == FAILED:
        delivery.status, delivery.last_error = FAILED, f"provider receipt: {error or 'failed'}"
    delivery.updated_at = utcnow()
    session.commit()
    return True


def resend(session: Session, delivery_id: int) -> Delivery:
    """Send a logged message again, as a new delivery with its own key."""
    original = session.get(Delivery, delivery_id)
    if original is None:
        raise DomainError("delivery_not_found", kind="not_found")
    if not domain.resendable(original.kind):
        raise DomainError("account_message_not_resendable", kind="conflict")
    copies = session.scalars(
        select(Delivery.id).where(
            Delivery.idempotency_key.like(f"{original.idempotency_key}:resend:%")
        )
    ).all()
    key = f"{original.idempotency_key}:resend:{len(copies) + 1}"
    latest = _latest_payload(session, original.badge_id)
    payload = domain.as_resent(original.payload, latest, original.kind)
    to = domain.address(payload["delegate"], original.channel)
    if not to:
        raise DomainError("no_address_on_channel", kind="conflict")
    copy, _ = _log(session, key, payload, original.kind, original.channel, to, original.extra)
    session.commit()
    return copy


def _latest_payload(session: Session, badge_id: int) -> dict | None:
    """The newest delegate event known for a badge."""
    recipient = session.get(Recipient, badge_id)
    return recipient.payload if recipient is not None else None


def stuck_deliveries(session: Session, older_than: timedelta, limit: int = 500) -> list[int]:
    """Deliveries still queued or sending long after their last change (a lost task)."""
    cutoff = utcnow() - older_than
    query = (
        select(Delivery.id)
        .where(Delivery.status.in_((QUEUED, SENDING)), Delivery.updated_at < cutoff)
        .limit(limit)
    )
    return list(session.scalars(query))


def due_reminders(session: Session, now: datetime) -> list[int]:
    """Log the day-before reminder once per active delegate per event; return ids to send."""
    ids = []
    tomorrow_any_zone = {now.date(), now.date() + timedelta(days=1), now.date() + timedelta(2)}
    query = select(Recipient).where(
        Recipient.status == "active", Recipient.first_day.in_(tomorrow_any_zone)
    )
    for recipient in session.scalars(query):
        if domain.reminder_due(recipient.first_day, recipient.timezone, now):
            ids.extend(_log_reminder(session, recipient))
    session.commit()
    return ids


def _log_reminder(session: Session, recipient: Recipient) -> list[int]:
    payload, ids = recipient.payload, []
    for channel in domain.CHANNELS.get(payload["delegate"]["channel"], ()):
        to = domain.address(payload["delegate"], channel)
        if to:
            key = f"reminder:{recipient.event_id}:{recipient.badge_id}:{channel}"
            delivery, created = _log(session, key, payload, "reminder", channel, to)
            if created:
                ids.append(delivery.id)
    return ids


def broadcast(session: Session, event_id: int, audience: dict, message: dict) -> list[int]:
    """Log an organizer's message to every active delegate of the audience; return ids."""
    query = select(Recipient).where(Recipient.event_id == event_id, Recipient.status == "active")
    if "agency" in audience:
        query = query.where(Recipient.agency_code == audience["agency"])
    if "category" in audience:
        query = query.where(Recipient.category_code == audience["category"])
    recipients = list(session.scalars(query))
    _refuse_long_sms(recipients, message)
    ids, tag = [], message["id"]
    for recipient in recipients:
        payload = recipient.payload
        for channel in domain.CHANNELS.get(payload["delegate"]["channel"], ()):
            to = domain.address(payload["delegate"], channel)
            if to:
                key = f"broadcast:{tag}:{recipient.badge_id}:{channel}"
                delivery, created = _log(session, key, payload, "broadcast", channel, to, message)
                if created:
                    ids.append(delivery.id)
    session.commit()
    return ids


def _refuse_long_sms(recipients: list[Recipient], message: dict) -> None:
    """Refuse a broadcast whose SMS, as rendered for a recipient, takes more than two parts."""
    for recipient in recipients:
        delegate = recipient.payload["delegate"]
        if "sms" not in domain.CHANNELS.get(delegate["channel"], ()) or not delegate.get("phone"):
            continue
        parts = sms_segments.segments(compose.render_sms("broadcast", recipient.payload, message))
        if parts > compose.SMS_MAX_SEGMENTS:
            body = f"body_{compose.delegate_language(recipient.payload)}"
            raise DomainError(
                "sms_too_long",
                field="message.sms",
                segments=parts,
                max=compose.SMS_MAX_SEGMENTS,
                body=body,
            )


def list_deliveries(
    session: Session,
    *,
    event_id=None,
    status=None,
    channel=None,
    kind=None,
    badge_id=None,
    limit: int = 100,
    before_id: int | None = None,
):
    """Filter the delivery log, newest first, paged by id."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    for column, value in (
        (Delivery.event_id, event_id),
        (Delivery.status, status),
        (Delivery.channel, channel),
        (Delivery.kind, kind),
        (Delivery.badge_id, badge_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    return list(session.scalars(query))
