"""Payload schemas of the registration API and forms (one schema per payload)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from services.registration import domain
from services.registration.domain import CHANNELS, GENDERS, SECTORS
from shared.config import LANGUAGES
from shared.contact import ContactError, normalise_email, normalise_phone
from shared.fields import StrictSchema, Text, in_service_years, one_of
from shared.problems import DomainError

DATABASE_INT_MAX = 2**31 - 1  # PostgreSQL integer; SQLite refuses beyond 2**63 - 1
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}\Z")
_TIMEZONES = frozenset(available_timezones())


class Phone(fields.String):
    """A mobile number, stored in E.164 (default region Iraq)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return normalise_phone(super()._deserialize(value, attr, data, **kwargs))
        except ContactError as error:
            raise ValidationError(error.code) from None


class Email(fields.String):
    """An email address, normalised (no network lookups)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return normalise_email(super()._deserialize(value, attr, data, **kwargs))
        except ContactError as error:
            raise ValidationError(error.code) from None


class Days(fields.List):
    """Event days: loaded as dates, dumped from the event's day rows."""

    def _serialize(self, value, attr, obj, **kwargs):
        dates = [getattr(day, "day", day) for day in value or []]
        return super()._serialize(dates, attr, obj, **kwargs)


class EventSchema(StrictSchema):
    """An event: names, venue, timezone, days, capacity and registration window."""

    id = fields.Integer(dump_only=True)
    slug = fields.String(
        required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{2,63}\Z", error="invalid_slug")
    )
    name_ar = Text(300, required=True)
    name_en = Text(300, required=True)
    venue_ar = Text(300, required=True)
    venue_en = Text(300, required=True)
    timezone = fields.String(
        required=True, validate=validate.OneOf(_TIMEZONES, error="invalid_timezone")
    )
    days = Days(
        fields.Date(validate=in_service_years),
        required=True,
        validate=[
            validate.Length(min=1, error="too_few:min={min}"),
            validate.Length(max=60, error="too_many:max={max}"),
        ],
    )
    capacity = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Range(min=1, error="too_small:min={min}"),
            validate.Range(max=DATABASE_INT_MAX, error="too_large:max={max}"),
        ],
    )
    registration_opens_at = fields.AwareDateTime(
        load_default=None, allow_none=True, validate=in_service_years
    )
    registration_closes_at = fields.AwareDateTime(
        load_default=None, allow_none=True, validate=in_service_years
    )
    default_language = fields.String(load_default="ar", validate=one_of(LANGUAGES))
    registered_count = fields.Integer(dump_only=True)

    @validates_schema
    def _window_in_order(self, data, **kwargs):
        opens, closes = data.get("registration_opens_at"), data.get("registration_closes_at")
        if opens and closes and closes <= opens:
            raise ValidationError("closes_before_opens", field_name="registration_closes_at")


class AgencySchema(StrictSchema):
    """An agency taking part in an event, with its quota of seats."""

    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE, error="invalid_code"))
    name_ar = Text(300, required=True)
    name_en = Text(300, required=True)
    sector = fields.String(load_default="other", validate=one_of(SECTORS))
    governorate = Text(64, load_default=None, allow_none=True)
    quota = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Range(min=0, error="too_small:min={min}"),
            validate.Range(max=DATABASE_INT_MAX, error="too_large:max={max}"),
        ],
    )
    registered_count = fields.Integer(dump_only=True)


class AgencyChangeSchema(AgencySchema):
    """A change to an agency: any of its fields but the code."""

    class Meta:
        exclude = ("code",)


class CategorySchema(StrictSchema):
    """A badge category (delegate, speaker, press...) with its colour."""

    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(CODE, error="invalid_code"))
    name_ar = Text(100, required=True)
    name_en = Text(100, required=True)
    color = fields.String(
        required=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}\Z", error="invalid_color")
    )
    self_registration = fields.Boolean(load_default=False)


class AgencyLinkSchema(Schema):
    """An agency focal point's private registration link."""

    agency = fields.String(required=True)
    url = fields.String(required=True)


class BadgeKeySchema(Schema):
    """A public key that verifies badge tokens."""

    kid = fields.Integer()
    alg = fields.String()
    public_key = fields.String()
    active = fields.Boolean()


class BadgeSchema(Schema):
    """A badge: its id, generation, signed token (the QR payload) and image links."""

    id = fields.Integer()
    generation = fields.Integer()
    token = fields.String()
    png_url = fields.String()
    svg_url = fields.String()


class ReasonSchema(StrictSchema):
    """An optional reason for cancelling or reissuing."""

    reason = Text(500, load_default=None, allow_none=True)


