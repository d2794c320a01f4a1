"""Replicated token revocations: each service records `token.revoked` events in its own table."""

from __future__ import annotations

import logging
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.contracts import TokenRevokedSchema

log = logging.getLogger(__name__)


def record_revocation(session: Session, model, token_id: str, revoked_at: datetime) -> None:
    """Remember a revoked token id (idempotent)."""
    if session.get(model, token_id) is None:
        session.add(model(token_id=token_id, revoked_at=revoked_at))
        try:
            session.commit()
        except IntegrityError:  # a redelivered event raced us; it is recorded either way
            session.rollback()


def apply_revocation_event(session: Session, model, payload: dict) -> bool:
    """Validate a `token.revoked` event against the contract and record it."""
    try:
        event = TokenRevokedSchema().load(payload)
    except ValidationError as error:  # a bad message never becomes valid: drop, loudly
        log.error("rejected token revocation: %s", error.messages)
        return False
    record_revocation(session, model, event["token_id"], event["revoked_at"])
    return True


def is_revoked(session: Session, model, token_id: str) -> bool:
    """Tell whether a token id was revoked in registration."""
    return session.get(model, token_id) is not None
