"""Check-in's live figures for /metrics: door scans by answer, counted from the scan log."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily
from sqlalchemy import func, select

from services.checkin.models import Scan


def scans_by_status(session):
    """Every scan recorded, by the answer given (admitted, already_inside, revoked...)."""
    rows = session.execute(select(Scan.status, func.count()).group_by(Scan.status))
    family = CounterMetricFamily(
        "hudoor_checkin_scans", "Door scans recorded, by answer", labels=["status"]
    )
    for status, count in rows:
        family.add_metric([status], count)
    yield family
