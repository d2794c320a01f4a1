"""Pure notification rules: which messages an event calls for, keys, retries, reminders."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MESSAGES_BY_TOPIC = {
    "delegate.registered": "confirmation",
    "delegate.cancelled": "cancellation",
    "badge.reissued": "badge_reissued",
}
CHANNELS = {"email": ("email",), "sms": ("sms",), "both": ("email", "sms")}
# With the cap below, 16 attempts span about two hours of provider outage.
MAX_ATTEMPTS = 16
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0


def planned_messages(topic: str, channel: str) -> list[tuple[str, str]]:
    """Return the (kind, channel) messages a delegate event calls for."""
    kind = MESSAGES_BY_TOPIC.get(topic)
    return [(kind, c) for c in CHANNELS.get(channel, ())] if kind else []


def address(delegate: dict, channel: str) -> str | None:
    """Return the delegate's address on a channel, if any."""
    return delegate.get("email") if channel == "email" else delegate.get("phone")


def delivery_key(source: str, kind: str, channel: str) -> str:
    """Return the idempotency key of one message: same source, kind and channel, same key."""
    return f"{source}:{kind}:{channel}"


def backoff_seconds(attempt: int, rand=random.random) -> float:
    """Exponential backoff with jitter: half fixed, half random, capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + rand() * ceiling / 2


def reminder_due(first_day: date, timezone: str, now: datetime) -> bool:
    """Tell whether it is the day before the event's first day, in the event's timezone."""
    return now.astimezone(ZoneInfo(timezone)).date() == first_day - timedelta(days=1)


def is_newer(version: int, known: int | None) -> bool:
    """An event applies only if it is newer than what we hold for that badge."""
    return known is None or version > known
