"""Tables owned by the registration service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, service_metadata
from shared.logs import current_request_id

ACTIVE = "active"
CANCELLED = "cancelled"


class Base(DeclarativeBase):
    metadata = service_metadata()


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR registered_count <= capacity", name="capacity"),
        CheckConstraint("registered_count >= 0", name="registered_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_ar: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    venue_ar: Mapped[str] = mapped_column(String(300))
    venue_en: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int | None] = mapped_column(Integer)
    registered_count: Mapped[int] = mapped_column(Integer, default=0)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    default_language: Mapped[str] = mapped_column(String(2), default="ar")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    days: Mapped[list[EventDay]] = relationship(
        order_by="EventDay.day", cascade="all, delete-orphan", lazy="selectin"
    )


class EventDay(Base):
    __tablename__ = "event_days"
    __table_args__ = (UniqueConstraint("event_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("event_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_ar: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(7))
    self_registration: Mapped[bool] = mapped_column(Boolean, default=False)


class Agency(Base):
    __tablename__ = "agencies"
    __table_args__ = (
        UniqueConstraint("event_id", "code"),
        CheckConstraint("quota IS NULL OR registered_count <= quota", name="quota"),
        CheckConstraint("registered_count >= 0", name="registered_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_ar: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    sector: Mapped[str] = mapped_column(String(32))
    governorate: Mapped[str | None] = mapped_column(String(64))
    quota: Mapped[int | None] = mapped_column(Integer)
    registered_count: Mapped[int] = mapped_column(Integer, default=0)
    # Rotating the nonce revokes the agency's focal-point registration link.
    link_nonce: Mapped[str] = mapped_column(String(32))


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        # One active registration per person per event, whichever contact matches.
        Index(
            "uq_registrations_active_email",
            "event_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'active' AND email IS NOT NULL"),
            sqlite_where=text("status = 'active' AND email IS NOT NULL"),
        ),
        Index(
            "uq_registrations_active_phone",
            "event_id",
            "phone",
            unique=True,
            postgresql_where=text("status = 'active' AND phone IS NOT NULL"),
            sqlite_where=text("status = 'active' AND phone IS NOT NULL"),
        ),
        Index("ix_registrations_event_name_key", "event_id", "name_key"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="contact"),
        CheckConstraint("full_name_ar IS NOT NULL OR full_name_en IS NOT NULL", name="name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # also the badge id
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    full_name_ar: Mapped[str | None] = mapped_column(String(200))
    full_name_en: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(Text)
    job_title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(8))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    badge_generation: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped on every change so consumers can apply events in order per badge.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Rotating the nonce revokes the delegate's private self-service link.
    link_nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(lazy="joined")
    agency: Mapped[Agency] = relationship(lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")


class OutboxMessage(Base):
    """An event written in the same transaction as the change it describes."""

    __tablename__ = "outbox"
    # The relay's watch list: published, not yet confirmed by every consumer.
    __table_args__ = (
        Index(
            "ix_outbox_unsettled",
            "id",
            postgresql_where=text("published_at IS NOT NULL AND settled_at IS NULL"),
            sqlite_where=text("published_at IS NOT NULL AND settled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    topic: Mapped[str] = mapped_column(String(64))
    badge_id: Mapped[int] = mapped_column(Integer, index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When every consumer confirmed it (shared/outbox_receipts.py), or the relay gave up.
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The request that wrote the row, if any: its tasks log the same request id.
    request_id: Mapped[str | None] = mapped_column(String(64), default=current_request_id)


class IdempotencyRecord(Base):
    """The first response to a POST carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("endpoint", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token's record: who it is for and whether it was revoked (the token is signed)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    event_ids: Mapped[list | None] = mapped_column(JSON)
    agency_ids: Mapped[list | None] = mapped_column(JSON)
    # "api" (bearer token) or "session" (browser login); both are revoked the same way.
    kind: Mapped[str] = mapped_column(String(8), default="api")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)


# The other tables of this service share the metadata: importing the models imports them all.
from services.registration import account_models, audit_models, print_models  # noqa: E402, F401
