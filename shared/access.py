"""Per-endpoint access policies: each view declares the roles it allows, in one place."""

from __future__ import annotations

import functools
import hmac
from urllib.parse import urlencode

from flask import abort, current_app, g, redirect, request

from shared.identity import (
    SESSION_MAX_AGE,
    Identity,
    InvalidCredential,
    verify_api_token,
    verify_session,
)
from shared.problems import DomainError
from shared.web import db_session

PUBLIC = "public"
API_TOKEN_MAX_AGE = 90 * 86400
SESSION_COOKIE = "hudoor_session"
# The registration service's login page, at the root of the site behind the gateway.
LOGIN_PAGE = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNREAD = object()  # no identity read in this request yet (None: read, and anonymous)


# Endpoints Flask and flask-smorest add themselves: files, health and readiness checks, API
# description, and the metrics (shared/metrics.py admits only scrapers it trusts).
INFRASTRUCTURE = frozenset(
    {
        "static",
        "hudoor.static",
        "healthz",
        "readyz",
        "metrics",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
    }
)


def allow(*roles: str):
    """Declare the roles allowed on a view (or PUBLIC); `enforce_policy` checks it first."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            _check(roles)  # again, should the view ever be called outside a request hook
            return view(*args, **kwargs)

        guarded.allowed_roles = frozenset(roles)
        return guarded

    return decorate


def enforce_policy() -> None:
    """Before parsing anything, refuse a caller the endpoint's policy does not allow."""
    if request.endpoint is None or request.endpoint in INFRASTRUCTURE:
        return  # routing answers 404/405 itself
    view = current_app.view_functions.get(request.endpoint)
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        raise DomainError("forbidden", kind="forbidden")  # no declared policy: nobody
    _check(roles)


def _check(roles) -> None:
    if PUBLIC in roles:
        return
    identity = current_identity()
    if identity is None:
        _send_visitors_to_login()
        raise DomainError("unauthorized", kind="unauthorized")
    if identity.role not in roles:
        raise DomainError("forbidden", kind="forbidden")


def _send_visitors_to_login() -> None:
    """A page opened without a session goes to the login page, then back to where it was."""
    if request.method != "GET" or "/api/" in request.path:
        return
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        return
    target = request.script_root + request.full_path.rstrip("?")
    abort(redirect(LOGIN_PAGE + "?" + urlencode({"next": target}), code=303))


def current_identity() -> Identity | None:
    """Return the verified identity of this request (bearer token or session cookie), if any."""
    identity = g.get("identity", UNREAD)  # one lookup through the `g` proxy: called often
    if identity is UNREAD:
        identity = g.identity = _identity_from_header(request.headers.get("Authorization", ""))
        if identity is None:
            identity = g.identity = _identity_from_cookie(request.cookies.get(SESSION_COOKIE))
    return identity


def require_event_scope(identity: Identity | None, event_id: int) -> None:
    """Refuse an identity that is not scoped to the event."""
    if identity is not None and not identity.may_act_on(event_id):
        raise DomainError("forbidden", kind="forbidden")


def require_agency_scope(identity: Identity | None, event_id: int, agency_id: int) -> None:
    """Refuse an identity that may not act on this event or this agency's delegation."""
    require_event_scope(identity, event_id)
    if identity is not None and not identity.may_act_for_agency(agency_id):
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
    return _unless_revoked(identity)


def _identity_from_cookie(cookie: str | None) -> Identity | None:
    """Verify a session cookie; an unsafe request must also echo the session's CSRF token."""
    if not cookie:
        return None
    try:
        identity = verify_session(current_app.config["SECRET_KEY"], cookie, SESSION_MAX_AGE)
    except InvalidCredential:
        return None  # a stale cookie is an anonymous visitor, who may log in again
    identity = _unless_revoked(identity, quiet=True)
    if identity is not None and request.method not in SAFE_METHODS:
        _require_csrf(identity)
    return identity


def _require_csrf(identity: Identity) -> None:
    """A cookie travels with forged requests too: an unsafe one must prove it came from us."""
    header = request.headers.get("X-CSRF-Token")
    forms = current_app.extensions.get("csrf")  # Flask-WTF, where the app has forms
    if header is None and forms is not None and _is_form():
        if not g.get("csrf_valid"):
            forms.protect()  # raises CSRFError, rendered as csrf_failed
        return
    sent = header or (request.form.get("csrf_token") if _is_form() else None)
    if not sent or not hmac.compare_digest(sent.encode(), (identity.csrf or "").encode()):
        raise DomainError("csrf_failed", kind="forbidden")


def _is_form() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _unless_revoked(identity: Identity, *, quiet: bool = False) -> Identity | None:
    """Refuse a revoked token (or treat a revoked session as logged out when `quiet`)."""
    is_revoked = current_app.config.get("TOKEN_REVOKED")
    # The request's own session: on SQLite a second connection would wait on this request's lock.
    if is_revoked is not None and is_revoked(db_session(), identity.token_id):
        if quiet:
            return None
        raise DomainError("unauthorized", kind="unauthorized")
    return identity
