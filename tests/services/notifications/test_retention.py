"""Retention: notifications keep an old event's delivery figures and drop its personal values."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.notifications import operations
from services.notifications.models import Base, Delivery
from services.notifications.retention import purge
from shared.retention import cutoff
from tests.conftest import rollback_factory
from tests.services.notifications.payloads import delegate_event

OLD = ("yusra@example.org", "+9647701234567")
RECENT = ("salma@example.org", "+9647709876543")


@pytest.fixture
def session(notifications_db):
    factory, close = rollback_factory(notifications_db.engine)
    with factory() as session:
        yield session
    close()


def _everything(session) -> str:
    rows = []
    for table in Base.metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in session.execute(select(table))]
    return "\n".join(rows)


def test_purge_drops_addresses_and_messages_and_keeps_delivery_figures(session):
    operations.record_delegate_event(session, delegate_event(channel="both"))
    recent = delegate_event(
        channel="both",
        badge_id=8,
        event_id=2,
        days=("2999-01-01",),
        email=RECENT[0],
        phone=RECENT[1],
    )
    operations.record_delegate_event(session, recent)
    session.commit()
    before = _everything(session)
    assert all(value in before for value in OLD + RECENT)
    by_id = select(Delivery.channel, Delivery.status).order_by(Delivery.id)
    statuses = session.execute(by_id).all()

    counts = purge(session, cutoff(180))
    session.commit()
    assert counts == {"deliveries": 2, "recipients": 1}
    after = _everything(session)
    assert [value for value in OLD if value in after] == []
    assert all(value in after for value in RECENT)
    assert session.execute(by_id).all() == statuses
    assert session.scalar(select(func.count()).select_from(Delivery)) == 4

    assert purge(session, cutoff(180)) == {"deliveries": 0, "recipients": 0}
