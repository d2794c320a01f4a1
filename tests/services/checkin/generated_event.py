"""A generated three-day event for attendance reports, and a record of what really happened.

Many agencies (two with nobody registered), cancellations, reissued badges, repeated scans, exits
and re-entries, a hall list beside a day list, and mistaken check-ins that were undone. Past days
are written as check-in rows (then the attendance tallies rebuilt); today goes through the real
scanning path, which keeps the tallies itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.checkin import operations
from services.checkin.domain import local_date
from services.checkin.models import Checkin, CheckinList
from services.checkin.operations import tallies
from shared.db import utcnow
from tests.services.checkin.conftest import EVENT_ID, KEYRING, nonce, roster_event, token

ZONE = ZoneInfo("Asia/Baghdad")
CATEGORIES = [
    {"code": "DELEGATE", "name_ar": "مندوب", "name_en": "Delegate", "color": "#1f6feb"},
    {"code": "SPEAKER", "name_ar": "متحدث", "name_en": "Speaker", "color": "#8250df"},
    {"code": "PRESS", "name_ar": "إعلام", "name_en": "Press", "color": "#bf8700"},
]
GENDERS = ("female", "male", "unspecified")


@dataclass
class Person:
    badge_id: int
    agency_id: int
    category: str
    gender: str
    status: str = "active"
    generation: int = 1
    name_ar: str = ""


@dataclass
class Generated:
    """The event as set up, its people, and who arrived when (the truth reports must tell)."""

    days: list[date]
    agencies: list[dict]
    people: list[Person]
    # (badge id, day) → first live arrival, for active delegates only.
    arrived: dict[tuple[int, date], datetime] = field(default_factory=dict)
    inside: set[int] = field(default_factory=set)

    def person(self, badge_id: int) -> Person:
        return next(p for p in self.people if p.badge_id == badge_id)


def agencies(count: int = 12) -> list[dict]:
    return [
        {
            "id": 100 + n,
            "code": f"AG{n:02d}",
            "name_ar": f"الجهة رقم {n}",
            "name_en": f"Agency {n}",
            "sector": ("government", "international", "civil_society")[n % 3],
            "governorate": None,
            "quota": None if n % 5 == 0 else 8 + n,
        }
        for n in range(1, count + 1)
    ]


def event_snapshot(days: list[date], agency_list: list[dict], sequence: int = 1) -> dict:
    """An `event.changed` payload for the generated event."""
    base = roster_event(1, days=[d.isoformat() for d in days])
    return {
        "schema_version": 1,
        "topic": "event.changed",
        "message_id": nonce(),
        "occurred_at": utcnow().isoformat(),
        "sequence": sequence,
        "event": base["event"],
        "agencies": agency_list,
        "categories": CATEGORIES,
    }


def generate(session, seed: int = 7) -> Generated:
    """Write the generated event into the check-in database and return what happened."""
    rng = random.Random(seed)
    today = local_date(utcnow(), "Asia/Baghdad")
    days = [today - timedelta(days=2), today - timedelta(days=1), today]
    agency_list = agencies()
    operations.apply_event_snapshot(session, event_snapshot(days, agency_list))
    people = _people(rng, agency_list[:-2])  # the last two agencies register nobody
    for person in people:
        operations.apply_roster_event(session, _roster_event(person, agency_list, days))
    world = Generated(days, agency_list, people)
    lists = _lists(session, days)
    for index, day in enumerate(days[:2]):
        _past_day(session, rng, world, lists, day, index)
    # Past days' rows were written directly, as a restore would: recount as the rebuild does.
    tallies.rebuild(session, EVENT_ID)
    session.commit()
    _today(session, rng, world, lists[today])
    return world


def _people(rng: random.Random, agency_list: list[dict]) -> list[Person]:
    people, badge = [], 1
    for agency in agency_list:
        for _ in range(rng.randint(4, 16)):
            person = Person(
                badge, agency["id"], rng.choice(CATEGORIES)["code"], rng.choice(GENDERS)
            )
            person.status = "cancelled" if rng.random() < 0.12 else "active"
            person.generation = 2 if rng.random() < 0.15 else 1
            person.name_ar = f"مشارك {badge}"
            people.append(person)
            badge += 1
    return people


def _roster_event(person: Person, agency_list: list[dict], days: list[date]) -> dict:
    agency = next(a for a in agency_list if a["id"] == person.agency_id)
    category = next(c for c in CATEGORIES if c["code"] == person.category)
    payload = roster_event(
        person.badge_id,
        version=2,
        generation=person.generation,
        status=person.status,
        name_ar=person.name_ar,
        name_en=f"Delegate {person.badge_id}",
        days=[d.isoformat() for d in days],
    )
    names = ("id", "code", "name_ar", "name_en")
    payload["delegate"]["agency"] = {name: agency[name] for name in names}
    payload["delegate"]["category"] = category
    payload["delegate"]["gender"] = person.gender
    return payload


def _lists(session, days: list[date]) -> dict:
    """The day lists the snapshot created, and a speakers' hall on the second day."""
    query = select(CheckinList).where(CheckinList.event_id == EVENT_ID)
    lists = {item.day: item for item in session.scalars(query)}
    hall = CheckinList(
        event_id=EVENT_ID,
        name_ar="القاعة",
        name_en="Hall",
        day=days[1],
        categories=["SPEAKER"],
        created_at=utcnow(),
    )
    session.add(hall)
    session.commit()
    lists["hall"] = hall
    return lists


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(8, 0), ZONE).astimezone(UTC) + timedelta(minutes=minute)


