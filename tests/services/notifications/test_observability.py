"""Notifications' /metrics: deliveries by channel and status, read from the delivery log."""

from __future__ import annotations

import pytest

from services.notifications.app import create_app
from services.notifications.config import NotificationsConfig
from services.notifications.models import Delivery
from shared.db import utcnow
from tests.conftest import rollback_factory
from tests.services.checkin.test_observability import metric


@pytest.fixture
def app(notifications_db, tmp_path):
    factory, close = rollback_factory(notifications_db.engine)
    config = NotificationsConfig(
        database_url=notifications_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key="notifications-metrics-test-secret-0123456789",
        default_language="en",
        public_base_url="http://hudoor.test",
        var_dir=tmp_path,
        mail_url=None,
        mail_from="Hudoor <no-reply@hudoor.invalid>",
        sms_url=None,
        sms_per_second=5.0,
    )
    yield create_app(config, session_factory=factory)
    close()


def _delivery(n: int, status: str) -> Delivery:
    now = utcnow()
    return Delivery(
        idempotency_key=f"metrics-test-{n}",
        source="test",
        event_id=1,
        badge_id=n,
        kind="registered",
        channel="sms",
        recipient=f"+96477{n:08d}",
        language="ar",
        status=status,
        payload={},
        created_at=now,
        updated_at=now,
    )


def test_deliveries_by_status_follow_the_delivery_log(app):
    client, factory = app.test_client(), app.extensions["hudoor_sessions"]
    before = metric(client, "hudoor_notifications_deliveries", channel="sms", status="failed")
    with factory() as session:
        session.add_all([_delivery(1, "failed"), _delivery(2, "sent")])
        session.commit()
    after = metric(client, "hudoor_notifications_deliveries", channel="sms", status="failed")
    assert after == before + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert "+96477" not in text
