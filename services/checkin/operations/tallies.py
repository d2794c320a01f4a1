"""Attendance tallies per agency × category × gender (and day), kept by every change to them.

Each change to a badge's roster entry or check-ins recounts the badge's cell in the same
transaction, after the change: it first claims (locks) the cell's row, then recounts it from
the roster and check-ins with a fresh statement, so the last writer to claim a cell has seen
every change committed before it (PostgreSQL READ COMMITTED; SQLite writers are serialized).

A new check-in (the door's hot path) instead adds itself to its cell and day in O(1): its scan
holds the badge's roster row from its first read on (FOR UPDATE), as undo and roster changes hold
it, so that the badge's cell and the other live check-ins it reads next are final; then it locks
the cell row before any day row, as a recount.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.checkin.models import (
    AttendanceCell,
    AttendanceCellDay,
    Checkin,
    CheckinList,
    RosterEntry,
)

CELLS, DAYS = AttendanceCell.__table__, AttendanceCellDay.__table__
ROSTER, CHECKINS, LISTS = RosterEntry.__table__, Checkin.__table__, CheckinList.__table__
KEY = ("event_id", "agency_id", "category_code", "gender")
COUNTS = ("registered", "cancelled", "attended")
ACTIVE = ROSTER.c.status == "active"
DIALECTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _upsert(insert, rows, set_counts: bool = False):
    """Insert cells from `rows`, or on an existing cell set its counts (zero, or the new ones)."""
    statement = insert(CELLS).from_select([*KEY, *COUNTS], rows)
    counts = {n: statement.excluded[n] if set_counts else 0 for n in COUNTS}
    return statement.on_conflict_do_update(index_elements=list(KEY), set_=counts)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _totals(badges):
    """Per cell of the roster entries matching `badges`: registered, cancelled, attended."""
    came = exists().where(
        CHECKINS.c.event_id == ROSTER.c.event_id,
        CHECKINS.c.badge_id == ROSTER.c.badge_id,
        CHECKINS.c.undone_at.is_(None),
    )
    group = [ROSTER.c[name] for name in KEY]
    counts = [_count(ACTIVE), _count(~ACTIVE), _count(and_(ACTIVE, came))]
    return select(*group, *counts).where(badges).group_by(*group)


def _days(badges):
    """Per cell and day: active badges with a live check-in, first and last first-arrival."""
    firsts = (
        select(CHECKINS.c.badge_id, LISTS.c.day, func.min(CHECKINS.c.checked_in_at).label("at"))
        .join(LISTS, LISTS.c.id == CHECKINS.c.list_id)
        .where(
            CHECKINS.c.event_id == bindparam("event_id"),
            CHECKINS.c.undone_at.is_(None),
            LISTS.c.day.is_not(None),
            CHECKINS.c.badge_id.in_(select(ROSTER.c.badge_id).where(badges, ACTIVE)),
        )
        .group_by(CHECKINS.c.badge_id, LISTS.c.day)
        .subquery()
    )
    group, at = [ROSTER.c[name] for name in KEY], firsts.c.at
    query = select(*group, firsts.c.day, func.count(), func.min(at), func.max(at))
    query = query.join_from(ROSTER, firsts, firsts.c.badge_id == ROSTER.c.badge_id)
    query = query.where(badges, ACTIVE).group_by(*group, firsts.c.day)
    columns = [*KEY, "day", "attended", "first_arrival", "last_arrival"]
    return DAYS.insert().from_select(columns, query)


# Statements built once (bound by name): a first scan pays for no query building.
ONE_CELL = and_(*(ROSTER.c[name] == bindparam(name) for name in KEY))
ONE_EVENT = ROSTER.c.event_id == bindparam("event_id")
ZEROS = [literal(0).label(name) for name in COUNTS]
BADGE_CELL = select(*(ROSTER.c[name] for name in KEY), *ZEROS).where(
    ROSTER.c.badge_id == bindparam("badge_id")
)
GIVEN_CELL = select(*(bindparam(name, type_=CELLS.c[name].type) for name in KEY), *ZEROS)
CLAIM_BADGE = {
    name: _upsert(insert, BADGE_CELL).returning(*(CELLS.c[k] for k in KEY))
    for name, insert in DIALECTS.items()
}
CLAIM_CELL = {name: _upsert(insert, GIVEN_CELL) for name, insert in DIALECTS.items()}
CELL_TOTALS = {name: _upsert(i, _totals(ONE_CELL), True) for name, i in DIALECTS.items()}
EVENT_TOTALS = {name: _upsert(i, _totals(ONE_EVENT), True) for name, i in DIALECTS.items()}
CELL_DAYS, EVENT_DAYS = _days(ONE_CELL), _days(ONE_EVENT)
FORGET_CELL_DAYS = delete(DAYS).where(*(DAYS.c[name] == bindparam(name) for name in KEY))

# A new check-in's statements; an UPDATE reserves column names, so its parameters have others.
HOLD_BADGE = (
    select(ROSTER.c.agency_id, ROSTER.c.category_code, ROSTER.c.gender, ROSTER.c.status)
    .where(ROSTER.c.badge_id == bindparam("b_badge"), ROSTER.c.event_id == bindparam("b_event"))
    .with_for_update()
)
OTHER_LIVE = (
    CHECKINS.c.event_id == bindparam("b_event"),
    CHECKINS.c.badge_id == bindparam("b_badge"),
    CHECKINS.c.list_id != bindparam("b_list"),
    CHECKINS.c.undone_at.is_(None),
)
# No join: SQLAlchemy leaves column names in SQLite's RETURNING unqualified.
DAY_LISTS = select(LISTS.c.id).where(LISTS.c.day == bindparam("b_day", type_=LISTS.c.day.type))
SAME_DAY_FIRST = (
    select(func.min(CHECKINS.c.checked_in_at))
    .where(*OTHER_LIVE, CHECKINS.c.list_id.in_(DAY_LISTS))
    .scalar_subquery()
)
# The badge counts once, whatever its other check-ins; the answer tells about its day.
COUNT_ARRIVAL = (
    update(CELLS)
    .where(*(CELLS.c[name] == bindparam(f"b_{name}") for name in KEY[1:]))
    .where(CELLS.c.event_id == bindparam("b_event"))
    .values(attended=CELLS.c.attended + case((exists().where(*OTHER_LIVE), 0), else_=1))
    .returning(SAME_DAY_FIRST.label("same_day_first"))
)
EARLIER = {"postgresql": func.least, "sqlite": func.min}
LATER = {"postgresql": func.greatest, "sqlite": func.max}


def _add_day(name: str, insert):
    """Upsert a cell's day with one more badge whose first check-in that day is `first_arrival`."""
    statement = insert(DAYS)
    new, old = statement.excluded, DAYS.c
    return statement.on_conflict_do_update(
        index_elements=[*KEY, "day"],
        set_={
            "attended": old.attended + 1,
            "first_arrival": EARLIER[name](old.first_arrival, new.first_arrival),
            "last_arrival": LATER[name](old.last_arrival, new.last_arrival),
        },
    )