def _past_day(session, rng, world: Generated, lists: dict, day: date, index: int) -> None:
    """Check-in rows of a past day: attendance, hall visits, and undone mistakes."""
    for person in world.people:
        came = rng.random() < (0.65 if person.status == "active" else 0.3)
        minute = rng.randint(0, 240)
        if came and index == 1 and person.category == "SPEAKER" and rng.random() < 0.3:
            _row(session, lists["hall"], person, _at(day, minute))  # in the hall only
        elif came:
            _attend(session, rng, lists[day], person, _at(day, minute))
            if index == 1 and person.category == "SPEAKER":
                _row(session, lists["hall"], person, _at(day, minute + 30))
        elif rng.random() < 0.1:  # checked in by mistake, then undone: not there
            _undo(session, _row(session, lists[day], person, _at(day, minute)))
            continue
        if came and person.status == "active":
            world.arrived[(person.badge_id, day)] = _at(day, minute)
    session.commit()


def _attend(session, rng, day_list, person: Person, at: datetime) -> None:
    """A day-list arrival; sometimes an earlier mistaken check-in was undone first."""
    if rng.random() < 0.1:
        _undo(session, _row(session, day_list, person, at - timedelta(minutes=20)))
    _row(session, day_list, person, at)


def _row(session, checkin_list, person: Person, at: datetime) -> Checkin:
    row = Checkin(
        event_id=EVENT_ID,
        list_id=checkin_list.id,
        badge_id=person.badge_id,
        gate="main",
        checked_in_at=at,
        inside=False,
        last_movement_at=at,
    )
    session.add(row)
    session.flush()
    return row


def _undo(session, row: Checkin) -> None:
    session.commit()
    operations.undo_checkin(session, row.id, "wrong person", "test-organizer")


def _today(session, rng, world: Generated, today_list) -> None:
    """Today through the scanning path: old badges, repeats, exits, re-entries, cancelled."""
    for person in world.people:
        if rng.random() >= 0.6:
            continue
        if person.generation == 2:
            _scan(session, today_list, token(person.badge_id, generation=1))  # revoked
        answer = _scan(session, today_list, token(person.badge_id, person.generation))
        if answer["status"] != "ok":
            continue
        at = datetime.fromisoformat(answer["recorded_at"])
        world.arrived[(person.badge_id, today_list.day)] = at
        world.inside.add(person.badge_id)
        if rng.random() < 0.3:
            _scan(session, today_list, token(person.badge_id, person.generation))  # repeat
        if rng.random() < 0.3:
            _scan(session, today_list, token(person.badge_id, person.generation), "exit")
            world.inside.discard(person.badge_id)
            if rng.random() < 0.5:
                _scan(session, today_list, token(person.badge_id, person.generation))
                world.inside.add(person.badge_id)


def _scan(session, checkin_list, badge_token: str, direction: str = "entry") -> dict:
    request = operations.ScanRequest(
        list_id=checkin_list.id, nonce=nonce(), gate="north", direction=direction, token=badge_token
    )
    return operations.scan(session, KEYRING.public_keys(), request)
