"""How the JSON APIs read a registration body: the window first, the event's rules for the load."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import request

from services.registration import operations
from services.registration.idempotency import replays
from services.registration.models import Agency, Event
from services.registration.schemas import EventRules
from services.registration.scopes import context, privileged
from shared.web import db_session

# From the URL's arguments to the event and the agency the URL fixes (None: the body names it).
Scope = Callable[..., tuple[Event, Agency | None]]


def knowing_the_event(scope: Scope, arguments: Callable) -> Callable:
    """Load the body with `arguments` (blp.arguments) knowing the event and agency `scope` finds."""

    def decorate(view):
        loaded = arguments(_outside_the_rules(view))

        @functools.wraps(loaded)
        def parsed(*args, **url):
            event, agency = scope(**url)
            with _rules(event, agency):
                return loaded(*args, event=event, agency=agency)

        return parsed

    return decorate


def _outside_the_rules(view):
    """The view itself (writing, committing, answering) runs with the event's rules lifted."""

    @functools.wraps(view)
    def lifted(*args, **kwargs):
        with EventRules(None):
            return view(*args, **kwargs)

    return lifted


def _rules(event: Event, agency: Agency | None) -> EventRules:
    """Refuse a closed window (organizers excepted), then give the event's rules for the load."""
    session = db_session()
    if replays(session, replay_scope(event, agency), request.headers.get("Idempotency-Key")):
        # A retry gets its stored answer (run_once compares the body), whatever changed since.
        return EventRules(None)
    allowed = privileged(event)
    if not allowed:  # 'closed' before any field error: nothing to correct
        operations.check_registration_open(event, context().clock())
    return operations.event_rules(session, event, agency, privileged=allowed)


def replay_scope(event: Event, agency: Agency | None) -> str:
    """The Idempotency-Key's endpoint: the event's registration, or one agency's delegation."""
    return f"register:{event.id}" if agency is None else f"delegation:{agency.id}"
