"""Pure notification rules: which messages an event calls for, keys, retries, reminders."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.contracts import ACCOUNT_MESSAGE, ACCOUNT_MESSAGE_KINDS, CONTACT_CHANGED

MESSAGES_BY_TOPIC = {
    "delegate.registered": "confirmation",
    "delegate.cancelled": "cancellation",
    "badge.reissued": "badge_reissued",
}
# An update that gave the delegate a new address renewed their badge and link: send them there.
MESSAGES_BY_REASON = {("delegate.updated", CONTACT_CHANGED): "contact_changed"}
CHANNELS = {"email": ("email",), "sms": ("sms",), "both": ("email", "sms")}
# Told to the former e-mail address after a contact change: no link, no new details.
NOTICE = "contact_changed_notice"
# With the cap below, 16 attempts span about two hours of provider outage.
MAX_ATTEMPTS = 16
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0


def planned_messages(
    topic: str, channel: str, reason: str | None = None, superseded: bool = False
) -> list[tuple[str, str]]:
    """Return the (kind, channel) messages a delegate event calls for."""
    # A contact change overtaken by a newer state carries a link and badge already revoked, maybe
    # to a mistyped address; the newer state sent the current ones.
    renewed = None if superseded else MESSAGES_BY_REASON.get((topic, reason))
    kind = MESSAGES_BY_TOPIC.get(topic) or renewed
    return [(kind, c) for c in CHANNELS.get(channel, ())] if kind else []


def former_address_notice(previous: dict | None, payload: dict) -> dict | None:
    """The notice a contact change sends the former e-mail, if it got messages; else None."""
    if previous is None or (payload["topic"], payload.get("reason")) not in MESSAGES_BY_REASON:
        return None
    former = previous["delegate"]
    if "email" not in CHANNELS.get(former["channel"], ()) or not former.get("email"):
        return None
    if former["email"] == payload["delegate"].get("email"):
        return None
    # The former address may be a stranger's: the delegate as it knew them, the link blanked.
    blanked = {"self_service_url": "", "badge_token": "", "reason": None}
    return previous | blanked | {k: payload[k] for k in ("message_id", "occurred_at", "topic")}


def is_account_message(payload: dict) -> bool:
    """Whether a logged payload is an account holder's e-mail rather than a delegate event."""
    return payload.get("topic") == ACCOUNT_MESSAGE


def filed_under(payload: dict) -> tuple[int, int, str]:
    """The (event id, badge id, language) a delivery is logged under; 0 where there is none."""
    if is_account_message(payload):
        return payload.get("event_id") or 0, 0, payload["language"]
    delegate = payload["delegate"]
    return payload["event"]["id"], delegate["badge_id"], delegate["language"]


def account_message_complete(payload: dict) -> bool:
    """An invitation must name its event and agency; a password reset needs neither."""
    return payload["kind"] != "invitation" or bool(payload.get("event") and payload.get("agency"))


def link_expired(payload: dict, now: datetime) -> bool:
    """Whether an account message's link expired (sending it then would only confuse)."""
    if not is_account_message(payload):
        return False
    expires = datetime.fromisoformat(payload["expires_at"])
    return (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now


def resendable(kind: str) -> bool:
    """Account messages carry a credential that registration issues: only it sends a new one."""
    return kind not in ACCOUNT_MESSAGE_KINDS


def as_resent(payload: dict, latest: dict | None, kind: str = "") -> dict:
    """A delegate message sent again: its own text, to the delegate as they are now."""
    # A corrected address must not get the private link again at the old one, nor a revoked badge.
    # A notice to a former address stays there, and without the link.
    if latest is None or kind == NOTICE:
        return payload
    return payload | {key: latest[key] for key in ("delegate", "badge_token", "self_service_url")}


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


# Reminders go out the day before, in waking hours of the event's timezone (not at 00:05).
REMINDER_HOURS = range(9, 21)


def reminder_due(first_day: date, timezone: str, now: datetime) -> bool:
    """Tell whether it is the day before the first day, between 09:00 and 21:00 local time."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() == first_day - timedelta(days=1) and local.hour in REMINDER_HOURS


def is_newer(version: int, known: int | None) -> bool:
    """An event applies only if it is newer than what we hold for that badge."""
    return known is None or version > known
