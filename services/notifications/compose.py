"""Delegate and account messages (e-mail and SMS) rendered from editable Jinja2 templates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.notifications import sms_segments
from services.notifications.calendar import event_ics
from services.notifications.domain import NOTICE
from services.notifications.mime_policy import SMTP_POLICY, set_boundaries
from shared.config import LANGUAGES
from shared.contracts import ACCOUNT_MESSAGE_KINDS
from shared.i18n import direction
from shared.qr import qr_png

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
KINDS = (
    *("confirmation", "cancellation", "badge_reissued", "contact_changed"),
    *("reminder", "broadcast"),
)
# E-mails without the private link: a notice to the address a delegate left.
NOTICE_KINDS = (NOTICE,)
# Reasons registration gives as codes (English, Arabic).
REASONS = {
    "substituted": (
        "Your agency has given your seat to another member of its delegation.",
        "منحت جهتك مقعدك لعضو آخر في وفدها.",
    ),
    "withdrawn": ("Your agency has withdrawn your registration.", "سحبت جهتك تسجيلك."),
    "self-service": ("You cancelled it yourself.", "ألغيته بنفسك."),
}
# E-mails to account holders (organizers, focal points): no badge, no event needed.
ACCOUNT_KINDS = ACCOUNT_MESSAGE_KINDS
# The contract carries no timezone for account messages: link expiry is shown in Baghdad's.
ACCOUNT_TIMEZONE = "Asia/Baghdad"
ZONE_LABEL = {"ar": "بتوقيت بغداد", "en": "Baghdad time"}
AT = {"ar": "الساعة", "en": "at"}
SMS_MAX_SEGMENTS = 2
# A contact change renews the badge too (the first one went to a possibly mistyped address).
INLINE_QR_KINDS = frozenset({"confirmation", "badge_reissued", "contact_changed", "reminder"})
QR_ATTACHED_KINDS = frozenset({"confirmation", "badge_reissued", "contact_changed"})
ICS_ATTACHED_KINDS = frozenset({"confirmation", "reminder"})
# SMS templates show these optional parts when they fit; dropped in this order when they do not.
SMS_DETAIL_LEVELS = (
    frozenset({"name", "event", "venue"}),
    frozenset({"name", "venue"}),
    frozenset({"venue"}),
    frozenset(),
)
MONTHS = {
    "ar": (
        *("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو"),
        *("يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"),
    ),
    "en": (
        *("January", "February", "March", "April", "May", "June"),
        *("July", "August", "September", "October", "November", "December"),
    ),
}
WEEKDAYS = {  # Monday first, as date.weekday() counts
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
DAY_RANGE = {"ar": "من {first} إلى {last}", "en": "from {first} to {last}"}
DAY_SEPARATOR = {"ar": "، ", "en": ", "}
DEFAULT_COLOR = "#1f6feb"
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def format_date(day: date, lang: str, *, year: bool = True) -> str:
    """A day for humans: "الأحد 12 فبراير 2023" or "Sunday 12 February 2023"."""
    text = f"{WEEKDAYS[lang][day.weekday()]} {day.day} {MONTHS[lang][day.month - 1]}"
    return f"{text} {day.year}" if year else text


def format_days(days: list[date], lang: str, *, year: bool = True) -> str:
    """The event's days: one day, a range of consecutive days, or a list."""
    days = sorted(days)
    if len(days) > 1 and days[-1] - days[0] == timedelta(days=len(days) - 1):
        first, last = (format_date(d, lang, year=year) for d in (days[0], days[-1]))
        return DAY_RANGE[lang].format(first=first, last=last)
    return DAY_SEPARATOR[lang].join(format_date(d, lang, year=year) for d in days)


