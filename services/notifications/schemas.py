"""Payload schemas of the notifications API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from services.notifications.models import STATUSES


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

    event_id = fields.Integer(validate=validate.Range(min=1, error="too_small:min={min}"))
    status = fields.String(
        validate=validate.OneOf(STATUSES, error="one_of:choices=" + "|".join(STATUSES))
    )
    channel = fields.String(
        validate=validate.OneOf(("email", "sms"), error="one_of:choices=email|sms")
    )
    kind = fields.String(validate=validate.Length(max=32, error="too_long:max={max}"))
    badge_id = fields.Integer(validate=validate.Range(min=1, error="too_small:min={min}"))
    before_id = fields.Integer(validate=validate.Range(min=1, error="too_small:min={min}"))
    limit = fields.Integer(
        load_default=100, validate=validate.Range(min=1, max=500, error="too_large:max={max}")
    )


class AudienceSchema(Schema):
    """Who receives an organizer's message: everyone, or one agency and/or category."""

    class Meta:
        unknown = RAISE

    agency = fields.String(validate=validate.Length(max=32, error="too_long:max={max}"))
    category = fields.String(validate=validate.Length(max=32, error="too_long:max={max}"))


class BroadcastSchema(Schema):
    """An organizer's message to a chosen set of delegates, in both languages."""

    class Meta:
        unknown = RAISE

    audience = fields.Nested(AudienceSchema, load_default=dict)
    subject_ar = fields.String(
        required=True, validate=validate.Length(min=1, max=200, error="too_long:max={max}")
    )
    subject_en = fields.String(
        required=True, validate=validate.Length(min=1, max=200, error="too_long:max={max}")
    )
    body_ar = fields.String(
        required=True, validate=validate.Length(min=1, max=2000, error="too_long:max={max}")
    )
    body_en = fields.String(
        required=True, validate=validate.Length(min=1, max=2000, error="too_long:max={max}")
    )


class BroadcastResultSchema(Schema):
    """How many messages an organizer's broadcast queued."""

    id = fields.String()
    queued = fields.Integer()
