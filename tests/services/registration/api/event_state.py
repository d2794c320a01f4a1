"""The demo event as the database holds it: what a request wrote, and closing its registration."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.registration.models import Agency, Event, Registration
from shared.db import utcnow
from tests.services.registration.conftest import delegate_messages, row_count


def written(session) -> tuple[int, int, int, int]:
    """Registrations, outbox messages, demo event seats and IWED seats now in the database."""
    return (
        row_count(session, Registration),
        delegate_messages(session),
        session.scalar(select(Event.registered_count).where(Event.slug == "wli-gbv-2023")),
        session.scalar(select(Agency.registered_count).where(Agency.code == "IWED")),
    )


def close_registration(session, event) -> None:
    session.get(Event, event.id).registration_closes_at = utcnow() - timedelta(hours=1)
    session.commit()
