"""Idempotency-Key handling: a retried POST gets the first result, not a duplicate."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registration.models import IdempotencyRecord
from shared.db import utcnow
from shared.problems import DomainError

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
IN_PROGRESS = 0


def run_once(
    session: Session,
    endpoint: str,
    key: str | None,
    body: dict,
    run: Callable[[], tuple[dict, int]],
) -> tuple[dict, int]:
    """Run `run` once per (endpoint, key); replay its stored response on retries."""
    if key is None:
        return run()
    if not _KEY.match(key):
        raise DomainError("idempotency_key_invalid", field="Idempotency-Key")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    stored = _stored(session, endpoint, key)
    if stored is not None:
        return _replay(stored, digest)
    record = _claim(session, endpoint, key, digest)
    if record is None:
        return _replay(_stored(session, endpoint, key), digest)
    response, status = run()
    record.status_code, record.response = status, response
    session.flush()
    return response, status


def replays(session: Session, endpoint: str, key: str | None) -> bool:
    """Tell whether `run_once` would answer this key from storage (a retry) instead of running."""
    return bool(key and _KEY.match(key)) and _stored(session, endpoint, key) is not None


def _claim(session: Session, endpoint: str, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert the key first, so a concurrent retry waits on it instead of racing the work."""
    record = IdempotencyRecord(
        endpoint=endpoint,
        key=key,
        request_hash=digest,
        status_code=IN_PROGRESS,
        response={},
        created_at=utcnow(),
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return record


def _stored(session: Session, endpoint: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.endpoint == endpoint, IdempotencyRecord.key == key
        )
    )


def _replay(record: IdempotencyRecord | None, digest: str) -> tuple[dict, int]:
    """Return the stored first response, refusing a key reused for another request."""
    if record is None or record.status_code == IN_PROGRESS:
        raise DomainError("conflict", kind="conflict")
    if record.request_hash != digest:
        raise DomainError("idempotency_key_reused", kind="invalid", field="Idempotency-Key")
    return record.response, record.status_code
