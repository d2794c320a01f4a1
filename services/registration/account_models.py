"""Accounts of the people who run events: organizers, viewers, agency focal points, admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.registration.models import Base
from shared.db import UTCDateTime

ACCOUNT_ROLES = ("admin", "organizer", "focal_point", "viewer")


class Account(Base):
    """A person who logs in; the role applies to the events (and agencies) of its scopes."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2), default="ar")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scopes: Mapped[list[AccountScope]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AccountScope.id"
    )

    @property
    def event_ids(self) -> list[int] | None:
        """The events this account acts on; None for an admin (all)."""
        if self.role == "admin":
            return None
        return sorted({scope.event_id for scope in self.scopes})

    @property
    def agency_ids(self) -> list[int] | None:
        """The agencies a focal point acts for; None for other roles (every agency)."""
        if self.role != "focal_point":
            return None
        return sorted({scope.agency_id for scope in self.scopes if scope.agency_id is not None})


class AccountScope(Base):
    """One event (and for a focal point, one agency of it) an account may act on."""

    __tablename__ = "account_scopes"
    __table_args__ = (UniqueConstraint("account_id", "event_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))


class Invitation(Base):
    """A focal point invited by email for one agency; accepted once through a signed link."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index(
            "uq_invitations_pending",
            "agency_id",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
            sqlite_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    nonce: Mapped[str] = mapped_column(String(32))
    invited_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("accounts.id"))
