"""Who is calling: signed bearer tokens and signed links, verified the same way by every service."""

from __future__ import annotations

import functools
import re
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

ROLES = ("admin", "organizer", "focal_point", "viewer", "device", "delegate")
API_TOKEN_PREFIX = "hdr_"
LINK_SEPARATOR = "~"
SESSION_MAX_AGE = 12 * 3600  # seconds a browser session lasts after logging in


class InvalidCredential(Exception):
    """A token or link is malformed, forged, expired or for another purpose."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Identity:
    """The verified caller: role, the events it may act on (None: all) and the token id."""

    subject: str
    role: str
    events: tuple[int, ...] | None
    token_id: str
    # A focal point acts for these agencies only; None means no agency restriction.
    agencies: tuple[int, ...] | None = None
    # Set on browser sessions: the token every unsafe request must echo (CSRF).
    csrf: str | None = None

    def may_act_on(self, event_id: int) -> bool:
        """Tell whether this identity is scoped to `event_id`."""
        return self.events is None or event_id in self.events

    def may_act_for_agency(self, agency_id: int) -> bool:
        """Tell whether this identity may see or change `agency_id`'s delegation."""
        return self.agencies is None or agency_id in self.agencies


def new_token_id() -> str:
    """Return a fresh random token id."""
    return secrets.token_urlsafe(12)


_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_token_id(text: str) -> bool:
    """Whether `text` can be a token (or device) id: ids are URL-safe; anything else names none.

    Looked up as is, a NUL in a path id was refused by PostgreSQL (a 400 naming nothing).
    """
    return _TOKEN_ID.fullmatch(text) is not None


def issue_api_token(
    secret: str, *, subject: str, role: str, events=None, token_id: str, agencies=None
) -> str:
    """Sign a bearer token carrying role, event and agency scope in its claims."""
    claims = _claims(subject, role, events, token_id, agencies)
    return API_TOKEN_PREFIX + URLSafeTimedSerializer(secret, salt="api-token").dumps(claims)


def issue_session(
    secret: str, *, subject: str, role: str, events=None, token_id: str, agencies=None
) -> str:
    """Sign a browser session cookie: the same claims as a token plus a CSRF secret."""
    claims = _claims(subject, role, events, token_id, agencies) | {"csrf": secrets.token_hex(16)}
    return URLSafeTimedSerializer(secret, salt="session").dumps(claims)


def verify_session(secret: str, cookie: str, max_age: int) -> Identity:
    """Verify a session cookie's signature and age and return its identity."""
    if not _is_credential_text(cookie):
        raise InvalidCredential("malformed")
    return _load(secret, "session", cookie, max_age)


def _claims(subject, role, events, token_id, agencies) -> dict:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return {
        "sub": subject,
        "role": role,
        "ev": list(events) if events is not None else None,  # [] is no event, None every one
        "ag": list(agencies) if agencies is not None else None,
        "jti": token_id,
    }


def verify_api_token(secret: str, token: str, max_age: int) -> Identity:
    """Verify a bearer token's signature and age and return its identity."""
    if not _is_credential_text(token) or not token.startswith(API_TOKEN_PREFIX):
        raise InvalidCredential("malformed")
    return _load(secret, "api-token", token.removeprefix(API_TOKEN_PREFIX), max_age)


def _is_credential_text(value) -> bool:
    """Tokens and cookies are short ASCII: anything else (a lone surrogate too) is malformed."""
    return isinstance(value, str) and value.isascii() and len(value) <= 2000


def _load(secret: str, salt: str, text: str, max_age: int) -> Identity:
    """Verify signature and age (counted as itsdangerous does) and read the claims."""
    claims, signed_at = _signed_claims(secret, salt, text)
    if not 0 <= int(time.time()) - signed_at <= max_age:
        raise InvalidCredential("expired")
    return _identity_from_claims(claims)


@functools.lru_cache(maxsize=4096)
def _signed_claims(secret: str, salt: str, text: str) -> tuple[dict, int]:
    """A genuine credential's claims and signing time; a door sends one token with every scan."""
    # Cached, since the signature of a given text never changes; its age is checked at each use.
    try:
        claims, signed_at = URLSafeTimedSerializer(secret, salt=salt).loads(
            text, return_timestamp=True
        )
    except BadSignature:
        raise InvalidCredential("bad_signature") from None
    return claims, int(signed_at.timestamp())


def _identity_from_claims(claims) -> Identity:
    """Check the shape of signed claims and build the identity."""
    try:
        events, agencies = claims["ev"], claims.get("ag")
        if claims["role"] == "focal_point" and agencies is None:
            agencies = []  # a focal point without agencies acts for none, never for all
        csrf = claims.get("csrf")
        if csrf is not None and not isinstance(csrf, str):
            raise TypeError("csrf")
        return Identity(
            subject=str(claims["sub"]),
            role=claims["role"] if claims["role"] in ROLES else "",
            events=_ids(events),
            token_id=str(claims["jti"]),
            agencies=_ids(agencies),
            csrf=csrf,
        )
    except (KeyError, TypeError, ValueError, OverflowError):  # Infinity is valid JSON to loads
        raise InvalidCredential("malformed") from None


def _ids(values) -> tuple[int, ...] | None:
    """A scope claim: None (no restriction) or a list of ids; a string is not a list of digits."""
    if values is None:
        return None
    if not isinstance(values, list):
        raise TypeError("scope must be a list")
    return tuple(int(value) for value in values)


def sign_link(secret: str, purpose: str, *parts: str | int) -> str:
    """Sign a compact link token (magic link, agency link) for one purpose; short enough for SMS."""
    text = LINK_SEPARATOR.join(str(part) for part in parts)
    if any(LINK_SEPARATOR in str(part) for part in parts):
        raise ValueError("link parts must not contain the separator")
    return _link_signer(secret, purpose).sign(text).decode()


def verify_link(secret: str, purpose: str, token: str) -> list[str]:
    """Verify a signed link token for `purpose` and return its parts."""
    if not isinstance(token, str) or len(token) > 300:
        raise InvalidCredential("malformed")
    try:
        text = _link_signer(secret, purpose).unsign(token).decode()
    except (BadSignature, UnicodeError):
        raise InvalidCredential("bad_signature") from None
    return text.split(LINK_SEPARATOR)


def _link_signer(secret: str, purpose: str) -> Signer:
    return Signer(secret, salt=f"link:{purpose}", sep=".")