class CodeRef(fields.Field):
    """Loads a code such as "IWED"; dumps the referenced object's code and names."""

    def __init__(self, keys: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.keys = keys

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else {key: getattr(value, key) for key in self.keys}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("not_string")
        code = value.strip().upper()
        if len(code) > 32:
            raise ValidationError("too_long:max=32")
        if not CODE.match(code):
            raise ValidationError("invalid_code")
        return code


def _written_in_letters(name: str) -> None:
    if not domain.has_letters(name):
        raise ValidationError("name_without_letters")


class RegistrationSchema(StrictSchema):
    """A delegate's registration: loaded from the form/API, dumped with badge and agency."""

    id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    # A name door staff can read and search: tatweel, marks or dots alone are none.
    full_name_ar = Text(200, load_default=None, allow_none=True, validate=[_written_in_letters])
    full_name_en = Text(200, load_default=None, allow_none=True, validate=[_written_in_letters])
    job_title = Text(200, load_default=None, allow_none=True)
    agency = CodeRef(
        ("code", "name_ar", "name_en"),
        load_default=None,
        metadata={"description": "Agency code; dumped with its names."},
    )
    category = CodeRef(
        ("code", "name_ar", "name_en", "color"),
        load_default=None,
        metadata={"description": "Category code (default DELEGATE)."},
    )
    email = Email(load_default=None, allow_none=True)
    phone = Phone(load_default=None, allow_none=True)
    gender = fields.String(required=True, validate=one_of(GENDERS))
    language = fields.String(load_default="ar", validate=one_of(LANGUAGES))
    channel = fields.String(load_default="email", validate=one_of(CHANNELS))
    consent = fields.Boolean(
        required=True,
        load_only=True,
        validate=validate.Equal(True, error="consent_required"),
        error_messages={"required": "consent_required", "null": "consent_required"},
    )
    created_at = fields.AwareDateTime(dump_only=True)
    badge = fields.Nested(BadgeSchema, dump_only=True)
    self_service_url = fields.String(
        dump_only=True,
        metadata={"description": "The delegate's private link; only in the delegate's own answer"},
    )

    @pre_load
    def _blank_is_missing(self, data, **kwargs):
        """Treat empty strings (unfilled form fields) as missing."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    # Not skipped on field errors: one answer lists every problem, these rules' included.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _needs_name_and_contact(self, data, original_data, partial=False, **kwargs):
        if partial or not isinstance(original_data, Mapping):
            return
        given = {name for name, value in original_data.items() if not _blank(value)}
        errors = _registration_rules(data, given)
        rules_of_event = _EVENT_RULES.get()
        if rules_of_event is not None:
            # A field refused on its own keeps that reason only.
            errors |= {k: v for k, v in rules_of_event(data).items() if k not in given - set(data)}
        if errors:
            raise ValidationError(errors)


# Rules needing the event (its agencies and categories): from the loaded data to {field: [codes]}.
Rules = Callable[[dict], dict[str, list[str]]]
# Registration's own variable (marshmallow's Context is one variable shared by all its users).
_EVENT_RULES: ContextVar[Rules | None] = ContextVar("registration_event_rules", default=None)


class EventRules:
    """Event rules the registration schema applies inside `with` (None lifts them); re-entrant."""

    def __init__(self, check: Rules | None):
        self.check = check
        self._tokens: list = []

    def __enter__(self) -> EventRules:
        self._tokens.append(_EVENT_RULES.set(self.check))
        return self

    def __exit__(self, *exc) -> None:
        _EVENT_RULES.reset(self._tokens.pop())


def _blank(value) -> bool:
    """An absent answer: null, or a string of spaces (an unfilled form field)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _registration_rules(data: dict, given: set[str]) -> dict[str, list[str]]:
    """A name, a contact, and the contact the channel needs; a refused value counts as given."""
    errors = {}
    if not given & {"full_name_ar", "full_name_en"}:
        errors["full_name_ar"] = ["name_required"]
    if not given & {"email", "phone"}:
        errors["email"] = ["contact_required"]
    elif "channel" in data:
        try:
            domain.check_channel(data["channel"], "email" in given, "phone" in given)
        except DomainError as error:
            errors |= {e.field: [e.code] for e in error.fields}
    return errors


class ContactSchema(StrictSchema):
    """A delegate's correction of contact details and preferences."""

    job_title = Text(200, allow_none=True)
    email = Email(allow_none=True)
    phone = Phone(allow_none=True)
    language = fields.String(validate=one_of(LANGUAGES))
    channel = fields.String(validate=one_of(CHANNELS))
