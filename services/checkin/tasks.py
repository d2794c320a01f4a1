"""Celery tasks of the check-in service: keep the roster in step with registration."""

from __future__ import annotations

import logging

from celery import shared_task
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError

from services.checkin import operations
from services.checkin.models import RevokedToken
from shared.contracts import DelegateEventSchema, TokenRevokedSchema
from shared.revocations import record_revocation
from shared.web import db_session

log = logging.getLogger(__name__)
_contract = DelegateEventSchema()


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
    try:
        event = TokenRevokedSchema().load(payload)
    except ValidationError as error:  # a bad message never becomes valid: drop, loudly
        log.error("rejected token revocation: %s", error.messages)
        return False
    record_revocation(db_session(), RevokedToken, event["token_id"], event["revoked_at"])
    return True
