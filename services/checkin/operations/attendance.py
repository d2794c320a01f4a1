"""Attendance by agency: the one query layer behind the API, the dashboard and the exports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, select, text
from sqlalchemy.orm import Session

from services.checkin import figures
from services.checkin.models import (
    Agency,
    AttendanceCell,
    AttendanceCellDay,
    Category,
    Checkin,
    CheckinList,
    EventInfo,
    RosterEntry,
)
from shared.db import utcnow

ACTIVE, CANCELLED = "active", "cancelled"
DIMENSIONS = ("agency", "category", "gender")
# Report dimensions by the kept tallies' column names.
TALLY = {"agency": "agency_id", "category": "category_code", "gender": "gender"}


@dataclass(frozen=True)
class Scope:
    """What a caller may see of an event: every agency (None) or only these."""

    event: EventInfo
    agencies: tuple[int, ...] | None = None

    def only_visible(self, query, column=RosterEntry.agency_id):
        """Restrict a query to the visible agencies."""
        return query if self.agencies is None else query.where(column.in_(self.agencies))


def event_days(session: Session, event: EventInfo) -> list[date]:
    """The event's days and any other day a check-in list is for, in order."""
    listed = select(CheckinList.day).where(
        CheckinList.event_id == event.id, CheckinList.day.is_not(None)
    )
    days = {date.fromisoformat(str(d)) for d in event.days} | set(session.scalars(listed))
    return sorted(days)


def live_by_badge(session: Session, scope: Scope, days: Sequence[date]):
    """Per badge with a live check-in: its first arrival on each day (columns d0, d1, ...)."""
    # The lists of each day by id: the check-ins index alone answers, with no join per row.
    query = select(CheckinList.day, CheckinList.id).where(CheckinList.event_id == scope.event.id)
    lists: dict[date, list[int]] = {}
    for day, list_id in session.execute(query):
        lists.setdefault(day, []).append(list_id)
    firsts = [
        func.min(case((Checkin.list_id.in_(lists.get(day, [-1])), Checkin.checked_in_at))).label(
            f"d{index}"
        )
        for index, day in enumerate(days)
    ]
    query = (
        select(Checkin.badge_id, *firsts)
        .where(Checkin.event_id == scope.event.id, Checkin.undone_at.is_(None))
        .group_by(Checkin.badge_id)
    )
    if scope.agencies is not None:
        visible = scope.only_visible(select(RosterEntry.badge_id))
        query = query.where(Checkin.badge_id.in_(visible))
    return query.subquery()


def cells(session: Session, scope: Scope, by: Sequence[str] = DIMENSIONS) -> list[figures.Cell]:
    """Registered, cancelled and attended per agency, category and gender (those in `by`)."""
    keys = [name for name in TALLY if name in by]
    found: dict[tuple, figures.Cell] = {}
    for row in session.execute(_tallied(scope, keys)):
        values = dict(zip(keys, row, strict=False))
        found[tuple(row[: len(keys)])] = figures.Cell(*map(values.get, TALLY), *row[len(keys) :])
    for row in session.execute(_tallied_days(scope, keys)):
        day, count, first, last = row[len(keys) :]
        cell = found[tuple(row[: len(keys)])]
        cell.days[day.isoformat()] = figures.DayFigure(count, first, last)
    return list(found.values())


def _tallied(scope: Scope, keys: list[str]):
    """The kept totals, summed by `keys` (cells nobody belongs to any more left out)."""
    t = AttendanceCell
    group = [getattr(t, TALLY[name]) for name in keys]
    sums = [func.sum(t.registered), func.sum(t.cancelled), func.sum(t.attended)]
    query = select(*group, *sums).where(t.event_id == scope.event.id).group_by(*group)
    query = query.having(func.sum(t.registered) + func.sum(t.cancelled) > 0)
    return scope.only_visible(query, t.agency_id)


def _tallied_days(scope: Scope, keys: list[str]):
    """The kept days, summed by `keys` and day."""
    d = AttendanceCellDay
    group = [getattr(d, TALLY[name]) for name in keys]
    sums = [func.sum(d.attended), func.min(d.first_arrival), func.max(d.last_arrival)]
    query = select(*group, d.day, *sums).where(d.event_id == scope.event.id)
    return scope.only_visible(query.group_by(*group, d.day), d.agency_id)


