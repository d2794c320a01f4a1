"""Set-up changes (event, agencies, categories) reach check-in as `event.changed` snapshots."""

from __future__ import annotations

from sqlalchemy import select

from services.registration import operations
from services.registration.demo import load_demo
from services.registration.models import OutboxMessage
from services.registration.operations.snapshot import roster_snapshot
from services.registration.schemas import RegistrationSchema
from shared.contracts import CONSUMERS_BY_TOPIC, EventSnapshotSchema
from tests.services.registration.conftest import delegate


def snapshots(session) -> list[dict]:
    query = select(OutboxMessage).where(OutboxMessage.topic == "event.changed")
    return [m.payload for m in session.scalars(query.order_by(OutboxMessage.id))]


def test_loading_the_demo_announces_its_whole_set_up_once(session):
    load_demo(session)
    session.commit()
    [snapshot] = snapshots(session)
    assert EventSnapshotSchema().validate(snapshot) == {}
    assert snapshot["event"]["days"] == ["2023-02-12"]
    assert len(snapshot["agencies"]) == 18
    iwed = next(a for a in snapshot["agencies"] if a["code"] == "IWED")
    assert (iwed["quota"], iwed["sector"]) == (20, "government")
    assert {c["code"] for c in snapshot["categories"]} >= {"DELEGATE", "SPEAKER"}
    assert CONSUMERS_BY_TOPIC["event.changed"] == ("checkin.apply_event_snapshot",)


def test_each_committed_change_announces_a_later_snapshot(session, demo_event):
    operations.add_agency(
        session,
        demo_event,
        {"code": "NEW", "name_ar": "جهة جديدة", "name_en": "New body", "sector": "other"},
    )
    session.commit()
    agency = operations.get_agency(session, demo_event, "IWED")
    operations.update_agency(session, agency, {"quota": 25})
    session.commit()
    first, added, changed = snapshots(session)
    assert first["sequence"] < added["sequence"] < changed["sequence"]
    assert "NEW" in {a["code"] for a in added["agencies"]}
    assert next(a["quota"] for a in changed["agencies"] if a["code"] == "IWED") == 25


def test_a_snapshot_never_holds_delegates(session, ctx, demo_event):
    data = RegistrationSchema().load(delegate())
    operations.register_delegate(session, ctx, demo_event, data)
    session.commit()
    assert len(snapshots(session)) == 1


def test_the_roster_snapshot_carries_the_latest_set_up(session, ctx, demo_event):
    snapshot = roster_snapshot(session, ctx, demo_event)
    setup = snapshot["event_snapshot"]
    assert EventSnapshotSchema().validate(setup) == {}
    assert setup["sequence"] == snapshots(session)[-1]["sequence"]
    assert len(setup["agencies"]) == 18
