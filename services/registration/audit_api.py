"""JSON API of registration's audit log: organizers see who viewed or changed delegates' data."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from services.registration import operations
from services.registration.operations import audit
from services.registration.scopes import MANAGE, scoped_event
from shared.access import allow
from shared.fields import StrictSchema, database_int, one_of
from shared.web import db_session

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1", description="Audit log API")


class AuditQuerySchema(StrictSchema):
    """Which entries: an action, an agency (by code), a delegate; a page before an entry id."""

    action = fields.String(load_default=None, validate=one_of(audit.ACTIONS))
    agency = fields.String(load_default=None, validate=validate.Length(max=32))
    registration = database_int(strict=False, load_default=None)
    before = database_int(strict=False, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    lang = fields.String(load_default=None, validate=one_of(("ar", "en")))


class AuditEntrySchema(StrictSchema):
    """Who did what to whose data, and when."""

    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    role = fields.String()
    action = fields.String()
    agency_id = fields.Integer(allow_none=True)
    registration_id = fields.Integer(allow_none=True)
    detail = fields.Dict()


@blp.route("/events/<ref>/audit")
@blp.arguments(AuditQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AuditEntrySchema(many=True))
@allow(*MANAGE)
def audit_log(args, ref):
    """The event's audit log, newest first (page back with `?before=<last id>`)."""
    session = db_session()
    event = scoped_event(ref)
    filters = {"action": args["action"], "registration_id": args["registration"]}
    filters["before"] = args["before"]
    if args["agency"] is not None:
        filters["agency_id"] = operations.get_agency(session, event, args["agency"].upper()).id
    return audit.entries(session, event.id, filters, args["limit"])