def serial_plan(session: Session) -> None:
    """Plan this transaction's report queries without parallel workers (PostgreSQL)."""
    # A parallel plan rebuilds the per-badge hash in every worker: 3× the work, 5× slower here.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def agencies(session: Session, scope: Scope, seen: set[int]) -> dict[int, dict]:
    """Agencies by id: every one of the set-up, and any the roster knows that it lacks."""
    a = Agency
    query = select(a.id, a.code, a.name_ar, a.name_en, a.sector, a.quota)
    query = scope.only_visible(query.where(a.event_id == scope.event.id), a.id)
    found = {row.id: dict(row._mapping) for row in session.execute(query)}
    missing = seen - set(found)
    if missing:
        r = RosterEntry
        names = select(r.agency_id, r.agency_code, r.agency_name_ar, r.agency_name_en).where(
            r.event_id == scope.event.id, r.agency_id.in_(missing)
        )
        for row in session.execute(names.distinct()):
            found.setdefault(row[0], _agency_names(*row))
    return dict(sorted(found.items(), key=lambda item: item[1]["code"]))


def _agency_names(agency_id, code, name_ar, name_en) -> dict:
    return {"id": agency_id, "code": code, "name_ar": name_ar, "name_en": name_en}


def categories(session: Session, scope: Scope, seen: set[str]) -> dict[str, dict]:
    """Categories by code: the set-up's, and any the roster knows that it lacks."""
    query = select(Category).where(Category.event_id == scope.event.id)
    found = {
        c.code: {"code": c.code, "name_ar": c.name_ar, "name_en": c.name_en}
        for c in session.scalars(query)
    }
    missing = seen - set(found)
    if missing:
        r = RosterEntry
        names = select(r.category_code, r.category_name_ar, r.category_name_en).where(
            r.event_id == scope.event.id, r.category_code.in_(missing)
        )
        for code, name_ar, name_en in session.execute(names.distinct()):
            found.setdefault(code, {"code": code, "name_ar": name_ar, "name_en": name_en})
    return dict(sorted(found.items()))


def report(session: Session, scope: Scope, by: Sequence[str]) -> dict:
    """Attendance of an event broken down `by` agency, day, category and/or gender."""
    days = event_days(session, scope.event)
    found = cells(session, scope, by)
    agency_info = agencies(session, scope, {c.agency_id for c in found} - {None})
    category_info = categories(session, scope, {c.category for c in found} - {None})
    domains = {
        "agency": list(agency_info),
        "day": [d.isoformat() for d in days],
        "category": list(category_info),
        "gender": figures.gender_order({c.gender for c in found} - {None}),
    }
    quotas = {agency_id: info.get("quota") for agency_id, info in agency_info.items()}
    rows = figures.breakdown(found, by, domains, quotas)
    labels = {"agency": agency_info, "category": category_info}
    zone = ZoneInfo(scope.event.timezone)
    return {
        "event": event_view(scope.event, days),
        "by": list(by),
        "generated_at": utcnow().astimezone(zone),
        "totals": _local(_totals(found, quotas), zone),
        "rows": [_labelled(row, labels, zone) for row in rows],
    }


def _totals(found: list[figures.Cell], quotas: dict) -> dict:
    defined = [q for q in quotas.values() if q is not None]
    return figures.figures(figures.total(found), None, sum(defined) if defined else None)


def _labelled(row: dict, labels: dict, zone: ZoneInfo) -> dict:
    """A row with its dimension values spelled out (agency and category names)."""
    values = row.pop("values")
    named = {d: labels[d][v] if d in labels else v for d, v in values.items()}
    return {**named, **_local(row, zone)}


def _local(row: dict, zone: ZoneInfo) -> dict:
    for name in ("first_arrival", "last_arrival"):
        if isinstance(row.get(name), datetime):
            row[name] = row[name].astimezone(zone)
    return row


def event_view(event: EventInfo, days: Sequence[date]) -> dict:
    """The event as reports show it."""
    return {
        "id": event.id,
        "slug": event.slug,
        "name_ar": event.name_ar,
        "name_en": event.name_en,
        "timezone": event.timezone,
        "days": [d.isoformat() for d in days],
    }


def attended_on(event_id: int, day: date | None):
    """A condition: the roster entry has a live check-in (on a list of `day`, if given)."""
    condition = exists().where(
        Checkin.badge_id == RosterEntry.badge_id,
        Checkin.event_id == event_id,
        Checkin.undone_at.is_(None),
    )
    if day is not None:
        on_day = select(CheckinList.id).where(
            CheckinList.event_id == event_id, CheckinList.day == day
        )
        condition = condition.where(Checkin.list_id.in_(on_day))
    return condition