def format_moment(moment: datetime, lang: str, zone: str = ACCOUNT_TIMEZONE) -> str:
    """A time for humans with its zone: "Sunday 12 February 2023 at 14:30 Baghdad time (UTC+3)"."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))
    hours = local.utcoffset().total_seconds() / 3600
    offset = f"UTC{hours:+g}" if hours else "UTC"
    label = ZONE_LABEL[lang] if zone == ACCOUNT_TIMEZONE else zone
    return f"{format_date(local.date(), lang)} {AT[lang]} {local:%H:%M} {label} ({offset})"


def paragraphs(text: str) -> Markup:
    """Escaped plain text as HTML paragraphs: blank lines split them, newlines break lines."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    style = "margin:0 0 16px;"
    return Markup("\n").join(
        Markup('<p style="{}">{}</p>').format(style, Markup("<br>\n").join(block.split("\n")))
        for block in blocks
    )


@cache
def environment() -> Environment:
    """The template environment; HTML templates autoescape, text and SMS ones do not."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["paragraphs"] = paragraphs
    return env


def _render(name: str, context: dict) -> str:
    """Render one template file."""
    return environment().get_template(name).render(context)


def delegate_language(payload: dict) -> str:
    """The language the recipient asked for (Arabic if it is not one we write in)."""
    lang = payload["delegate"].get("language") if "delegate" in payload else payload["language"]
    return lang if lang in LANGUAGES else LANGUAGES[0]


def _localized(record: dict, field: str, lang: str) -> str:
    """A record's field in the language, else in the other one, else empty."""
    other = "en" if lang == "ar" else "ar"
    return record.get(f"{field}_{lang}") or record.get(f"{field}_{other}") or ""


def _event_context(event: dict, lang: str) -> dict:
    """Template variables about the event."""
    days = [date.fromisoformat(day) for day in event["days"]]
    return {
        "event_name": _localized(event, "name", lang),
        "venue": _localized(event, "venue", lang),
        "dates": format_days(days, lang),
        "dates_short": format_days(days, lang, year=False),
        "timezone": event["timezone"],
    }


def _delegate_context(delegate: dict, lang: str) -> dict:
    """Template variables about the delegate."""
    color = delegate["category"].get("color") or ""
    return {
        "name": _localized(delegate, "full_name", lang),
        "gender": delegate.get("gender"),
        "agency": _localized(delegate["agency"], "name", lang),
        "category": _localized(delegate["category"], "name", lang),
        # The colour lands in a style attribute, where autoescaping does not stop CSS injection.
        "color": color if _HEX_COLOR.fullmatch(color) else DEFAULT_COLOR,
    }


def _message_text(extra: dict | None, lang: str) -> dict:
    """An organizer's text in the recipient's language (stored as subject_ar, body_en, ...)."""
    extra = dict(extra or {})
    for key in ("subject", "body"):
        if extra.get(f"{key}_{lang}"):
            extra[key] = extra[f"{key}_{lang}"]
    return extra


def _reason(reason: str | None, lang: str) -> str | None:
    """Registration's reason codes in words; an organizer's own reason as typed."""
    words = REASONS.get(reason or "")
    return words[lang == "ar"] if words else reason


def _frame(kind: str, lang: str) -> dict:
    """Template variables every message has: kind, language and direction."""
    return {
        "kind": kind,
        "lang": lang,
        "dir": direction(lang),
        "align": "right" if direction(lang) == "rtl" else "left",
        "qr_cid": None,
    }


def _account_context(kind: str, payload: dict) -> dict:
    """Variables of an account holder's e-mail: their name, the link and when it expires."""
    lang = delegate_language(payload)
    if kind == "invitation" and not (payload.get("event") and payload.get("agency")):
        raise ValueError("an invitation names its event and agency")
    expires = datetime.fromisoformat(payload["expires_at"])
    return {
        **_frame(kind, lang),
        "url": payload["link"],
        "name": payload.get("name") or "",
        "gender": None,
        "event_name": _localized(payload.get("event") or {}, "name", lang),
        "agency": _localized(payload.get("agency") or {}, "name", lang),
        "expires": format_moment(expires, lang),
        "color": DEFAULT_COLOR,
        "extra": {},
    }


def build_context(kind: str, payload: dict, extra: dict | None = None) -> dict:
    """Everything a template of `kind` may use, in the recipient's language."""
    if kind in ACCOUNT_KINDS:
        return _account_context(kind, payload)
    if kind not in KINDS + NOTICE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}; expected one of {KINDS}")
    lang = delegate_language(payload)
    return {
        **_frame(kind, lang),
        "url": payload["self_service_url"],
        "reason": _reason(payload.get("reason"), lang),
        "extra": _message_text(extra, lang),
        **_event_context(payload["event"], lang),
        **_delegate_context(payload["delegate"], lang),
    }


