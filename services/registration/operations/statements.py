"""Statements of the registration path, built once: building one costs more than running it."""

from __future__ import annotations

from sqlalchemy import Table, Update, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import joinedload

from services.registration.models import (
    ACTIVE,
    Agency,
    Category,
    Event,
    OutboxMessage,
    Registration,
)

_EVENTS, _AGENCIES, _REGISTRATIONS = Event.__table__, Agency.__table__, Registration.__table__

# The days come in the same query (every use of an event shows or sends them).
EVENT_BY_ID, EVENT_BY_SLUG = (
    select(Event).options(joinedload(Event.days)).where(column == bindparam("ref"))
    for column in (Event.id, Event.slug)
)
AGENCY_AND_CATEGORY = (
    select(Agency, Category)
    .select_from(Event)
    .outerjoin(Agency, and_(Agency.event_id == Event.id, Agency.code == bindparam("agency")))
    .outerjoin(
        Category, and_(Category.event_id == Event.id, Category.code == bindparam("category"))
    )
    .where(Event.id == bindparam("event_id"))
)


def _take_seat(table: Table, limit) -> Update:
    """UPDATE ... SET registered_count + 1 WHERE id = :row_id AND its limit allows one more."""
    count = table.c.registered_count
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), or_(limit.is_(None), count < limit))
        .values(registered_count=count + 1)
    )


TAKE_EVENT_SEAT = _take_seat(_EVENTS, _EVENTS.c.capacity)
TAKE_AGENCY_SEAT = _take_seat(_AGENCIES, _AGENCIES.c.quota)
# Active registrations of the event with this email or phone (a None never matches).
SAME_PERSON = (
    select(_REGISTRATIONS.c.email, _REGISTRATIONS.c.phone)
    .where(
        _REGISTRATIONS.c.event_id == bindparam("event_id"),
        _REGISTRATIONS.c.status == ACTIVE,
        or_(
            _REGISTRATIONS.c.email == bindparam("email"),
            _REGISTRATIONS.c.phone == bindparam("phone"),
        ),
        _REGISTRATIONS.c.id != bindparam("exclude"),
    )
    .limit(2)
)
INSERT_OUTBOX = insert(OutboxMessage.__table__)
