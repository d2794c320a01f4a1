"""Message contracts between services: task names and the payload schemas both sides validate."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.fields import StrictSchema

SCHEMA_VERSION = 1
DELEGATE_TOPICS = (
    "delegate.registered",
    "delegate.updated",
    "delegate.cancelled",
    "badge.reissued",
)
# The reason of a `delegate.updated` that gave the delegate a new e-mail or phone: their badge
# and private link were renewed, and the new ones must reach them at the new address.
CONTACT_CHANGED = "contact_changed"
# Consumers of registration's delegate events, by task name.
NOTIFICATIONS_DELEGATE_EVENT = "notifications.handle_delegate_event"
CHECKIN_ROSTER_EVENT = "checkin.apply_roster_event"
DELEGATE_EVENT_CONSUMERS = (NOTIFICATIONS_DELEGATE_EVENT, CHECKIN_ROSTER_EVENT)
# A revoked bearer token must stop working in every service, not only where it was issued.
TOKEN_REVOKED = "token.revoked"
TOKEN_REVOCATION_CONSUMERS = ("notifications.revoke_token", "checkin.revoke_token")
# Emails to accounts (password reset, focal-point invitation) travel like delegate messages.
ACCOUNT_MESSAGE = "account.message"
ACCOUNT_MESSAGE_KINDS = ("password_reset", "invitation")
ACCOUNT_MESSAGE_CONSUMERS = ("notifications.handle_account_message",)
# A password reset was asked for an address: registration's worker looks the account up, so the
# request does the same work, in the same time, whether or not the address has an account.
RESET_REQUESTED = "account.reset_requested"
RESET_REQUEST_CONSUMERS = ("registration.send_password_reset",)
# An event's set-up (days, agencies with quotas, categories) changed: check-in reports on it.
EVENT_CHANGED = "event.changed"
EVENT_CHANGE_CONSUMERS = ("checkin.apply_event_snapshot",)
CONSUMERS_BY_TOPIC = {
    **dict.fromkeys(DELEGATE_TOPICS, DELEGATE_EVENT_CONSUMERS),
    TOKEN_REVOKED: TOKEN_REVOCATION_CONSUMERS,
    ACCOUNT_MESSAGE: ACCOUNT_MESSAGE_CONSUMERS,
    RESET_REQUESTED: RESET_REQUEST_CONSUMERS,
    EVENT_CHANGED: EVENT_CHANGE_CONSUMERS,
}


class EventInfoSchema(StrictSchema):
    """The event a delegate event belongs to."""

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name_ar = fields.String(required=True)
    name_en = fields.String(required=True)
    venue_ar = fields.String(required=True)
    venue_en = fields.String(required=True)
    timezone = fields.String(required=True)
    days = fields.List(fields.Date(), required=True)


class AgencyInfoSchema(StrictSchema):
    """The delegate's agency."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name_ar = fields.String(required=True)
    name_en = fields.String(required=True)


class CategoryInfoSchema(StrictSchema):
    """The delegate's badge category."""

    code = fields.String(required=True)
    name_ar = fields.String(required=True)
    name_en = fields.String(required=True)
    color = fields.String(required=True)


class DelegateInfoSchema(StrictSchema):
    """The delegate as consumers need it: identity, contact, badge state, version."""

    badge_id = fields.Integer(required=True)
    generation = fields.Integer(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "cancelled"]))
    full_name_ar = fields.String(required=True, allow_none=True)
    full_name_en = fields.String(required=True, allow_none=True)
    job_title = fields.String(required=True, allow_none=True)
    gender = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(["ar", "en"]))
    channel = fields.String(required=True, validate=validate.OneOf(["email", "sms", "both"]))
    email = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    agency = fields.Nested(AgencyInfoSchema, required=True)
    category = fields.Nested(CategoryInfoSchema, required=True)


class DelegateEventSchema(StrictSchema):
    """A registration event (`delegate.registered`, ...) as carried by the outbox."""

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    topic = fields.String(required=True, validate=validate.OneOf(DELEGATE_TOPICS))
    message_id = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    event = fields.Nested(EventInfoSchema, required=True)
    delegate = fields.Nested(DelegateInfoSchema, required=True)
    badge_token = fields.String(required=True)
    self_service_url = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class TokenRevokedSchema(StrictSchema):
    """A bearer token revoked in registration (`token.revoked`), for every service to refuse."""

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    topic = fields.String(required=True, validate=validate.Equal(TOKEN_REVOKED))
    message_id = fields.String(required=True)
    token_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    revoked_at = fields.DateTime(required=True)


class NamesSchema(StrictSchema):
    """A name in both languages."""

    name_ar = fields.String(required=True)
    name_en = fields.String(required=True)


class AccountMessageSchema(StrictSchema):
    """An email to an account holder (`account.message`): a reset or invitation link."""

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    topic = fields.String(required=True, validate=validate.Equal(ACCOUNT_MESSAGE))
    message_id = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACCOUNT_MESSAGE_KINDS))
    email = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, validate=validate.OneOf(["ar", "en"]))
    # The signed link; secret, so it is never shown in delivery listings.
    link = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    event_id = fields.Integer(load_default=None, allow_none=True)
    event = fields.Nested(NamesSchema, load_default=None, allow_none=True)
    agency = fields.Nested(NamesSchema, load_default=None, allow_none=True)


class ResetRequestSchema(StrictSchema):
    """A password reset asked for an address (`account.reset_requested`), known or not."""

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    topic = fields.String(required=True, validate=validate.Equal(RESET_REQUESTED))
    message_id = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(["ar", "en"]))


class AgencySnapshotSchema(StrictSchema):
    """One agency of an event with what reports need: quota and sector."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name_ar = fields.String(required=True)
    name_en = fields.String(required=True)
    sector = fields.String(required=True)
    governorate = fields.String(required=True, allow_none=True)
    quota = fields.Integer(required=True, allow_none=True)


class EventSnapshotSchema(StrictSchema):
    """An event's whole set-up (`event.changed`): agencies and categories, even without delegates.

    `sequence` grows with every change of the event; a consumer ignores an older snapshot.
    """

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    topic = fields.String(required=True, validate=validate.Equal(EVENT_CHANGED))
    message_id = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    sequence = fields.Integer(required=True, validate=validate.Range(min=0))
    event = fields.Nested(EventInfoSchema, required=True)
    agencies = fields.List(fields.Nested(AgencySnapshotSchema), required=True)
    categories = fields.List(fields.Nested(CategoryInfoSchema), required=True)
