"""Pure check-in rules: what a door answers for a token on a list (no Flask, Celery or session)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.badge_tokens import BadgeClaims, InvalidBadgeToken, verify_badge_token

OK = "ok"
ALREADY_CHECKED_IN = "already_checked_in"
REVOKED = "revoked"
CANCELLED = "cancelled"
NOT_ON_THIS_LIST = "not_on_this_list"
UNKNOWN_BADGE = "unknown_badge"
INVALID = "invalid"
NOT_INSIDE = "not_inside"
STATUSES = (
    OK,
    ALREADY_CHECKED_IN,
    REVOKED,
    CANCELLED,
    NOT_ON_THIS_LIST,
    UNKNOWN_BADGE,
    INVALID,
    NOT_INSIDE,
)
# What the door shows: green lets in, amber asks a human to look, red refuses.
LIGHTS = {OK: "green", ALREADY_CHECKED_IN: "amber", NOT_INSIDE: "amber"}


class ScanRefused(Exception):
    """A scan that does not admit; `code` is one of STATUSES, `reason` says more."""

    def __init__(self, code: str, reason: str | None = None):
        super().__init__(code)
        self.code = code
        self.reason = reason


def light(status: str) -> str:
    """The colour a door shows for a status."""
    return LIGHTS.get(status, "red")


def verify(token: str, public_keys: Mapping) -> BadgeClaims:
    """Verify a badge token with public keys only (whichever event it is for)."""
    try:
        return verify_badge_token(token, public_keys)
    except InvalidBadgeToken as error:
        raise ScanRefused(INVALID, error.code) from None


def read_token(token: str, public_keys: Mapping, event_id: int) -> BadgeClaims:
    """Verify a badge token with public keys only and check it belongs to this event."""
    claims = verify(token, public_keys)
    if claims.event_id != event_id:
        raise ScanRefused(INVALID, "other_event")
    return claims


def admit(claims_generation: int | None, entry, checkin_list, today: date) -> None:
    """Refuse a badge the roster or the list does not admit (generation None: manual check-in)."""
    if entry is None:
        raise ScanRefused(UNKNOWN_BADGE)
    if claims_generation is not None and claims_generation < entry.generation:
        raise ScanRefused(REVOKED, "reissued")
    if entry.status != "active":
        raise ScanRefused(CANCELLED)
    if checkin_list.day is not None and checkin_list.day != today:
        raise ScanRefused(NOT_ON_THIS_LIST, "wrong_day")
    if checkin_list.categories and entry.category_code not in checkin_list.categories:
        raise ScanRefused(NOT_ON_THIS_LIST, "category_not_admitted")
    if claims_generation is not None and claims_generation > entry.generation:
        # Signed, but newer than the roster knows: registration's event has not arrived yet.
        raise ScanRefused(UNKNOWN_BADGE, "roster_behind")


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar day of a moment in the event's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def local_minute(moment: datetime, timezone: str) -> str:
    """A moment as the event's wall clock shows it, to the minute (2023-02-12 09:05)."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def is_newer(version: int, known: int | None) -> bool:
    """A roster event applies only if it is newer than what we hold for that badge."""
    return known is None or version > known
