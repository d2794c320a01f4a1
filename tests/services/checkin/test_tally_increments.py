"""A new check-in adds itself to the kept tallies (or recounts) and they still equal a rebuild."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from services.checkin import operations
from services.checkin.domain import local_date
from services.checkin.models import Checkin, CheckinList
from services.checkin.operations import ScanRequest
from shared.db import utcnow
from tests.services.checkin.conftest import KEYRING, nonce, roster_event, token
from tests.services.checkin.test_concurrency import _prepare
from tests.services.checkin.test_tallies import assert_kept_as_rebuilt, report_row, scan

ZONE = "Asia/Baghdad"
BADGES, LISTS = 2, 8


def add_list(session, day: date | None) -> int:
    """A check-in list of event 1 for `day` (None: any day), admitting every category."""
    checkin_list = CheckinList(
        event_id=1, name_ar="قائمة", name_en="List", day=day, categories=None, created_at=utcnow()
    )
    session.add(checkin_list)
    session.commit()
    return checkin_list.id


def today() -> date:
    return local_date(utcnow(), ZONE)


def last_minute_of_yesterday() -> datetime:
    """A moment of yesterday (local) that an offline scan made now may still claim."""
    at = datetime.combine(today(), time(), ZoneInfo(ZONE)) - timedelta(minutes=1)
    if utcnow() - at > timedelta(hours=23):
        pytest.skip("yesterday is too long ago for an offline scan")
    return at


def days_of(session) -> dict:
    """Per day of cell 1 (IWED delegates): attended, first and last arrival."""
    _, days = assert_kept_as_rebuilt(session)
    return {d[4]: d[5:] for d in days if d[1] == 1}


def test_a_second_day_counts_the_badge_once_in_totals_and_once_per_day(session, roster):
    yesterday = add_list(session, today() - timedelta(days=1))
    at = last_minute_of_yesterday()
    assert scan(session, yesterday, 1, scanned_at=at, offline=True)["status"] == "ok"
    assert scan(session, add_list(session, today()), 1)["status"] == "ok"
    assert report_row(session, 1)["attended"] == 1
    days = days_of(session)
    assert days[today() - timedelta(days=1)] == (1, at, at)
    assert days[today()][0] == 1


def test_a_list_without_a_day_counts_only_in_the_totals(session, roster):
    assert scan(session, add_list(session, None), 1)["status"] == "ok"
    assert report_row(session, 1)["attended"] == 1
    assert days_of(session) == {}
    assert scan(session, add_list(session, today()), 1)["status"] == "ok"
    assert report_row(session, 1)["attended"] == 1
    assert days_of(session)[today()][0] == 1


def test_two_lists_of_one_day_count_the_badge_s_first_arrival_only(session, roster):
    morning, hall = add_list(session, today()), add_list(session, today())
    now = utcnow()
    scan(session, morning, 1, scanned_at=now - timedelta(minutes=20), offline=True)
    scan(session, morning, 2)
    scan(session, hall, 1)  # later than badge 1's first arrival: nothing changes
    assert days_of(session)[today()][0] == 2
    # Badge 2's first arrival moves before badge 1's: the day's last arrival moves back too.
    scan(session, hall, 2, scanned_at=now - timedelta(minutes=30), offline=True)
    assert days_of(session)[today()] == (
        2,
        now - timedelta(minutes=30),
        now - timedelta(minutes=20),
    )
    assert report_row(session, 1)["attended"] == 2


def test_offline_scans_become_the_first_and_the_last_arrival(session, roster):
    operations.apply_roster_event(session, roster_event(4))  # in badges 1 and 2's cell
    day_list, now = add_list(session, today()), utcnow()
    for badge, minutes in ((1, 20), (2, 40), (4, 10)):
        scan(session, day_list, badge, scanned_at=now - timedelta(minutes=minutes), offline=True)
    row = report_row(session, 1)
    assert (row["first_arrival"], row["last_arrival"]) == (
        now - timedelta(minutes=40),
        now - timedelta(minutes=10),
    )
    assert days_of(session)[today()][0] == 3


def _doors(factory, jobs) -> None:
    """Run each job in its own session at the same moment."""
    barrier = threading.Barrier(len(jobs))

    def door(job) -> None:
        barrier.wait()
        with factory() as session:
            job(session)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        list(pool.map(door, jobs))


def _prepared(factory, day_lists: int, other_lists: int) -> list[int]:
    """Badges 1..BADGES on the roster; lists for today, then lists without a day."""
    with factory() as session:
        for badge in range(1, BADGES + 1):
            operations.apply_roster_event(session, roster_event(badge))
        days = [today()] * day_lists + [None] * other_lists
        return [add_list(session, day) for day in days]


def test_one_badge_scanned_on_many_lists_at_once_counts_once(committing_factory):
    lists = _prepared(committing_factory, LISTS // 2, LISTS // 2)
    pairs = [(b, list_id) for b in range(1, BADGES + 1) for list_id in lists]
    _doors(committing_factory, [lambda s, b=b, li=li: scan(s, li, b) for b, li in pairs])
    with committing_factory() as session:
        assert session.query(Checkin).count() == BADGES * LISTS
        cells, days = assert_kept_as_rebuilt(session)
        assert [cell[-1] for cell in cells] == [BADGES]
        assert [day[5] for day in days] == [BADGES]


def test_an_undo_and_a_scan_elsewhere_of_one_badge_at_once_keep_the_tallies(committing_factory):
    first, *others = _prepared(committing_factory, 2, LISTS - 2)
    with committing_factory() as session:
        for badge in range(1, BADGES + 1):
            scan(session, first, badge)
        undone = session.execute(select(Checkin.id)).scalars().all()
    jobs = [lambda s, c=c: operations.undo_checkin(s, c, "mistake", "test") for c in undone]
    jobs += [lambda s, li=li, b=b: scan(s, li, b) for li in others for b in range(1, BADGES + 1)]
    _doors(committing_factory, jobs)
    with committing_factory() as session:
        cells, days = assert_kept_as_rebuilt(session)
        assert [cell[-1] for cell in cells] == [BADGES]
        assert [day[5] for day in days] == [BADGES]


def test_agency_changes_and_first_scans_of_the_badges_at_once_keep_the_tallies(committing_factory):
    lists = _prepared(committing_factory, 2, 2)
    jobs = [lambda s, b=b: operations.apply_roster_event(s, _moved(b)) for b in (1, 2)]
    jobs += [lambda s, li=li, b=b: scan(s, li, b) for li in lists for b in (1, 2)]
    _doors(committing_factory, jobs)
    with committing_factory() as session:
        cells, _ = assert_kept_as_rebuilt(session)
        assert sum(cell[-1] for cell in cells) == BADGES


def _moved(badge: int) -> dict:
    """Badge's roster event moving it to agency 2 (another tally cell)."""
    moved = roster_event(badge, version=2, agency="MOE")
    moved["delegate"]["agency"]["id"] = 2
    return moved


