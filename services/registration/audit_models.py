"""The audit log of registration: who viewed or changed which delegates' data, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.registration.models import Base
from shared.db import UTCDateTime


class AuditEntry(Base):
    """One access to delegates' personal data by an account: what, whose, by whom, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_event_id_id", "event_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[int | None] = mapped_column(Integer)
    registration_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Counts, codes and reasons only: names and contacts stay in the registrations.
    detail: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
