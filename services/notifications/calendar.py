"""An RFC 5545 calendar file for a delegate's event, to attach to e-mails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

PRODID = "-//Hudoor//Hudoor Notifications//EN"
MAX_LINE_OCTETS = 75
DESCRIPTION = {
    "ar": "بطاقتك ورابط تسجيلك الخاص (لا تشاركه): {url}",
    "en": "Your badge and private registration link (do not share it): {url}",
}


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into physical lines of at most 75 octets, never inside a character."""
    data, pieces, limit = line.encode("utf-8"), [], MAX_LINE_OCTETS
    while len(data) > limit:
        cut = limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back to the character's start
            cut -= 1
        pieces.append(data[:cut])
        # Continuation lines start with a space, which counts towards their 75 octets.
        data, limit = data[cut:], MAX_LINE_OCTETS - 1
    pieces.append(data)
    return b"\r\n ".join(pieces).decode("utf-8")


def _utc_stamp(occurred_at: str) -> str:
    """An ISO 8601 instant as an iCalendar UTC date-time (a naive one is taken as UTC)."""
    moment = datetime.fromisoformat(occurred_at)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _event_lines(payload: dict, lang: str) -> list[str]:
    """The VEVENT's content lines, unfolded."""
    event, delegate = payload["event"], payload["delegate"]
    days = sorted(date.fromisoformat(day) for day in event["days"])
    description = DESCRIPTION[lang].format(url=payload["self_service_url"])
    return [
        "BEGIN:VEVENT",
        f"UID:{event['slug']}-{delegate['badge_id']}@hudoor",
        f"DTSTAMP:{_utc_stamp(payload['occurred_at'])}",
        # All-day dates are the event's local days, so no VTIMEZONE is needed.
        f"DTSTART;VALUE=DATE:{days[0]:%Y%m%d}",
        f"DTEND;VALUE=DATE:{days[-1] + timedelta(days=1):%Y%m%d}",
        f"SUMMARY;LANGUAGE={lang}:{escape_text(event[f'name_{lang}'])}",
        f"LOCATION;LANGUAGE={lang}:{escape_text(event[f'venue_{lang}'])}",
        f"DESCRIPTION;LANGUAGE={lang}:{escape_text(description)}",
        "STATUS:CONFIRMED",
        "END:VEVENT",
    ]


def event_ics(payload: dict, lang: str) -> str:
    """A VCALENDAR (METHOD:PUBLISH) with one all-day VEVENT over the event's days."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *_event_lines(payload, lang),
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
