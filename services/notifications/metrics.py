"""Notifications' live figures for /metrics: deliveries by channel and status."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from services.notifications.models import STATUSES, Delivery


def deliveries_by_status(session):
    """Deliveries in the log by channel and status (every status listed, zero included)."""
    rows = session.execute(
        select(Delivery.channel, Delivery.status, func.count()).group_by(
            Delivery.channel, Delivery.status
        )
    )
    counts = {(channel, status): count for channel, status, count in rows}
    family = GaugeMetricFamily(
        "hudoor_notifications_deliveries",
        "Deliveries in the delivery log, by channel and status",
        labels=["channel", "status"],
    )
    for channel in sorted({"email", "sms"} | {c for c, _ in counts}):
        for status in STATUSES:
            family.add_metric([channel, status], counts.get((channel, status), 0))
    yield family
