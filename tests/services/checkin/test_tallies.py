"""Attendance tallies kept by scans, undos and roster changes equal a rebuild from the rows."""

from __future__ import annotations

import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from services.checkin import operations
from services.checkin.models import AttendanceCell, AttendanceCellDay, Checkin, EventInfo
from services.checkin.operations import ScanRequest, attendance, tallies
from shared.db import utcnow
from tests.services.checkin.conftest import EVENT_ID, KEYRING, nonce, roster_event, token
from tests.services.checkin.generated_event import generate
from tests.services.checkin.test_concurrency import _prepare

MIGRATION = Path("services/checkin/migrations/versions/0006_attendance_tallies.py")
DOORS = 16


def kept(session) -> tuple[set, set]:
    """Every cell anybody belongs to, and every day row, as plain tuples."""
    c, d = AttendanceCell, AttendanceCellDay
    cells = session.execute(
        select(c.event_id, c.agency_id, c.category_code, c.gender, c.registered, c.cancelled)
        .add_columns(c.attended)
        .where(c.registered + c.cancelled > 0)
    )
    days = session.execute(
        select(d.event_id, d.agency_id, d.category_code, d.gender, d.day, d.attended).add_columns(
            d.first_arrival, d.last_arrival
        )
    )
    return set(map(tuple, cells)), set(map(tuple, days))


def assert_kept_as_rebuilt(session) -> tuple[set, set]:
    """The kept tallies equal a rebuild from the roster and check-ins (which is rolled back)."""
    session.commit()
    before = kept(session)
    tallies.rebuild(session, EVENT_ID)
    rebuilt = kept(session)
    session.rollback()
    assert before == rebuilt
    return before


def scan(session, list_id: int, badge_id: int, direction="entry", **extra) -> dict:
    request = ScanRequest(
        list_id=list_id, nonce=nonce(), gate="main", direction=direction, token=token(badge_id)
    )
    request = ScanRequest(**{**request.__dict__, **extra})
    return operations.scan(session, KEYRING.public_keys(), request)


def report_row(session, agency_id: int) -> dict:
    report = attendance.report(
        session, attendance.Scope(session.get(EventInfo, EVENT_ID)), ("agency",)
    )
    return next((r for r in report["rows"] if r["agency"]["id"] == agency_id), {})


def test_the_generated_event_s_kept_tallies_equal_a_rebuild(session):
    generate(session)  # today's scans and undos keep the tallies after the past days' rebuild
    cells, days = assert_kept_as_rebuilt(session)
    assert len(days) > len(cells) > 20


def test_scans_exits_repeats_and_undos_keep_the_tallies(session, today_list):
    assert scan(session, today_list.id, 1)["status"] == "ok"
    scan(session, today_list.id, 1)  # repeat
    scan(session, today_list.id, 1, "exit")
    scan(session, today_list.id, 1)  # re-entry
    assert scan(session, today_list.id, 2)["status"] == "ok"
    assert_kept_as_rebuilt(session)
    assert report_row(session, 1)["attended"] == 2
    checkin = session.scalar(select(Checkin).where(Checkin.badge_id == 2))
    operations.undo_checkin(session, checkin.id, "wrong person", "test")
    assert_kept_as_rebuilt(session)
    assert report_row(session, 1)["attended"] == 1


def test_an_offline_scan_with_an_earlier_time_is_the_first_arrival(session, today_list):
    now = utcnow()
    scan(session, today_list.id, 1)
    earlier = now - timedelta(minutes=40)
    answer = scan(session, today_list.id, 2, scanned_at=earlier, offline=True)
    assert answer["status"] == "ok"
    assert_kept_as_rebuilt(session)
    row = report_row(session, 1)
    assert row["first_arrival"] == earlier
    assert row["last_arrival"] >= now


def test_an_agency_change_moves_the_delegate_and_their_attendance(session, today_list):
    scan(session, today_list.id, 1)
    moved = roster_event(1, version=2, agency="MOE")
    moved["delegate"]["agency"]["id"] = 2
    operations.apply_roster_event(session, moved)
    assert_kept_as_rebuilt(session)
    assert (report_row(session, 1)["registered"], report_row(session, 1)["attended"]) == (2, 0)
    assert (report_row(session, 2)["registered"], report_row(session, 2)["attended"]) == (1, 1)
    operations.apply_roster_event(session, roster_event(1, version=1))  # older: ignored
    assert report_row(session, 2)["attended"] == 1


def test_cancellation_and_reissue_keep_the_tallies(session, today_list):
    scan(session, today_list.id, 1)
    scan(session, today_list.id, 2)
    operations.apply_roster_event(session, roster_event(1, version=2, status="cancelled"))
    operations.apply_roster_event(session, roster_event(2, version=2, generation=2))
    assert_kept_as_rebuilt(session)
    row = report_row(session, 1)
    assert (row["registered"], row["cancelled"], row["attended"]) == (2, 1, 1)  # badge 3 too


def test_the_roster_rebuild_recounts_the_tallies(session, today_list):
    scan(session, today_list.id, 1)
    operations.rebuild_roster(session, EVENT_ID, [roster_event(1, version=3, agency="MOE")])
    assert_kept_as_rebuilt(session)
    row = report_row(session, 1)
    assert (row["registered"], row["attended"]) == (1, 1)
    assert {
        r["agency"]["id"]
        for r in attendance.report(
            session, attendance.Scope(session.get(EventInfo, EVENT_ID)), ("agency",)
        )["rows"]
        if r["registered"]
    } == {1}


def test_the_migration_counts_what_a_rebuild_counts(session):
    generate(session)
    spec = importlib.util.spec_from_file_location("tallies_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    expected = assert_kept_as_rebuilt(session)
    session.execute(AttendanceCellDay.__table__.delete())
    session.execute(AttendanceCell.__table__.delete())
    session.execute(text(migration.CELLS))
    session.execute(text(migration.DAYS))
    assert kept(session) == expected


@pytest.mark.parametrize("direction", ["entry", "undo"])
def test_parallel_scans_and_undos_in_one_cell_keep_exact_tallies(committing_factory, direction):
    list_id = _prepare(committing_factory)  # badge 1 and a list for today
    with committing_factory() as session:
        for badge in range(2, DOORS + 1):
            operations.apply_roster_event(session, roster_event(badge))
        if direction == "undo":
            for badge in range(1, DOORS + 1):
                scan(session, list_id, badge)
    ids = {}
    with committing_factory() as session:
        ids = dict(session.execute(select(Checkin.badge_id, Checkin.id)).all())
    barrier = threading.Barrier(DOORS)

    def door(badge: int) -> None:
        barrier.wait()
        with committing_factory() as session:
            if direction == "entry":
                assert scan(session, list_id, badge)["status"] == "ok"
            else:
                operations.undo_checkin(session, ids[badge], "mistake", "test")

    with ThreadPoolExecutor(max_workers=DOORS) as pool:
        list(pool.map(door, range(1, DOORS + 1)))
    with committing_factory() as session:
        cells, days = assert_kept_as_rebuilt(session)
        attended = DOORS if direction == "entry" else 0
        assert [cell[-1] for cell in cells] == [attended]
        assert [day[5] for day in days] == ([DOORS] if attended else [])
