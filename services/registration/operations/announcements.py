"""Outbox messages that are not about a delegate: token revocations and account emails."""

from __future__ import annotations

import uuid
from datetime import datetime

from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration.models import OutboxMessage
from shared.contracts import (
    ACCOUNT_MESSAGE,
    RESET_REQUESTED,
    SCHEMA_VERSION,
    TOKEN_REVOKED,
    AccountMessageSchema,
    ResetRequestSchema,
    TokenRevokedSchema,
)

_token_revoked = TokenRevokedSchema()
_account_message = AccountMessageSchema()
_reset_request = ResetRequestSchema()


def announce_revocation(session: Session, token_id: str, revoked_at: datetime) -> None:
    """Tell every service that a token or session was revoked."""
    fields = {"token_id": token_id, "revoked_at": revoked_at.isoformat()}
    _post(session, _token_revoked, TOKEN_REVOKED, fields, revoked_at)


def send_account_email(
    session: Session, now: datetime, *, message_id: str | None = None, **fields
) -> None:
    """Have the notifications service email an account holder (reset, invitation)."""
    fields["occurred_at"] = now.isoformat()
    fields["expires_at"] = fields["expires_at"].isoformat()
    _post(session, _account_message, ACCOUNT_MESSAGE, fields, now, message_id)


def is_posted(session: Session, message_id: str) -> bool:
    """Whether an outbox message with this id was written already."""
    query = select(OutboxMessage.id).where(OutboxMessage.message_id == message_id)
    return session.scalar(query) is not None


def announce_reset_request(session: Session, now: datetime, email: str, language: str) -> None:
    """Hand a reset request to registration's worker, which looks the account up."""
    fields = {"occurred_at": now.isoformat(), "email": email, "language": language}
    _post(session, _reset_request, RESET_REQUESTED, fields, now)


def _post(
    session: Session,
    schema: Schema,
    topic: str,
    fields: dict,
    now: datetime,
    message_id: str | None = None,
) -> None:
    """Validate the payload against its contract and add it to the caller's transaction."""
    message_id = message_id or uuid.uuid4().hex
    payload = {"schema_version": SCHEMA_VERSION, "topic": topic, "message_id": message_id}
    payload |= fields
    errors = schema.validate(payload)
    if errors:
        raise ValueError(f"outbox payload breaks the contract: {errors}")
    row = OutboxMessage(
        message_id=message_id, topic=topic, badge_id=0, payload=payload, created_at=now, attempts=0
    )
    session.add(row)
    session.flush()
    # Published after commit by the request's relay hook (see app.py), else by the sweep.
    session.info.setdefault("outbox_pending", []).append(row.id)
