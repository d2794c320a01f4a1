"""Bearer API tokens: issued signed, recorded so they can be listed and revoked."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.registration.models import ApiToken
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
    record.revoked_at = record.revoked_at or utcnow()
    session.flush()
    return True


def token_revoked(factory: sessionmaker[Session], token_id: str) -> bool:
    """Tell whether a token id is unknown or revoked (unknown ids are refused too)."""
    with factory() as session:
        record = session.get(ApiToken, token_id)
        return record is None or record.revoked_at is not None
