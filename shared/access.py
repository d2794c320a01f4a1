"""Per-endpoint access policies: each view declares the roles it allows, in one place."""

from __future__ import annotations

import functools

from flask import current_app, g, request

from shared.identity import Identity, InvalidCredential, verify_api_token
from shared.problems import DomainError
from shared.web import db_session

PUBLIC = "public"
API_TOKEN_MAX_AGE = 90 * 86400


def allow(*roles: str):
    """Declare the roles allowed on a view (or PUBLIC) and enforce it on each call."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if PUBLIC not in roles:
                identity = current_identity()
                if identity is None:
                    raise DomainError("unauthorized", kind="unauthorized")
                if identity.role not in roles:
                    raise DomainError("forbidden", kind="forbidden")
            return view(*args, **kwargs)

        guarded.allowed_roles = frozenset(roles)
        return guarded

    return decorate


def current_identity() -> Identity | None:
    """Return the verified bearer identity of this request, if any."""
    if "identity" not in g:
        g.identity = _identity_from_header(request.headers.get("Authorization", ""))
    return g.identity


def require_event_scope(identity: Identity | None, event_id: int) -> None:
    """Refuse an identity that is not scoped to the event."""
    if identity is not None and not identity.may_act_on(event_id):
        raise DomainError("forbidden", kind="forbidden")


def _identity_from_header(header: str) -> Identity | None:
    """Verify a `Bearer` token and its revocation status."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        identity = verify_api_token(current_app.config["SECRET_KEY"], token, API_TOKEN_MAX_AGE)
    except InvalidCredential:
        raise DomainError("unauthorized", kind="unauthorized") from None
    is_revoked = current_app.config.get("TOKEN_REVOKED")
    # The request's own session: on SQLite a second connection would wait on this request's lock.
    if is_revoked is not None and is_revoked(db_session(), identity.token_id):
        raise DomainError("unauthorized", kind="unauthorized")
    return identity
