"""Attendance by agency, day, category and gender against a generated event's known history."""

from __future__ import annotations

from collections import defaultdict

import pytest

from services.checkin.models import EventInfo
from services.checkin.operations import attendance, attendees
from tests.services.checkin.conftest import EVENT_ID
from tests.services.checkin.generated_event import Generated, generate

BREAKDOWNS = [
    ("agency",),
    ("day",),
    ("category",),
    ("gender",),
    ("agency", "day"),
    ("category", "gender"),
    ("day", "agency", "gender"),
]


@pytest.fixture
def world(session) -> Generated:
    return generate(session)


def scope(session, agencies=None) -> attendance.Scope:
    return attendance.Scope(session.get(EventInfo, EVENT_ID), agencies)


def expected(world: Generated, by, agencies=None) -> dict:
    """The figures, counted person by person from what happened (not from the database)."""
    rows = defaultdict(lambda: [0, 0, 0, None, None])
    for person in world.people:
        if agencies is not None and person.agency_id not in agencies:
            continue
        for day in world.days if "day" in by else [None]:
            values = {"agency": person.agency_id, "category": person.category}
            values |= {"gender": person.gender, "day": day.isoformat() if day else None}
            row = rows[tuple(values[d] for d in by)]
            if person.status == "cancelled":
                row[1] += 1
                continue
            row[0] += 1
            times = [
                world.arrived[(person.badge_id, d)]
                for d in ([day] if day else world.days)
                if (person.badge_id, d) in world.arrived
            ]
            if times:
                row[2] += 1
                row[3] = min([*times, *([row[3]] if row[3] else [])])
                row[4] = max([*times, *([row[4]] if row[4] else [])])
    return {key: tuple(row) for key, row in rows.items()}


def key_of(row: dict, by) -> tuple:
    names = {"agency": lambda a: a["id"], "category": lambda c: c["code"]}
    return tuple(names.get(d, lambda v: v)(row[d]) for d in by)


def got(report: dict) -> dict:
    by = report["by"]
    return {
        key_of(row, by): (
            row["registered"],
            row["cancelled"],
            row["attended"],
            row["first_arrival"],
            row["last_arrival"],
        )
        for row in report["rows"]
        if row["registered"] or row["cancelled"]
    }


@pytest.mark.parametrize("by", BREAKDOWNS, ids=",".join)
def test_every_breakdown_matches_the_history(session, world, by):
    report = attendance.report(session, scope(session), by)
    assert got(report) == expected(world, by)
    for row in report["rows"]:
        assert row["no_shows"] == row["registered"] - row["attended"]


def test_totals_count_each_delegate_once_over_all_days(session, world):
    totals = attendance.report(session, scope(session), ("day",))["totals"]
    active = [p for p in world.people if p.status == "active"]
    came = {badge for badge, _ in world.arrived}
    assert totals["registered"] == len(active)
    assert totals["cancelled"] == len(world.people) - len(active)
    assert totals["attended"] == len(came)
    assert totals["attendance_rate"] == round(len(came) / len(active), 3)
    assert totals["first_arrival"] == min(world.arrived.values())
    assert totals["quota"] == sum(a["quota"] for a in world.agencies if a["quota"] is not None)


def test_agencies_without_delegates_are_listed_with_their_quota(session, world):
    rows = attendance.report(session, scope(session), ("agency", "day"))["rows"]
    assert len(rows) == len(world.agencies) * len(world.days)
    empty = [r for r in rows if r["agency"]["code"] == "AG11"]
    assert [(r["quota"], r["registered"], r["attendance_rate"]) for r in empty] == [
        (19, 0, None)
    ] * 3


def test_a_focal_point_scope_sees_only_its_agencies(session, world):
    mine = (101, 103)
    report = attendance.report(session, scope(session, mine), ("agency", "gender"))
    assert {row["agency"]["id"] for row in report["rows"]} == set(mine)
    assert got(report) == expected(world, ("agency", "gender"), mine)


def test_no_shows_are_the_active_delegates_who_never_came(session, world):
    came = {badge for badge, _ in world.arrived}
    never = sorted(
        p.badge_id for p in world.people if p.status == "active" and p.badge_id not in came
    )
    people = attendees.no_shows(session, scope(session))
    assert sorted(p["badge_id"] for p in people) == never
    assert "email" not in people[0]
    day = world.days[1]
    absent = attendees.no_shows(session, scope(session), agency_id=101, day=day, contact=True)
    assert sorted(p["badge_id"] for p in absent) == sorted(
        p.badge_id
        for p in world.people
        if p.agency_id == 101 and p.status == "active" and (p.badge_id, day) not in world.arrived
    )
    assert all(p["email"] for p in absent)


def test_inside_now_follows_entries_exits_and_reentries(session, world):
    inside = attendees.inside_now(session, scope(session))
    assert sorted(p["badge_id"] for p in inside) == sorted(world.inside)


def test_arrivals_over_time_add_up_to_the_day_s_attendance(session, world):
    day = world.days[0]
    series = attendees.arrivals(session, scope(session), day, minutes=30)
    attended = sum(1 for (_, d) in world.arrived if d == day)
    assert series[-1]["cumulative"] == attended == sum(b["arrivals"] for b in series)
    assert all(b["at"].minute in (0, 30) for b in series)
    assert series[0]["at"].utcoffset().total_seconds() == 3 * 3600
