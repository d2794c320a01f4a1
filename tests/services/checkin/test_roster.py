"""The roster replica: ordered, idempotent, and rebuildable from a snapshot."""

from sqlalchemy import select

from services.checkin import operations
from services.checkin.models import CheckinList, RosterEntry
from tests.services.checkin.conftest import EVENT_ID, roster_event


def state(session) -> list[tuple]:
    return [
        (e.badge_id, e.version, e.generation, e.status, e.full_name_ar, e.name_key)
        for e in operations.roster_of(session, EVENT_ID)
    ]


def test_a_new_event_gets_one_list_per_day(session):
    operations.apply_roster_event(session, roster_event(1, days=("2023-02-12", "2023-02-13")))
    lists = session.scalars(select(CheckinList).order_by(CheckinList.day)).all()
    assert [(day.name_en, day.categories) for day in lists] == [
        ("Day 1 — 2023-02-12", None),
        ("Day 2 — 2023-02-13", None),
    ]


def test_an_older_event_never_overwrites_a_newer_one(session):
    assert operations.apply_roster_event(session, roster_event(1, version=3, status="cancelled"))
    assert not operations.apply_roster_event(session, roster_event(1, version=2))
    assert session.get(RosterEntry, 1).status == "cancelled"


def test_the_same_event_applied_twice_changes_nothing(session):
    event = roster_event(1, version=2, generation=2)
    operations.apply_roster_event(session, event)
    before = state(session)
    assert not operations.apply_roster_event(session, event)
    assert state(session) == before


def test_rebuild_from_a_snapshot_gives_the_roster_incremental_sync_gives(session):
    history = [
        roster_event(1),
        roster_event(2),
        roster_event(1, version=2, generation=2),
        roster_event(3),
        roster_event(2, version=2, status="cancelled"),
        roster_event(3, version=2, name_ar="اسم مصحح"),
    ]
    for event in reversed(history):  # out of order on purpose
        operations.apply_roster_event(session, event)
    incremental = state(session)
    latest = {}
    for event in history:
        latest[event["delegate"]["badge_id"]] = event
    operations.rebuild_roster(session, EVENT_ID, list(latest.values()))
    assert state(session) == incremental


def test_rebuild_drops_badges_no_longer_in_registration(session):
    operations.apply_roster_event(session, roster_event(1))
    operations.apply_roster_event(session, roster_event(9))
    operations.rebuild_roster(session, EVENT_ID, [roster_event(1)])
    assert [e.badge_id for e in operations.roster_of(session, EVENT_ID)] == [1]
