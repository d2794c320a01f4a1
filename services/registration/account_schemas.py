"""Payload schemas of accounts, tokens and invitations (one schema per payload)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.registration.account_models import ACCOUNT_ROLES
from services.registration.passwords import MAX_LENGTH
from services.registration.schemas import CODE, Email
from shared.config import LANGUAGES
from shared.fields import StrictSchema, Text, one_of

_LANGUAGE = one_of(LANGUAGES)
_ROLE = one_of(ACCOUNT_ROLES)


def _password(**kwargs) -> fields.String:
    # Checked for strength by the rules; only a bound on size here (hashing costs memory).
    return fields.String(
        validate=validate.Length(max=MAX_LENGTH, error="too_long:max={max}"), **kwargs
    )


class LoginSchema(StrictSchema):
    """Credentials typed on the login page or sent for a token."""

    email = Email(required=True)
    password = _password(required=True, load_only=True)


class TokenRequestSchema(LoginSchema):
    """Credentials and a label, exchanged for a bearer API token."""

    label = Text(200, load_default="API token")


class TokenLabelSchema(StrictSchema):
    """A label for a new token of the logged-in account."""

    label = Text(200, required=True)


class ApiTokenSchema(Schema):
    """A token as its owner sees it: never the secret after creation."""

    id = fields.String()
    label = fields.String()
    role = fields.String()
    created_at = fields.AwareDateTime()
    token = fields.String(metadata={"description": "Shown once, at creation."})


def scope_refusal(role: str | None, scopes: list[dict]) -> str | None:
    """Why these scopes do not suit the role (an error code), or None."""
    if role != "admin" and not scopes:
        return "scope_required"
    if role == "focal_point" and any(not s["agency"] for s in scopes):
        return "agency_required"
    if role != "focal_point" and any(s["agency"] for s in scopes):
        return "agency_only_for_focal_points"
    return None


class ScopeSchema(StrictSchema):
    """One event an account acts on, and for a focal point the agency."""

    event = fields.String(required=True, validate=validate.Length(min=1, max=64))
    agency = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(CODE, error="invalid_code")
    )


class AccountSchema(StrictSchema):
    """An account: created by an admin, shown without its password."""

    id = fields.Integer(dump_only=True)
    email = Email(required=True)
    name = Text(200, required=True)
    role = fields.String(required=True, validate=_ROLE)
    language = fields.String(load_default="ar", validate=_LANGUAGE)
    password = _password(required=True, load_only=True)
    scopes = fields.List(
        fields.Nested(ScopeSchema), load_default=list, validate=validate.Length(max=200)
    )
    # None: every event (an admin), every agency of its events (an organizer).
    event_ids = fields.List(fields.Integer(), dump_only=True, allow_none=True)
    agency_ids = fields.List(fields.Integer(), dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)

    @validates_schema
    def _scoped_unless_admin(self, data, **kwargs):
        refusal = scope_refusal(data.get("role"), data.get("scopes", []))
        if refusal:
            raise ValidationError(refusal, field_name="scopes")


class ScopesSchema(StrictSchema):
    """The new scopes of an account (replacing the old ones)."""

    scopes = fields.List(
        fields.Nested(ScopeSchema), required=True, validate=validate.Length(max=200)
    )


class InvitationSchema(StrictSchema):
    """A focal-point invitation: whom to invite, and its state when listed."""

    id = fields.Integer(dump_only=True)
    email = Email(required=True)
    name = Text(200, required=True)
    language = fields.String(load_default="ar", validate=_LANGUAGE)
    agency_id = fields.Integer(dump_only=True)
    invited_by = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)
    accepted_at = fields.AwareDateTime(dump_only=True)
    revoked_at = fields.AwareDateTime(dump_only=True)


class PasswordResetRequestSchema(StrictSchema):
    """Who forgot their password."""

    email = Email(required=True)


class NewPasswordSchema(StrictSchema):
    """A new password (reset, or accepting an invitation with an optional name)."""

    password = _password(required=True, load_only=True)
    name = Text(200, load_default=None, allow_none=True)
