"""The badge print log: one row per printing, with the state of a batch rendered in the back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.registration.models import Base
from shared.db import UTCDateTime

QUEUED, RENDERING, DONE, FAILED = "queued", "rendering", "done", "failed"


class PrintJob(Base):
    """Who printed which badges, when, how, and (for a batch) how far rendering got."""

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    layout: Mapped[str] = mapped_column(String(16))
    selection: Mapped[dict] = mapped_column(JSON)
    badge_ids: Mapped[list] = mapped_column(JSON)
    # A reprint reissued every badge in it (new generation, old QR revoked) for this reason.
    reprint_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    file_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