ADD_DAY = {name: _add_day(name, insert) for name, insert in DIALECTS.items()}


class Arrival(NamedTuple):
    """An active badge's new live check-in: event, list, the list's day (or None), time, cell."""

    event_id: int
    list_id: int
    badge_id: int
    day: date | None
    at: datetime
    cell: tuple  # (event, agency, category, gender), read from the held roster row


def count_checkin(session: Session | Connection, arrival: Arrival) -> None:
    """Count a held badge's new live check-in in its cell (and day), or recount where it can't."""
    if not _counted(session, arrival):
        refresh_badge(session, arrival.badge_id)


def _counted(session: Session | Connection, arrival: Arrival) -> bool:
    """Add the held badge's check-in to its cell and day; False if only a recount can."""
    keys = {"b_event": arrival.event_id, "b_badge": arrival.badge_id, "b_list": arrival.list_id}
    cell = {f"b_{name}": value for name, value in zip(KEY[1:], arrival.cell[1:], strict=True)}
    counted = session.execute(COUNT_ARRIVAL, {**keys, **cell, "b_day": arrival.day}).first()
    if counted is None:  # no cell row yet
        return False
    earlier = counted.same_day_first
    if arrival.day is not None and earlier is None:
        _count_day(session, arrival.cell, arrival.day, arrival.at)
    # Arriving before the badge's first arrival of the day moves it, and maybe the day's last.
    return earlier is None or earlier <= arrival.at


def _count_day(session: Session | Connection, cell: tuple, day: date, at: datetime) -> None:
    """Add a badge's first check-in of a day to its cell's day row."""
    row = {**dict(zip(KEY, cell, strict=True)), "day": day, "attended": 1}
    row.update(first_arrival=at, last_arrival=at)
    session.execute(ADD_DAY[_dialect(session)], row)


def hold_badge(session: Session, event_id: int, badge_id: int) -> None:
    """Lock a badge's roster row before changing its check-ins, as a scan's first read does."""
    session.execute(HOLD_BADGE, {"b_event": event_id, "b_badge": badge_id})


def refresh_badge(session: Session | Connection, badge_id: int) -> None:
    """Recount the cell of a badge whose check-ins just changed (nothing if it is unknown)."""
    claim = CLAIM_BADGE[_dialect(session)]
    cell = session.execute(claim, {"badge_id": badge_id}).first()
    if cell is not None:
        _recount(session, dict(zip(KEY, cell, strict=True)))


def refresh_cells(session: Session, cells: Iterable[tuple]) -> None:
    """Recount these (event, agency, category, gender) cells, claimed in one order."""
    claim = CLAIM_CELL[_dialect(session)]
    for cell in sorted(set(cells)):
        keys = dict(zip(KEY, cell, strict=True))
        session.execute(claim, keys)
        _recount(session, keys)


def _recount(session: Session | Connection, keys: dict) -> None:
    """Recount one claimed cell: its totals and its days."""
    session.execute(FORGET_CELL_DAYS, keys)
    session.execute(CELL_TOTALS[_dialect(session)], keys)
    session.execute(CELL_DAYS, keys)


def rebuild(session: Session, event_id: int) -> None:
    """Recount every tally of an event from its roster and check-ins (rebuild and restore)."""
    dialect = _dialect(session)
    if dialect == "postgresql":
        # Scans then wait to claim their cell, and recount it after this commits.
        session.execute(text("LOCK TABLE attendance_cells IN EXCLUSIVE MODE"))
    session.execute(delete(DAYS).where(DAYS.c.event_id == event_id))
    session.execute(delete(CELLS).where(CELLS.c.event_id == event_id))
    session.execute(EVENT_TOTALS[dialect], {"event_id": event_id})
    session.execute(EVENT_DAYS, {"event_id": event_id})


def _dialect(session: Session | Connection) -> str:
    """The database's dialect name, from a session or (on a scan's hot path) its connection."""
    return (session.get_bind() if isinstance(session, Session) else session).dialect.name


def cell_of(values: dict) -> tuple:
    """The cell key of a roster entry's values."""
    return tuple(values[name] for name in KEY)
