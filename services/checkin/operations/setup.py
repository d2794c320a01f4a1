"""The event set-up replica: agencies (with quotas) and categories from `event.changed`."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.checkin.models import Agency, Category, CheckinList, EventInfo
from services.checkin.operations.roster import day_list, rebuild_roster, remember_event
from shared.contracts import DelegateEventSchema, EventSnapshotSchema

EVENT_FIELDS = ("slug", "name_ar", "name_en", "timezone")


def apply_event_snapshot(session: Session, payload: dict) -> bool:
    """Replace an event's set-up with a snapshot; an older one than applied changes nothing."""
    remember_event(session, payload["event"])
    info = session.get(EventInfo, payload["event"]["id"], with_for_update=True)
    if info.setup_sequence is not None and payload["sequence"] < info.setup_sequence:
        session.rollback()
        return False
    _update_event(session, info, payload["event"])
    _replace_agencies(session, info.id, payload["agencies"])
    _replace_categories(session, info.id, payload["categories"])
    info.setup_sequence = payload["sequence"]
    session.commit()
    return True


def _update_event(session: Session, info: EventInfo, event: dict) -> None:
    """New names, timezone and days; a new day gets its default check-in list."""
    for name in EVENT_FIELDS:
        setattr(info, name, event[name])
    days = sorted(date.fromisoformat(str(d)) for d in event["days"])
    info.days = [d.isoformat() for d in days]
    query = select(CheckinList.day).where(CheckinList.event_id == info.id)
    listed = set(session.scalars(query))
    for number, day in enumerate(days, start=1):
        if day not in listed:
            session.add(day_list(info.id, number, day))


def _replace_agencies(session: Session, event_id: int, agencies: list[dict]) -> None:
    held = {a.id: a for a in session.scalars(select(Agency).where(Agency.event_id == event_id))}
    for data in agencies:
        agency = held.pop(data["id"], None) or session.merge(Agency(id=data["id"]))
        agency.event_id = event_id
        for name, value in data.items():
            setattr(agency, name, value)
    if held:
        session.execute(delete(Agency).where(Agency.id.in_(list(held))))


def _replace_categories(session: Session, event_id: int, categories: list[dict]) -> None:
    session.execute(delete(Category).where(Category.event_id == event_id))
    session.add_all(Category(event_id=event_id, **data) for data in categories)


def rebuild_from_snapshot(session: Session, snapshot: dict) -> int:
    """Rebuild an event's roster, and its set-up if given, from registration's full snapshot."""
    DelegateEventSchema(many=True).load(snapshot["delegates"])
    setup = snapshot.get("event_snapshot")
    if setup is not None:
        EventSnapshotSchema().load(setup)
        if setup["event"]["id"] != snapshot["event_id"]:
            raise ValueError(f"set-up of event {setup['event']['id']}, not {snapshot['event_id']}")
        apply_event_snapshot(session, setup)
    return rebuild_roster(session, snapshot["event_id"], snapshot["delegates"])
