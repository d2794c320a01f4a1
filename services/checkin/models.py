"""Tables owned by the check-in service: roster replica, lists, scans, check-ins, devices, audit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
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

ENTRY, EXIT = "entry", "exit"


class Base(DeclarativeBase):
    metadata = service_metadata()


class RosterEntry(Base):
    """A badge the doors must recognise: registration's state, applied in version order."""

    __tablename__ = "roster"
    __table_args__ = (
        Index("ix_roster_event_name_key", "event_id", "name_key"),
        # Attendance reports group an event's roster by these, reading the index alone.
        Index(
            "ix_roster_event_report",
            "event_id",
            "agency_id",
            "category_code",
            "gender",
            "status",
            "badge_id",
        ),
    )

    badge_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    generation: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    full_name_ar: Mapped[str | None] = mapped_column(String(200))
    full_name_en: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(Text)
    gender: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    agency_id: Mapped[int] = mapped_column(Integer)
    agency_code: Mapped[str] = mapped_column(String(32))
    agency_name_ar: Mapped[str] = mapped_column(String(300))
    agency_name_en: Mapped[str] = mapped_column(String(300))
    category_code: Mapped[str] = mapped_column(String(32))
    category_name_ar: Mapped[str] = mapped_column(String(100))
    category_name_en: Mapped[str] = mapped_column(String(100))
    category_color: Mapped[str] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventInfo(Base):
    """What check-in knows of an event (from roster events): timezone and days."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    slug: Mapped[str] = mapped_column(String(64))
    name_ar: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64))
    days: Mapped[list] = mapped_column(JSON)
    # The last `event.changed` applied (agencies and categories below are that snapshot's).
    setup_sequence: Mapped[int | None] = mapped_column(Integer)


class Agency(Base):
    """An agency of an event with its quota, from registration's set-up snapshots."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_ar: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    sector: Mapped[str] = mapped_column(String(32))
    governorate: Mapped[str | None] = mapped_column(String(64))
    quota: Mapped[int | None] = mapped_column(Integer)


class Category(Base):
    """A badge category of an event, from registration's set-up snapshots."""

    __tablename__ = "categories"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_ar: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(7))


class CheckinList(Base):
    """A check-in list: one per event day by default, or a session/hall admitting categories."""

    __tablename__ = "checkin_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    day: Mapped[date | None] = mapped_column(Date)
    # None admits every category.
    categories: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Scan(Base):
    """Every scan as the door sent it, with the answer given (replayed for a repeated nonce)."""

    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_list_recorded", "list_id", "recorded_at"),
        UniqueConstraint("event_id", "nonce"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    # What was asked (token or badge, list, direction): a reused nonce must ask the same.
    request_hash: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(Integer)
    list_id: Mapped[int] = mapped_column(ForeignKey("checkin_lists.id"))
    badge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    direction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    gate: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(40))
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[dict] = mapped_column(JSON)


class Checkin(Base):
    """A badge admitted on a list; the database allows one live check-in per badge per list."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index(
            "uq_checkins_live",
            "list_id",
            "badge_id",
            unique=True,
            postgresql_where=text("undone_at IS NULL"),
            sqlite_where=text("undone_at IS NULL"),
        ),
        # Attendance reports read an event's live check-ins from this index alone.
        Index(
            "ix_checkins_live_report",
            "event_id",
            "badge_id",
            "list_id",
            "checked_in_at",
            postgresql_where=text("undone_at IS NULL"),
            sqlite_where=text("undone_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("checkin_lists.id"))
    badge_id: Mapped[int] = mapped_column(Integer)
    gate: Mapped[str] = mapped_column(String(64))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    inside: Mapped[bool] = mapped_column(Boolean, default=True)
    last_movement_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undo_reason: Mapped[str | None] = mapped_column(String(500))

    checkin_list: Mapped[CheckinList] = relationship(lazy="joined")


class AttendanceCell(Base):
    """Kept totals of one agency, category and gender: reports read these, not every badge."""

    __tablename__ = "attendance_cells"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    gender: Mapped[str] = mapped_column(String(20), primary_key=True)
    registered: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer)
    # Active badges with a live check-in on any list of the event.
    attended: Mapped[int] = mapped_column(Integer)


class AttendanceCellDay(Base):
    """Kept attendance of one cell on one day: unique attendees, first and last first-arrival."""

    __tablename__ = "attendance_cell_days"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    gender: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    attended: Mapped[int] = mapped_column(Integer)
    first_arrival: Mapped[datetime] = mapped_column(UTCDateTime)
    last_arrival: Mapped[datetime] = mapped_column(UTCDateTime)


class Device(Base):
    """A door device enrolled for one event and gate; its token can be revoked."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    gate: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did what to whom and when: undos, manual check-ins, devices, reports of people."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    badge_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """A bearer token revoked in registration; refused here from then on."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)
