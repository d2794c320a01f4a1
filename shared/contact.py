"""Normalisation and validation of delegate phone numbers and email addresses."""

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

MAX_PHONE_INPUT = 32
MAX_EMAIL_LENGTH = 254

_DIGITS = str.maketrans(
    {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}
)
# phonenumbers would otherwise pull a number out of "Ali 0770…" or spell out "0770-ALI-…".
_PHONE_CHARS = re.compile(r"\+?[0-9\s().\-/]+")
_SMS_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class ContactError(ValueError):
    """A phone number or email address that cannot be accepted."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def _parse_phone(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Return the parsed number if raw is a valid number, else None."""
    text = raw.translate(_DIGITS)
    if not _PHONE_CHARS.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalise_phone(raw: str, region: str = "IQ") -> str:
    """Return raw as an E.164 mobile number or raise ContactError."""
    text = raw.strip()
    if not text:
        raise ContactError("phone", "phone_empty", "Phone number is required.")
    if len(text) > MAX_PHONE_INPUT:
        raise ContactError("phone", "phone_too_long", "Phone number is too long.")
    number = _parse_phone(text, region)
    if number is None:
        raise ContactError("phone", "phone_invalid", "Phone number is not valid.")
    if phonenumbers.number_type(number) not in _SMS_TYPES:
        raise ContactError("phone", "phone_not_mobile", "Phone number cannot receive SMS.")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_search_variants(raw: str, region: str = "IQ") -> str | None:
    """Return the E.164 form of raw if it is a valid number, else None."""
    text = raw.strip()
    if not text or len(text) > MAX_PHONE_INPUT:
        return None
    number = _parse_phone(text, region)
    return None if number is None else phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Return raw as a lowercased address in ASCII (punycode domain) or raise ContactError."""
    text = raw.strip()
    if not text:
        raise ContactError("email", "email_empty", "Email address is required.")
    if len(text) > MAX_EMAIL_LENGTH:
        raise ContactError("email", "email_too_long", "Email address is too long.")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactError("email", "email_invalid", f"Email address is not valid: {exc}") from exc
    # A non-ASCII local part needs SMTPUTF8 end to end, which neither our messages nor most
    # relays offer; the ASCII form (IDNA domain) is what every relay delivers to.
    if result.ascii_email is None:
        raise ContactError(
            "email", "email_local_part_not_ascii", "Email address must be ASCII before the @."
        )
    return result.ascii_email.lower()
