"""Language negotiation and message catalogues (Arabic first, English second)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from shared.config import LANGUAGES

# Messages every service uses: validation and HTTP errors. Services add their own catalogues.
COMMON_MESSAGES: dict[str, tuple[str, str]] = {
    # code: (English, Arabic)
    "app.name": ("Hudoor", "حضور"),
    "nav.other_language": ("العربية", "English"),
    "error.title": ("Something went wrong", "حدث خطأ"),
    "required": ("This field is required.", "هذا الحقل مطلوب."),
    "null": ("This field may not be empty.", "لا يجوز أن يكون هذا الحقل فارغاً."),
    "invalid_type": ("This value has the wrong type.", "نوع هذه القيمة غير صحيح."),
    "not_string": ("Must be text.", "يجب أن تكون القيمة نصاً."),
    "not_integer": ("Must be a whole number.", "يجب أن تكون القيمة عدداً صحيحاً."),
    "not_boolean": ("Must be true or false.", "يجب أن تكون القيمة صحيحة أو خاطئة."),
    "not_date": ("Must be a date (YYYY-MM-DD).", "يجب أن يكون تاريخاً (YYYY-MM-DD)."),
    "not_datetime": (
        "Must be a date and time (ISO 8601).",
        "يجب أن يكون تاريخاً ووقتاً (ISO 8601).",
    ),
    "not_list": ("Must be a list.", "يجب أن تكون القيمة قائمة."),
    "year_out_of_range": (
        "The year must be between {min} and {max}.",
        "يجب أن تكون السنة بين {min} و{max}.",
    ),
    "unknown_field": ("Unknown field.", "حقل غير معروف."),
    "one_of": ("Must be one of: {choices}.", "يجب أن تكون إحدى القيم: {choices}."),
    "too_long": ("At most {max} characters.", "الحد الأقصى {max} حرفاً."),
    "too_short": ("At least {min} characters.", "الحد الأدنى {min} حرفاً."),
    "too_few": ("At least {min} items.", "الحد الأدنى {min} عناصر."),
    "too_many": ("At most {max} items.", "الحد الأقصى {max} عناصر."),
    "too_small": ("Must be at least {min}.", "يجب ألا تقل القيمة عن {min}."),
    "too_large": ("Must be at most {max}.", "يجب ألا تزيد القيمة عن {max}."),
    "invalid": ("Invalid value.", "قيمة غير صالحة."),
    "invalid_characters": (
        "Contains characters that are not allowed.",
        "يحتوي على رموز غير مسموحة.",
    ),
    "email_local_part_not_ascii": (
        "Write the part before the @ in Latin letters (e.g. ali.hasan@example.org):"
        " we cannot send email to addresses in other scripts.",
        "اكتب الجزء الذي قبل @ بأحرف لاتينية (مثل ali.hasan@example.org)،"
        " فلا يمكننا إرسال البريد الإلكتروني إلى عناوين بأحرف أخرى.",
    ),
    "validation_failed": ("Some fields are invalid.", "بعض الحقول غير صالحة."),
    "bad_request": ("The request could not be understood.", "تعذّر فهم الطلب."),
    "invalid_json": ("The body is not valid JSON.", "محتوى الطلب ليس JSON صالحاً."),
    "unsupported_media_type": (
        "Send the body as application/json.",
        "أرسل محتوى الطلب بصيغة application/json.",
    ),
    "payload_too_large": ("The request body is too large.", "حجم محتوى الطلب كبير جداً."),
    "rate_limited": (
        "Too many requests; try again in a little while.",
        "طلبات كثيرة جداً؛ حاول مجدداً بعد قليل.",
    ),
    "unauthorized": ("Authentication is required.", "يلزم تسجيل الدخول."),
    "forbidden": ("You are not allowed to do this.", "غير مسموح لك بهذا الإجراء."),
    "not_found": ("Not found.", "غير موجود."),
    "method_not_allowed": ("Method not allowed.", "الطريقة غير مسموح بها."),
    "conflict": (
        "The request conflicts with the current state.",
        "الطلب يتعارض مع الحالة الحالية.",
    ),
    "service_unavailable": (
        "The service is temporarily unavailable; try again shortly.",
        "الخدمة غير متاحة مؤقتاً؛ حاول مجدداً بعد قليل.",
    ),
    "internal_error": ("An unexpected error occurred.", "حدث خطأ غير متوقع."),
    "csrf_failed": (
        "The form expired; reload the page and try again.",
        "انتهت صلاحية النموذج؛ أعد تحميل الصفحة وحاول مجدداً.",
    ),
}

# marshmallow's built-in English messages, mapped to our codes so they can be translated.
_MARSHMALLOW_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "required"),
    (re.compile(r"^Field may not be null\.$"), "null"),
    (re.compile(r"^Not a valid string\.$"), "not_string"),
    (re.compile(r"^Not a valid integer\.$"), "not_integer"),
    (re.compile(r"^Not a valid boolean\.$"), "not_boolean"),
    (re.compile(r"^Not a valid date\.$"), "not_date"),
    (re.compile(r"^Not a valid datetime\.$"), "not_datetime"),
    (re.compile(r"^Not a valid list\.$"), "not_list"),
    (re.compile(r"^Unknown field\.$"), "unknown_field"),
    (re.compile(r"^Invalid input type\.$"), "invalid_type"),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), "one_of"),
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), "too_long"),
    (re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"), "too_short"),
    (re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"), "too_long"),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"), "too_small"),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), "too_large"),
    (re.compile(r"^Invalid value\.$"), "invalid"),
    (re.compile(r"^Invalid JSON body\.$"), "invalid_json"),
]


class Catalog:
    """Message texts by code in every supported language."""

    def __init__(self, *tables: Mapping[str, tuple[str, str]]):
        self._messages: dict[str, tuple[str, str]] = {}
        for table in (COMMON_MESSAGES, *tables):
            self._messages.update(table)

    def __contains__(self, code: str) -> bool:
        return code in self._messages

    def text(self, code: str, lang: str, **params) -> str:
        """Return the message for `code` in `lang`, formatted with `params`."""
        english, arabic = self._messages.get(code, (code, code))
        template = arabic if lang == "ar" else english
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template


def error_code(message: str) -> tuple[str, dict[str, str]]:
    """Turn a validation message (our code or marshmallow's English) into a code and params."""
    code, _, raw_params = message.partition(":")
    if code.isidentifier() and code.islower():
        params = dict(p.split("=", 1) for p in raw_params.split(",") if "=" in p)
        return code, params
    for pattern, mapped in _MARSHMALLOW_PATTERNS:
        match = pattern.match(message)
        if match:
            return mapped, match.groupdict()
    return "invalid", {}


def negotiate(requested: str | None, cookie: str | None, accept: str | None, default: str) -> str:
    """Pick the language: explicit request, then cookie, then Accept-Language, then default."""
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return candidate
    for tag in _accepted_tags(accept or ""):
        if tag in LANGUAGES:
            return tag
    return default


def _accepted_tags(header: str) -> list[str]:
    """Return the primary language tags of an Accept-Language header, best first."""
    weighted = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        weighted.append((-weight, index, tag.strip().lower()[:2]))
    return [tag for weight, _, tag in sorted(weighted) if weight < 0]


def direction(lang: str) -> str:
    """Return the text direction of a language."""
    return "rtl" if lang == "ar" else "ltr"
