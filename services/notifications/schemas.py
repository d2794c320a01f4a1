"""Payload schemas of the notifications API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, pre_load, validate

from services.notifications.models import STATUSES
from shared.fields import StrictSchema, Text, database_int


class DeliverySchema(Schema):
    """One logged message: channel, template, recipient, status, attempts and timestamps."""

    id = fields.Integer()
    event_id = fields.Integer()
    badge_id = fields.Integer()
    kind = fields.String()
    channel = fields.String()
    recipient = fields.String()
    language = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    provider_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)


class DeliveryQuerySchema(Schema):
    """Filters of the delivery log."""

    class Meta:
        unknown = RAISE

    event_id = database_int(strict=False)
    status = fields.String(
        validate=validate.OneOf(STATUSES, error="one_of:choices=" + "|".join(STATUSES))
    )
    channel = fields.String(
        validate=validate.OneOf(("email", "sms"), error="one_of:choices=email|sms")
    )
    kind = fields.String(validate=validate.Length(max=32, error="too_long:max={max}"))
    badge_id = database_int(strict=False)
    before_id = database_int(strict=False)
    limit = fields.Integer(
        load_default=100,
        validate=[
            validate.Range(min=1, error="too_small:min={min}"),
            validate.Range(max=500, error="too_large:max={max}"),
        ],
    )

    @pre_load
    def _without_language(self, data, **kwargs):
        """`lang` picks the response language on every page; it is not a filter."""
        return {k: v for k, v in data.items() if k != "lang"}


class AudienceSchema(StrictSchema):
    """Who receives an organizer's message: everyone, or one agency and/or category."""

    agency = Text(32)
    category = Text(32)


class BroadcastSchema(StrictSchema):
    """An organizer's message to a chosen set of delegates, in both languages."""

    audience = fields.Nested(AudienceSchema, load_default=dict)
    subject_ar = Text(200, required=True)
    subject_en = Text(200, required=True)
    body_ar = Text(2000, required=True, line_breaks=True)
    body_en = Text(2000, required=True, line_breaks=True)


class BroadcastResultSchema(Schema):
    """How many messages an organizer's broadcast queued."""

    id = fields.String()
    queued = fields.Integer()
