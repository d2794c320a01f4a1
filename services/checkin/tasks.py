"""Celery tasks of the check-in service: keep the roster and event set-up in step."""

from __future__ import annotations

import logging

from celery import shared_task
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError

from services.checkin import operations
from services.checkin.models import RevokedToken
from shared.contracts import DelegateEventSchema, EventSnapshotSchema
from shared.revocations import apply_revocation_event
from shared.web import db_session

log = logging.getLogger(__name__)
_contract = DelegateEventSchema()
_setup_contract = EventSnapshotSchema()


@shared_task(
    name="checkin.apply_roster_event",
    autoretry_for=(DBAPIError,),
    retry_backoff=True,
    max_retries=None,
)
def apply_roster_event(payload: dict) -> bool:
    """Apply a delegate event to the roster (idempotent, in version order per badge)."""
    try:
        _contract.load(payload)
    except ValidationError as error:  # a bad message never becomes valid: drop, loudly
        log.error("rejected roster event: %s", error.messages)
        return False
    return operations.apply_roster_event(db_session(), payload)


@shared_task(
    name="checkin.revoke_token", autoretry_for=(DBAPIError,), retry_backoff=True, max_retries=None
)
def revoke_token(payload: dict) -> bool:
    """Refuse a bearer token revoked in registration from now on."""
    return apply_revocation_event(db_session(), RevokedToken, payload)


@shared_task(
    name="checkin.apply_event_snapshot",
    autoretry_for=(DBAPIError,),
    retry_backoff=True,
    max_retries=None,
)
def apply_event_snapshot(payload: dict) -> bool:
    """Replace an event's agencies (quotas) and categories with registration's latest set-up."""
    try:
        _setup_contract.load(payload)
    except ValidationError as error:  # a bad message never becomes valid: drop, loudly
        log.error("rejected event snapshot: %s", error.messages)
        return False
    return operations.apply_event_snapshot(db_session(), payload)
