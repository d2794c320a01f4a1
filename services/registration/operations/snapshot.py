"""A full snapshot of an event's delegates, for a consumer to rebuild its replica from."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration import domain
from services.registration.models import Event, Registration
from services.registration.operations.context import Context
from services.registration.operations.events import event_snapshot, latest_event_sequence


def roster_snapshot(session: Session, ctx: Context, event: Event) -> dict:
    """Every registration (active and cancelled) as a delegate event, and the event's set-up."""
    query = select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
    delegates = [
        domain.delegate_event(
            "delegate.updated",
            registration,
            token=ctx.badge_token(registration),
            url=ctx.delegate_link(registration),
            message_id=uuid.uuid4().hex,
            now=ctx.clock(),
        )
        for registration in session.scalars(query)
    ]
    setup = event_snapshot(
        session, event, latest_event_sequence(session), uuid.uuid4().hex, ctx.clock()
    )
    return {"event_id": event.id, "event_snapshot": setup, "delegates": delegates}
