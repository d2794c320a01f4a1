"""Registration's live figures for /metrics: outbox rows not yet handed to the broker."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from services.registration.models import OutboxMessage


def outbox_depth(session):
    """Unpublished outbox rows: a growing number means the broker or the relay is stuck."""
    pending = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    )
    yield GaugeMetricFamily(
        "hudoor_registration_outbox_pending", "Outbox rows not yet published", value=pending
    )
