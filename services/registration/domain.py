"""Pure registration rules: no Flask, Celery or database session in here."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.arabic import search_key
from shared.contracts import SCHEMA_VERSION
from shared.problems import DomainError

GENDERS = ("female", "male", "unspecified")
CHANNELS = ("email", "sms", "both")
SECTORS = ("government", "international", "civil_society", "judiciary", "parliament", "other")


def check_registration_window(opens_at: datetime | None, closes_at: datetime | None, now) -> None:
    """Refuse a registration outside the event's registration window."""
    if opens_at is not None and now < opens_at:
        raise DomainError("registration_not_open", kind="conflict", opens_at=opens_at.isoformat())
    if closes_at is not None and now >= closes_at:
        raise DomainError("registration_closed", kind="conflict")


def registration_deadline(
    closes_at: datetime | None, days: list[date], timezone: str
) -> datetime | None:
    """When registration closes: its closing time, else when the last day ends in `timezone`."""
    if closes_at is not None or not days:
        return closes_at
    return datetime.combine(max(days) + timedelta(days=1), time(), ZoneInfo(timezone))


# The attendance report is what organizers hand in: once the event starts, only they change who
# was registered (a focal point could otherwise withdraw their no-shows afterwards).
ORGANIZERS = ("admin", "organizer")


def check_delegation_change(by: str, days: list[date], today: date) -> None:
    """Refuse a withdrawal, substitution or reissue by a focal point or delegate once it started."""
    if days and today >= min(days) and by not in ORGANIZERS:
        code = "event_over" if today > max(days) else "delegation_locked"
        raise DomainError(code, kind="conflict")


def check_category(self_registration: bool, privileged: bool) -> None:
    """Only organizers may register outside the self-registration categories."""
    if not (self_registration or privileged):
        raise DomainError("category_not_allowed", kind="forbidden", field="category")


def check_channel(channel: str, email: str | None, phone: str | None) -> None:
    """The chosen confirmation channel needs the matching contact detail."""
    if channel in ("email", "both") and not email:
        raise DomainError("email_required_for_channel", field="email")
    if channel in ("sms", "both") and not phone:
        raise DomainError("phone_required_for_channel", field="phone")


# The addresses the private link and the badge were sent to: changing one renews both.
CONTACT_ADDRESSES = ("email", "phone")


def contact_changed(current: dict, data: dict) -> bool:
    """Whether `data` gives the delegate an e-mail or phone other than the `current` one."""
    return any(name in data and data[name] != current[name] for name in CONTACT_ADDRESSES)


def has_letters(name: str) -> bool:
    """Whether a name holds a letter once diacritics, tatweel and invisible marks are gone."""
    return any(character.isalpha() for character in search_key(name))


def name_key(full_name_ar: str | None, full_name_en: str | None) -> str:
    """Return the search key stored beside the names as typed."""
    return search_key(" ".join(n for n in (full_name_ar, full_name_en) if n))


def delegate_event(
    topic: str,
    registration,
    *,
    token: str,
    url: str,
    message_id: str,
    now,
    reason: str | None = None,
) -> dict:
    """Compose a delegate event carrying everything its consumers need."""
    event, agency, category = registration.event, registration.agency, registration.category
    return {
        "schema_version": SCHEMA_VERSION,
        "topic": topic,
        "message_id": message_id,
        "occurred_at": now.isoformat(),
        "event": event_info(event),
        "delegate": _delegate_info(registration, agency, category),
        "badge_token": token,
        "self_service_url": url,
        "reason": reason,
    }


def event_info(event) -> dict:
    """The event as messages carry it: names, venue, timezone and days."""
    return {
        "id": event.id,
        "slug": event.slug,
        "name_ar": event.name_ar,
        "name_en": event.name_en,
        "venue_ar": event.venue_ar,
        "venue_en": event.venue_en,
        "timezone": event.timezone,
        "days": [d.day.isoformat() for d in event.days],
    }


def _delegate_info(registration, agency, category) -> dict:
    """The delegate part of a delegate event."""
    r = registration
    return {
        "badge_id": r.id,
        "generation": r.badge_generation,
        "version": r.version,
        "status": r.status,
        "full_name_ar": r.full_name_ar,
        "full_name_en": r.full_name_en,
        "job_title": r.job_title,
        "gender": r.gender,
        "language": r.language,
        "channel": r.channel,
        "email": r.email,
        "phone": r.phone,
        "agency": {
            "id": agency.id,
            "code": agency.code,
            "name_ar": agency.name_ar,
            "name_en": agency.name_en,
        },
        "category": {
            "code": category.code,
            "name_ar": category.name_ar,
            "name_en": category.name_en,
            "color": category.color,
        },
    }
