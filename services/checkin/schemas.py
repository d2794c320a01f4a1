"""Payload schemas of the check-in API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.checkin.domain import STATUSES
from services.checkin.models import ENTRY, EXIT
from shared.fields import StrictSchema, Text, database_int, in_service_years, length

_NONCE = validate.Regexp(r"^[A-Za-z0-9_.:-]{8,64}$", error="invalid_nonce")


class ScanSchema(StrictSchema):
    """A scan from a door: the QR's token, list, gate, direction and a client nonce."""

    # Any text: a token that is not one is answered "malformed" (red), as the door needs.
    token = fields.String(required=True, validate=length(200))
    list_id = database_int(required=True)
    gate = Text(64, load_default="main")
    nonce = fields.String(required=True, validate=_NONCE)
    direction = fields.String(
        load_default=ENTRY,
        validate=validate.OneOf((ENTRY, EXIT), error=f"one_of:choices={ENTRY}|{EXIT}"),
    )
    scanned_at = fields.AwareDateTime(load_default=None, validate=in_service_years)
    offline = fields.Boolean(load_default=False)


class ManualCheckinSchema(StrictSchema):
    """A check-in by badge id, after a manual search."""

    badge_id = database_int(required=True)
    list_id = database_int(required=True)
    gate = Text(64, load_default="main")
    nonce = fields.String(required=True, validate=_NONCE)


class RosterNamesSchema(Schema):
    """A delegate's names, agency and category as the roster holds them."""

    full_name_ar = fields.String(allow_none=True)
    full_name_en = fields.String(allow_none=True)
    agency_code = fields.String()
    agency_name_ar = fields.String()
    agency_name_en = fields.String()
    category_code = fields.String()
    category_name_ar = fields.String()
    category_name_en = fields.String()


class BadgeViewSchema(RosterNamesSchema):
    """The badge holder as door staff see them (no contact details)."""

    id = fields.Integer()
    category_color = fields.String()


class FirstCheckinSchema(Schema):
    at = fields.String()
    gate = fields.String()


class ScanAnswerSchema(Schema):
    """The door's answer: one status, its light, and who the badge belongs to."""

    status = fields.String(metadata={"enum": list(STATUSES)})
    light = fields.String(metadata={"enum": ["green", "amber", "red"]})
    reason = fields.String(allow_none=True)
    first_checkin = fields.Nested(FirstCheckinSchema, allow_none=True)
    badge = fields.Nested(BadgeViewSchema, allow_none=True)
    direction = fields.String()
    gate = fields.String()
    offline = fields.Boolean()
    recorded_at = fields.String()


class SearchQuerySchema(StrictSchema):
    q = Text(100, required=True)


class CheckinListSchema(StrictSchema):
    """A check-in list: a day, or a session/hall admitting chosen categories."""

    id = fields.Integer(dump_only=True)
    event_id = fields.Integer(dump_only=True)
    name_ar = Text(200, required=True)
    name_en = Text(200, required=True)
    day = fields.Date(load_default=None, allow_none=True, validate=in_service_years)
    categories = fields.List(
        Text(32),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20, error="too_many:max={max}"),
    )


class UndoSchema(StrictSchema):
    reason = Text(
        500, required=True, validate=[validate.Length(min=3, error="too_short:min={min}")]
    )


class CheckinSchema(Schema):
    id = fields.Integer()
    list_id = fields.Integer()
    badge_id = fields.Integer()
    gate = fields.String()
    checked_in_at = fields.AwareDateTime()
    undone_at = fields.AwareDateTime(allow_none=True)
    undo_reason = fields.String(allow_none=True)


class DeviceRequestSchema(StrictSchema):
    gate = Text(64, required=True)
    name = Text(100, required=True)


class DeviceSchema(Schema):
    """A door device; `token` and `enrol_url` are shown once, at creation."""

    id = fields.String()
    event_id = fields.Integer()
    gate = fields.String()
    name = fields.String()
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    token = fields.String()
    enrol_url = fields.String()
    enrol_qr_png = fields.String(metadata={"description": "data: URL of a QR of enrol_url"})


class DeviceMeSchema(Schema):
    """The calling door device, as its scanner page needs it (no token)."""

    id = fields.String()
    event_id = fields.Integer()
    gate = fields.String()
    name = fields.String()


class CountSchema(Schema):
    list_id = fields.Integer()
    gate = fields.String()
    checked_in = fields.Integer()
    inside = fields.Integer()
    last_15_minutes = fields.Integer()


class SearchResultSchema(BadgeViewSchema):
    status = fields.String()