def test_a_scan_waiting_for_a_roster_rebuild_finds_the_rebuilt_badge(
    checkin_db, committing_factory
):
    """The scan's read holds the badge's row: it waits for a rebuild that replaces the row, then
    must find the new row (ok), not answer a badge on both rosters as unknown."""
    if checkin_db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns from BEGIN IMMEDIATE: no read waits on a row")
    list_id = _prepare(committing_factory)
    rebuilt, release = threading.Event(), threading.Event()
    with (
        committing_factory() as rebuilder,
        committing_factory() as door,
        ThreadPoolExecutor(2) as pool,
    ):
        commit = rebuilder.commit

        def commit_when_released():
            rebuilt.set()
            release.wait()
            commit()

        rebuilder.commit = commit_when_released
        rebuild = pool.submit(operations.rebuild_roster, rebuilder, 1, [roster_event(1)])
        rebuilt.wait()  # the old row is deleted, the new one inserted, not yet committed
        request = ScanRequest(list_id=list_id, nonce=nonce(), gate="main", token=token(1))
        answer = pool.submit(operations.scan, door, KEYRING.public_keys(), request)
        _wait_for_a_lock_wait(checkin_db.engine)
        release.set()
        assert rebuild.result() == 1
        assert answer.result()["status"] == "ok"
    with committing_factory() as session:
        assert session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert_kept_as_rebuilt(session)


def _wait_for_a_lock_wait(engine) -> None:
    """Return once some session of the database waits for a lock (PostgreSQL)."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    with engine.connect() as connection:
        while not connection.execute(waiting).scalar():
            connection.rollback()
            threading.Event().wait(0.01)
