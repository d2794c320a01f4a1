"""Who may act on what in registration's API and pages: role groups and scoped loaders."""

from __future__ import annotations

from flask import current_app, g

from services.registration import operations
from services.registration.models import Agency, Event
from services.registration.operations import Context
from services.registration.operations.audit import Actor
from shared.access import current_identity, require_agency_scope, require_event_scope
from shared.web import db_session

MANAGE = ("admin", "organizer")
# Organizers, and a focal point for the delegates of their own agencies.
DELEGATION = (*MANAGE, "focal_point")
ACCOUNT_HOLDERS = (*DELEGATION, "viewer")


def context() -> Context:
    """The use-case context of the running app."""
    return current_app.extensions["registration_context"]


def language() -> str:
    """The request's language."""
    return g.get("lang", "ar")


def scoped_event(ref: str) -> Event:
    """An event the caller may act on."""
    event = operations.get_event(db_session(), ref)
    require_event_scope(current_identity(), event.id)
    return event


def scoped_agency(ref: str, code: str) -> tuple[Event, Agency]:
    """An event and one of its agencies the caller may act for."""
    event = operations.get_event(db_session(), ref)
    agency = operations.get_agency(db_session(), event, code)
    require_agency_scope(current_identity(), event.id, agency.id)
    return event, agency


def privileged(event: Event) -> bool:
    """An organizer acting on `event`: may use organizer-only categories and register late."""
    identity = current_identity()
    return bool(identity and identity.role in MANAGE and identity.may_act_on(event.id))


def actor() -> Actor:
    """The calling account, as the audit log names it."""
    identity = current_identity()
    return Actor(identity.subject, identity.role)
