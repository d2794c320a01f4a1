"""The roster replica: delegate events applied in version order, or rebuilt from a snapshot."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.checkin.models import CheckinList, EventInfo, RosterEntry
from services.checkin.operations import tallies
from shared.arabic import search_key
from shared.db import utcnow

DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
ROSTER, EVENTS = RosterEntry.__table__, EventInfo.__table__


def _upsert_roster(insert):
    """Insert a roster entry, or replace an older version of it (values bound by column name)."""
    statement = insert(ROSTER)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[ROSTER.c.badge_id],
        set_={c.name: new[c.name] for c in ROSTER.columns if c.name != "badge_id"},
        where=ROSTER.c.version < new.version,
    ).returning(ROSTER.c.badge_id)


def _insert_event(insert):
    """Insert an event not seen before (values bound by column name)."""
    return (
        insert(EVENTS).on_conflict_do_nothing(index_elements=[EVENTS.c.id]).returning(EVENTS.c.id)
    )


# Statements built once: a roster event pays for no query building.
UPSERT_ROSTER = {name: _upsert_roster(insert) for name, insert in DIALECT_INSERT.items()}
INSERT_EVENT = {name: _insert_event(insert) for name, insert in DIALECT_INSERT.items()}
LOCK_EVENT = select(EVENTS.c.id).where(EVENTS.c.id == bindparam("event_id")).with_for_update()
CELL_OF_BADGE = select(*(ROSTER.c[name] for name in tallies.KEY)).where(
    ROSTER.c.badge_id == bindparam("badge_id")
)


def apply_roster_event(session: Session, payload: dict) -> bool:
    """Apply one delegate event; an older version than the roster holds changes nothing."""
    remember_event(session, payload["event"])
    values = roster_values(payload)
    before = _cell_before(session, values)
    upsert = UPSERT_ROSTER[session.get_bind().dialect.name]
    applied = _execute_core(session, upsert, values)
    if applied:
        tallies.refresh_cells(session, {before, tallies.cell_of(values)} - {None})
    session.commit()
    return applied


def _cell_before(session: Session, values: dict) -> tuple | None:
    """The badge's tally cell before this event, read under the event's lock."""
    # Roster changes of one event take turns, so none moves a badge out of a cell unseen.
    session.execute(LOCK_EVENT, {"event_id": values["event_id"]})
    row = session.execute(CELL_OF_BADGE, {"badge_id": values["badge_id"]}).first()
    return None if row is None else tuple(row)


def rebuild_roster(session: Session, event_id: int, payloads: list[dict]) -> int:
    """Replace an event's roster with a full snapshot from registration (for recovery)."""
    for payload in payloads:
        if payload["event"]["id"] != event_id:
            raise ValueError(f"snapshot entry for event {payload['event']['id']}, not {event_id}")
    if payloads:
        remember_event(session, payloads[0]["event"])
    session.execute(select(EventInfo.id).where(EventInfo.id == event_id).with_for_update())
    session.execute(delete(RosterEntry).where(RosterEntry.event_id == event_id))
    session.add_all(RosterEntry(**roster_values(p)) for p in payloads)
    session.flush()
    tallies.rebuild(session, event_id)
    session.commit()
    return len(payloads)


def _execute_core(session: Session, statement, values: dict) -> bool:
    """Run an upsert as plain Core and tell whether it wrote a row.

    ORM-level execution of these dialect upserts reports neither rows nor a row count on
    PostgreSQL, so they go through the session's connection.
    """
    return session.connection().execute(statement, values).first() is not None


def roster_values(payload: dict) -> dict:
    """The roster row a delegate event describes."""
    d = payload["delegate"]
    agency, category = d["agency"], d["category"]
    names = [n for n in (d["full_name_ar"], d["full_name_en"]) if n]
    return {
        "badge_id": d["badge_id"],
        "event_id": payload["event"]["id"],
        "generation": d["generation"],
        "version": d["version"],
        "status": d["status"],
        "full_name_ar": d["full_name_ar"],
        "full_name_en": d["full_name_en"],
        "name_key": search_key(" ".join(names)),
        "gender": d["gender"],
        "email": d["email"],
        "phone": d["phone"],
        "agency_id": agency["id"],
        "agency_code": agency["code"],
        "agency_name_ar": agency["name_ar"],
        "agency_name_en": agency["name_en"],
        "category_code": category["code"],
        "category_name_ar": category["name_ar"],
        "category_name_en": category["name_en"],
        "category_color": category["color"],
        "updated_at": utcnow(),
    }


def remember_event(session: Session, event: dict) -> None:
    """Record an event the first time it is seen, with one check-in list per day."""
    values = {name: event[name] for name in ("id", "slug", "name_ar", "name_en", "timezone")}
    statement = INSERT_EVENT[session.get_bind().dialect.name]
    if _execute_core(session, statement, values | {"days": list(event["days"])}):
        for number, day in enumerate(sorted(event["days"]), start=1):
            session.add(day_list(event["id"], number, date.fromisoformat(str(day))))
        session.flush()


def day_list(event_id: int, number: int, day: date) -> CheckinList:
    """The default check-in list of one event day (all categories)."""
    return CheckinList(
        event_id=event_id,
        name_ar=f"اليوم {number} — {day.isoformat()}",
        name_en=f"Day {number} — {day.isoformat()}",
        day=day,
        categories=None,
        created_at=utcnow(),
    )


def roster_of(session: Session, event_id: int) -> list[RosterEntry]:
    """The whole roster of an event, by badge id."""
    query = select(RosterEntry).where(RosterEntry.event_id == event_id)
    return list(session.scalars(query.order_by(RosterEntry.badge_id)))
