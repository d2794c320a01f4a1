"""People in attendance reports: no-shows, who is inside, every attendee, arrivals over time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, func, not_, select, text
from sqlalchemy.orm import Session

from services.checkin.models import AuditEntry, Checkin, CheckinList, RosterEntry
from services.checkin.operations.attendance import (
    ACTIVE,
    Scope,
    attended_on,
    live_by_badge,
    serial_plan,
)
from shared.db import utcnow

PERSON = (
    RosterEntry.badge_id,
    RosterEntry.full_name_ar,
    RosterEntry.full_name_en,
    RosterEntry.agency_id,
    RosterEntry.agency_code,
    RosterEntry.agency_name_ar,
    RosterEntry.agency_name_en,
    RosterEntry.category_code,
    RosterEntry.category_name_ar,
    RosterEntry.category_name_en,
    RosterEntry.gender,
)
CONTACT = (RosterEntry.email, RosterEntry.phone)
ORDER = (RosterEntry.agency_code, RosterEntry.name_key, RosterEntry.badge_id)


def no_shows(
    session: Session, scope: Scope, *, agency_id=None, day=None, contact=False
) -> list[dict]:
    """Active delegates with no live check-in (that day, or ever), by agency then name."""
    columns = PERSON + (CONTACT if contact else ())
    query = select(*columns).where(
        RosterEntry.event_id == scope.event.id,
        RosterEntry.status == ACTIVE,
        not_(attended_on(scope.event.id, day)),
    )
    if agency_id is not None:
        query = query.where(RosterEntry.agency_id == agency_id)
    query = scope.only_visible(query).order_by(*ORDER)
    return [dict(row._mapping) for row in session.execute(query)]


def inside_now(session: Session, scope: Scope, list_id: int | None = None) -> list[dict]:
    """Who is inside now (entered and not left), per list, latest movement first."""
    query = (
        select(*PERSON, Checkin.list_id, Checkin.gate, Checkin.last_movement_at.label("since"))
        .join(RosterEntry, RosterEntry.badge_id == Checkin.badge_id)
        .where(
            Checkin.event_id == scope.event.id,
            Checkin.undone_at.is_(None),
            Checkin.inside.is_(True),
        )
    )
    if list_id is not None:
        query = query.where(Checkin.list_id == list_id)
    query = scope.only_visible(query).order_by(Checkin.last_movement_at.desc(), Checkin.id)
    return [dict(row._mapping) for row in session.execute(query)]


def inside_count(session: Session, scope: Scope) -> int:
    """How many delegates are inside now (no names: the dashboard polls it)."""
    query = (
        select(func.count(func.distinct(Checkin.badge_id)))
        .join(RosterEntry, RosterEntry.badge_id == Checkin.badge_id)
        .where(
            Checkin.event_id == scope.event.id,
            Checkin.undone_at.is_(None),
            Checkin.inside.is_(True),
        )
    )
    return session.scalar(scope.only_visible(query))


def attendee_rows(
    session: Session, scope: Scope, days: Sequence[date], contact: bool = False
) -> Iterator[tuple]:
    """Every delegate of the event (cancelled too) with their first arrival on each day."""
    live = live_by_badge(session, scope, days)
    firsts = [live.c[f"d{index}"] for index in range(len(days))]
    columns = (*PERSON, RosterEntry.status, *(CONTACT if contact else ()), *firsts)
    query = (
        select(*columns)
        .outerjoin(live, live.c.badge_id == RosterEntry.badge_id)
        .where(RosterEntry.event_id == scope.event.id)
        .order_by(*ORDER)
    )
    serial_plan(session)
    _sort_in_memory(session)
    yield from session.execute(scope.only_visible(query).execution_options(yield_per=2000))


def _sort_in_memory(session: Session) -> None:
    """Let PostgreSQL sort the event's attendee rows in memory for this transaction."""
    # ~100,000 rows with names and contacts (~26 MB) overflow the default 4 MB to disk.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def arrivals(session: Session, scope: Scope, day: date, minutes: int = 15) -> list[dict]:
    """Delegates' first arrivals on a day, counted per `minutes` (event-local times)."""
    seconds = minutes * 60
    first = (
        select(Checkin.badge_id, func.min(Checkin.checked_in_at).label("at"))
        .join(CheckinList, CheckinList.id == Checkin.list_id)
        .join(RosterEntry, RosterEntry.badge_id == Checkin.badge_id)
        .where(
            Checkin.event_id == scope.event.id,
            Checkin.undone_at.is_(None),
            CheckinList.day == day,
            RosterEntry.status == ACTIVE,
        )
        .group_by(Checkin.badge_id)
    )
    first = scope.only_visible(first).subquery()
    bucket = _epoch(session, first.c.at) // seconds
    query = select(bucket, func.count()).group_by(bucket).order_by(bucket)
    return _series(session.execute(query), seconds, ZoneInfo(scope.event.timezone))


def _epoch(session: Session, column):
    """Whole seconds since 1970 of a UTC timestamp column, in integer arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), Integer)


def _series(rows, seconds: int, zone: ZoneInfo) -> list[dict]:
    series, cumulative = [], 0
    for bucket, count in rows:
        cumulative += count
        at = datetime.fromtimestamp(int(bucket) * seconds, UTC).astimezone(zone)
        series.append({"at": at, "arrivals": count, "cumulative": cumulative})
    return series


def record_access(session: Session, event_id: int, actor: str, action: str, detail: dict):
    """Audit who exported a report or viewed people's names, what, and when."""
    session.add(
        AuditEntry(
            event_id=event_id, actor=actor, action=action, badge_id=None, detail=detail, at=utcnow()
        )
    )
    session.commit()