def _require_extra(kind: str, extra: dict | None, keys: tuple[str, ...]) -> None:
    """Broadcasts carry the organizer's own text; refuse one without it."""
    missing = [key for key in keys if not (extra or {}).get(key)]
    if kind == "broadcast" and missing:
        raise ValueError(f"a broadcast needs extra[{missing[0]!r}]")


def render_subject(kind: str, context: dict) -> str:
    """The subject line, on one line whatever the template or organizer wrote."""
    return " ".join(_render(f"email/{kind}.subject.{context['lang']}.txt", context).split())


def _recipient(payload: dict) -> str:
    """The address an e-mail goes to: the account holder's, or the delegate's if they gave one."""
    if "delegate" not in payload:
        return payload["email"]
    delegate = payload["delegate"]
    if not delegate.get("email"):
        raise ValueError(f"delegate {delegate['badge_id']} has no e-mail address")
    return delegate["email"]


def _new_message(payload: dict, context: dict, *, sender: str, message_id: str) -> EmailMessage:
    """A message with its headers set and no body yet."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    msg["To"] = Address(display_name=context["name"], addr_spec=_recipient(payload))
    msg["Subject"] = context["subject"]
    msg["Message-ID"] = f"<{message_id}@hudoor>"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def _attach(msg: EmailMessage, kind: str, payload: dict, context: dict) -> None:
    """Inline QR in the HTML part, then the badge and calendar attachments the kind carries."""
    png = qr_png(payload["badge_token"]) if kind in INLINE_QR_KINDS else b""
    if kind in INLINE_QR_KINDS:
        html_part = msg.get_payload()[-1]
        cid = f"<{context['qr_cid']}>"
        html_part.add_related(png, "image", "png", cid=cid, disposition="inline")
    if kind in QR_ATTACHED_KINDS:
        msg.add_attachment(png, "image", "png", filename="badge.png")
    if kind in ICS_ATTACHED_KINDS:
        ics = event_ics(payload, context["lang"]).encode("utf-8")
        params = {"method": "PUBLISH", "charset": "utf-8"}
        msg.add_attachment(ics, "text", "calendar", params=params, filename="event.ics")


def render_email(
    kind: str, payload: dict, *, sender: str, message_id: str, extra: dict | None = None
) -> EmailMessage:
    """A ready-to-send e-mail of `kind`, text and HTML, in the recipient's language."""
    context = build_context(kind, payload, extra)
    _require_extra(kind, context["extra"], ("subject", "body"))
    if kind in INLINE_QR_KINDS:
        context["qr_cid"] = f"qr.{message_id}@hudoor"
    context["subject"] = render_subject(kind, context)
    msg = _new_message(payload, context, sender=sender, message_id=message_id)
    msg.set_content(_render(f"email/{kind}.{context['lang']}.txt", context))
    msg.add_alternative(_render(f"email/{kind}.{context['lang']}.html", context), subtype="html")
    _attach(msg, kind, payload, context)
    set_boundaries(msg)
    # Set last: building the body moves or clears every Content-* header already present.
    msg["Content-Language"] = context["lang"]
    return msg


def _tidy_sms(text: str) -> str:
    """Trim the template's layout: no blank lines, no runs of spaces left by omitted parts."""
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def render_sms(kind: str, payload: dict, extra: dict | None = None) -> str:
    """A short SMS of `kind` in the delegate's language, as detailed as two parts allow."""
    context = build_context(kind, payload, extra)
    _require_extra(kind, context["extra"], ("body",))
    name = f"sms/{kind}.{context['lang']}.txt"
    texts = (_tidy_sms(_render(name, context | {"optional": level})) for level in SMS_DETAIL_LEVELS)
    last = ""
    for last in texts:
        if sms_segments.fits(last, SMS_MAX_SEGMENTS):
            return last
    # Even the barest wording is too long (a huge link): send it anyway rather than nothing.
    return last
