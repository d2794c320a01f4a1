"""The event set-up replica: agencies with quotas and categories from `event.changed`."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from services.checkin import operations
from services.checkin.models import Agency, Category, CheckinList, EventInfo
from tests.services.checkin.conftest import EVENT_ID, roster_event
from tests.services.checkin.generated_event import agencies, event_snapshot

DAYS = [date(2023, 2, 12), date(2023, 2, 13)]


def agency_codes(session) -> list[tuple[str, int | None]]:
    query = select(Agency.code, Agency.quota).where(Agency.event_id == EVENT_ID)
    return sorted(tuple(row) for row in session.execute(query))


def test_a_snapshot_brings_agencies_without_delegates_and_categories(session):
    assert operations.apply_event_snapshot(session, event_snapshot(DAYS, agencies(3)))
    assert agency_codes(session) == [("AG01", 9), ("AG02", 10), ("AG03", 11)]
    codes = session.scalars(select(Category.code).where(Category.event_id == EVENT_ID))
    assert sorted(codes) == ["DELEGATE", "PRESS", "SPEAKER"]
    lists = session.scalars(select(CheckinList.day).where(CheckinList.event_id == EVENT_ID))
    assert sorted(lists) == DAYS


def test_a_later_snapshot_replaces_and_an_older_one_is_ignored(session):
    operations.apply_event_snapshot(session, event_snapshot(DAYS, agencies(3), sequence=5))
    changed = agencies(2)
    changed[0]["quota"] = 40
    assert operations.apply_event_snapshot(session, event_snapshot(DAYS, changed, sequence=9))
    assert not operations.apply_event_snapshot(session, event_snapshot(DAYS, agencies(3), 7))
    assert agency_codes(session) == [("AG01", 40), ("AG02", 10)]
    assert session.get(EventInfo, EVENT_ID).setup_sequence == 9


def test_a_new_day_gets_its_list_and_roster_events_keep_the_set_up(session):
    operations.apply_event_snapshot(session, event_snapshot(DAYS[:1], agencies(1)))
    operations.apply_event_snapshot(session, event_snapshot(DAYS, agencies(1), sequence=2))
    operations.apply_roster_event(session, roster_event(1))
    lists = session.scalars(select(CheckinList.name_en).order_by(CheckinList.day))
    assert list(lists) == ["Day 1 — 2023-02-12", "Day 2 — 2023-02-13"]
    assert agency_codes(session) == [("AG01", 9)]


def test_rebuilding_from_registration_s_snapshot_restores_the_set_up(session):
    setup = event_snapshot(DAYS, agencies(4), sequence=3)
    snapshot = {"event_id": EVENT_ID, "event_snapshot": setup, "delegates": [roster_event(1)]}
    assert operations.rebuild_from_snapshot(session, snapshot) == 1
    assert len(agency_codes(session)) == 4
