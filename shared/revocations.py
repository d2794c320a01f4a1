"""Replicated token revocations: each service records `token.revoked` events in its own table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def record_revocation(session: Session, model, token_id: str, revoked_at: datetime) -> None:
    """Remember a revoked token id (idempotent)."""
    if session.get(model, token_id) is None:
        session.add(model(token_id=token_id, revoked_at=revoked_at))
        try:
            session.commit()
        except IntegrityError:  # a redelivered event raced us; it is recorded either way
            session.rollback()


def is_revoked(session: Session, model, token_id: str) -> bool:
    """Tell whether a token id was revoked in registration."""
    return session.get(model, token_id) is not None
