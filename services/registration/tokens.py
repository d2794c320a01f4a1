"""Bearer API tokens: issued signed, recorded so they can be listed and revoked."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.registration.models import ApiToken, OutboxMessage
from shared.contracts import SCHEMA_VERSION, TOKEN_REVOKED
from shared.db import utcnow
from shared.identity import issue_api_token, new_token_id


def create_api_token(
    session: Session, secret: str, *, label: str, role: str, event_ids: list[int] | None = None
) -> str:
    """Issue a bearer token for `role` (scoped to `event_ids`, or all events) and record it."""
    token_id = new_token_id()
    token = issue_api_token(secret, subject=label, role=role, events=event_ids, token_id=token_id)
    session.add(
        ApiToken(id=token_id, label=label, role=role, event_ids=event_ids, created_at=utcnow())
    )
    session.flush()
    return token


def revoke_api_token(session: Session, token_id: str) -> bool:
    """Revoke a token by id; tell whether it existed."""
    record = session.get(ApiToken, token_id)
    if record is None:
        return False
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        _announce_revocation(session, token_id, record.revoked_at)
    session.flush()
    return True


def _announce_revocation(session: Session, token_id: str, revoked_at) -> None:
    """Tell the other services through the outbox, in the same transaction."""
    message_id = uuid.uuid4().hex
    payload = {
        "schema_version": SCHEMA_VERSION,
        "topic": TOKEN_REVOKED,
        "message_id": message_id,
        "token_id": token_id,
        "revoked_at": revoked_at.isoformat(),
    }
    session.add(
        OutboxMessage(
            message_id=message_id,
            topic=TOKEN_REVOKED,
            badge_id=0,
            payload=payload,
            created_at=revoked_at,
            attempts=0,
        )
    )


def token_revoked(session: Session, token_id: str) -> bool:
    """Tell whether a token id is unknown or revoked (unknown ids are refused too)."""
    record = session.get(ApiToken, token_id)
    return record is None or record.revoked_at is not None
