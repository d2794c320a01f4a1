"""Bearer API tokens and browser sessions: issued signed, recorded so they can be revoked."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.registration.models import ApiToken
from services.registration.operations.announcements import announce_revocation
from shared.db import utcnow
from shared.identity import issue_api_token, issue_session, new_token_id

API, SESSION = "api", "session"


def create_api_token(
    session: Session,
    secret: str,
    *,
    label: str,
    role: str,
    event_ids: list[int] | None = None,
    agency_ids: list[int] | None = None,
    account_id: int | None = None,
    kind: str = API,
) -> str:
    """Issue a bearer token (or a session cookie) for `role` in its scope and record it."""
    token_id = new_token_id()
    issue = issue_session if kind == SESSION else issue_api_token
    scope = {"events": event_ids, "agencies": agency_ids}
    subject = f"account:{account_id}" if account_id is not None else label
    token = issue(secret, subject=subject, role=role, token_id=token_id, **scope)
    record = ApiToken(
        id=token_id,
        label=label,
        role=role,
        event_ids=event_ids,
        agency_ids=agency_ids,
        kind=kind,
        account_id=account_id,
        created_at=utcnow(),
    )
    session.add(record)
    session.flush()
    return token


def revoke_api_token(session: Session, token_id: str) -> bool:
    """Revoke a token by id; tell whether it existed."""
    record = session.get(ApiToken, token_id)
    if record is None:
        return False
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        announce_revocation(session, token_id, record.revoked_at)
    session.flush()
    return True


def revoke_account_credentials(session: Session, account_id: int) -> int:
    """Revoke every live token and session of an account (password or role changed)."""
    live = select(ApiToken.id).where(
        ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None)
    )
    ids = list(session.scalars(live))
    now = utcnow()
    session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=now))
    for token_id in ids:
        announce_revocation(session, token_id, now)
    return len(ids)


def token_revoked(session: Session, token_id: str) -> bool:
    """Tell whether a token id is unknown or revoked (unknown ids are refused too)."""
    record = session.get(ApiToken, token_id)
    return record is None or record.revoked_at is not None
