"""Account passwords: the strength rule and the Argon2id hash (no Flask, no session)."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.problems import DomainError

MIN_LENGTH = 10
MAX_LENGTH = 200
_hasher = PasswordHasher()
# Verified when the email is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def check_strength(password: str, email: str = "") -> None:
    """Refuse a password that is too short, too long, one repeated character or the email."""
    if len(password) < MIN_LENGTH:
        raise DomainError("password_too_short", field="password")
    if len(password) > MAX_LENGTH:
        raise DomainError("password_too_long", field="password")
    if len(set(password)) < 4 or password.casefold() in email.casefold():
        raise DomainError("password_too_weak", field="password")


def hash_password(password: str) -> str:
    """Return the Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tell whether `password` matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether a hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def fingerprint(password_hash: str) -> str:
    """Return a short digest of the hash: a reset link dies when the password changes."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
