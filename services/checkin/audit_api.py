"""JSON API of check-in's audit log, for organizers: undos, manual check-ins, devices, reports."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from services.checkin.api import MANAGE
from services.checkin.operations import audit
from shared.access import allow, current_identity, require_event_scope
from shared.fields import StrictSchema, Text, database_int
from shared.web import db_session

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit log")


class AuditQuerySchema(StrictSchema):
    """Which entries: an action, a badge; a page before an entry id."""

    action = Text(40, load_default=None)
    badge = database_int(strict=False, load_default=None)
    before = database_int(strict=False, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    lang = fields.String(load_default=None, validate=validate.OneOf(("ar", "en")))


class AuditEntrySchema(StrictSchema):
    """Who did what, to which badge, and when."""

    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    badge_id = fields.Integer(allow_none=True)
    detail = fields.Dict()


@blp.route("/events/<id:event_id>/audit")
@blp.arguments(AuditQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AuditEntrySchema(many=True))
@allow(*MANAGE)
def audit_log(args, event_id):
    """The event's audit log, newest first (page back with `?before=<last id>`)."""
    require_event_scope(current_identity(), event_id)
    filters = {"action": args["action"], "badge_id": args["badge"], "before": args["before"]}
    return audit.entries(db_session(), event_id, filters, args["limit"])
