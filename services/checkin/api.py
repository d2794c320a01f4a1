"""JSON API /api/v1/ of the check-in service: scans, search, lists, devices, counts."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_smorest import Blueprint

from services.checkin import operations
from services.checkin.enrolment import enrol_device
from services.checkin.models import Device, EventInfo
from services.checkin.schemas import (
    CheckinListSchema,
    CheckinSchema,
    CountSchema,
    DeviceMeSchema,
    DeviceRequestSchema,
    DeviceSchema,
    ManualCheckinSchema,
    ScanAnswerSchema,
    ScanSchema,
    SearchQuerySchema,
    SearchResultSchema,
    UndoSchema,
)
from shared.access import PUBLIC, allow, current_identity, require_event_scope
from shared.limits import hit_search_limit
from shared.problems import DomainError
from shared.web import db_session

MANAGE = ("admin", "organizer")
DOOR = ("admin", "organizer", "device")
blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Check-in API")


def config():
    """The running check-in app's configuration."""
    return current_app.extensions["checkin_config"]


def _scope():
    return current_identity().events


def _actor() -> str:
    return current_identity().subject


def _event(event_id: int) -> EventInfo:
    require_event_scope(current_identity(), event_id)
    event = db_session().get(EventInfo, event_id)
    if event is None:
        raise DomainError("event_not_found", kind="not_found")
    return event


@blp.route("/scans", methods=["POST"])
@blp.arguments(ScanSchema())  # an instance: webargs would build a schema class at every request
@blp.response(200, ScanAnswerSchema)
@allow(*DOOR)
def scan(data):
    """Answer a QR scan: ok, already_checked_in, revoked, cancelled, not_on_this_list, ..."""
    session, identity = db_session(), current_identity()  # read once: each is a lookup in `g`
    request = _door_request(session, identity, data)
    answer = operations.scan(session, config().public_keys, request, identity.events)
    # Built in ScanAnswerSchema's shape (tests hold it there): the doors' hot path skips a dump.
    return jsonify(answer)


def _door_request(session, identity, data: dict) -> operations.ScanRequest:
    """The scan asked for; a door device scans at the gate it was enrolled for, whatever it says."""
    if identity.role != "device":
        return operations.ScanRequest(**data)
    gate = operations.device_gate(session, identity.token_id)
    at_gate = {**data, "gate": gate} if gate is not None else data
    return operations.ScanRequest(**at_gate, device_id=identity.token_id)


@blp.route("/checkins", methods=["POST"])
@blp.arguments(ManualCheckinSchema())
@blp.response(200, ScanAnswerSchema)
@allow(*DOOR)
def manual_checkin(data):
    """Check in a delegate found by search (no QR), with the same rules as a scan."""
    session, identity = db_session(), current_identity()
    # Counted with searches: answers name the badge's holder, so badge ids tried one after
    # another would list the roster that searches are limited to keep from being walked.
    hit_search_limit(identity.subject)
    request = _door_request(session, identity, data)
    return operations.manual_checkin(session, request, identity.subject, identity.events)


@blp.route("/checkins/<id:checkin_id>/undo", methods=["POST"])
@blp.arguments(UndoSchema)
@blp.response(200, CheckinSchema)
@allow(*MANAGE)
def undo(data, checkin_id):
    """Undo a mistaken check-in, with a reason (recorded in the audit log)."""
    return operations.undo_checkin(db_session(), checkin_id, data["reason"], _actor(), _scope())


@blp.route("/events/<id:event_id>/search", methods=["POST"])
@blp.arguments(SearchQuerySchema)
@blp.response(200, SearchResultSchema(many=True))
@allow(*DOOR)
def search(args, event_id):
    """Find delegates by name (3 letters or more, Arabic-aware), whole phone, e-mail or agency code.

    POST, so the name, phone or e-mail searched for stays out of URLs and so out of access logs.
    """
    _event(event_id)
    hit_search_limit(current_identity().subject)
    entries = operations.search(db_session(), event_id, args["q"])
    return [{**operations.badge_view(e), "status": e.status} for e in entries]


@blp.route("/events/<id:event_id>/lists")
@blp.response(200, CheckinListSchema(many=True))
@allow(*DOOR)
def lists(event_id):
    """The event's check-in lists (one per day by default)."""
    _event(event_id)
    return operations.lists_of(db_session(), event_id)


@blp.route("/events/<id:event_id>/lists", methods=["POST"])
@blp.arguments(CheckinListSchema)
@blp.response(201, CheckinListSchema)
@allow(*MANAGE)
def add_list(data, event_id):
    """Add a session or hall list admitting chosen categories."""
    _event(event_id)
    return operations.add_list(db_session(), event_id, data)


@blp.route("/events/<id:event_id>/counts")
@blp.response(200, CountSchema(many=True))
@allow(*DOOR, "viewer")
def counts(event_id):
    """Live counts per list and gate: checked in, inside now, last 15 minutes."""
    _event(event_id)
    return operations.live_counts(db_session(), event_id)


@blp.route("/events/<id:event_id>/devices")
@blp.response(200, DeviceSchema(many=True))
@allow(*MANAGE)
def list_devices(event_id):
    """An event's door devices (never their tokens), those still working first."""
    _event(event_id)
    return operations.devices_of(db_session(), event_id)


@blp.route("/events/<id:event_id>/devices", methods=["POST"])
@blp.arguments(DeviceRequestSchema)
@blp.response(201, DeviceSchema)
@allow(*MANAGE)
def create_device(data, event_id):
    """Enrol a door device; its token is shown once (also as a QR to scan with the phone)."""
    _event(event_id)
    enrolment = enrol_device(event_id, data["gate"], data["name"], _actor())
    fields = ("id", "event_id", "gate", "name", "created_at", "revoked_at")
    return {
        **{field: getattr(enrolment.device, field) for field in fields},
        "token": enrolment.token,
        "enrol_url": enrolment.url,
        "enrol_qr_png": enrolment.qr_data_url,
    }


@blp.route("/devices/<device_id>/revoke", methods=["POST"])
@blp.response(200, DeviceSchema)
@allow(*MANAGE)
def revoke_device(device_id):
    """Revoke a door device: its token stops working at once."""
    return operations.revoke_device(db_session(), device_id, _actor(), _scope())


@blp.route("/devices/me")
@blp.response(200, DeviceMeSchema)
@allow("device")
def device_me():
    """The calling device: its event, gate and name (the scanner page starts from this)."""
    device = db_session().get(Device, current_identity().token_id)
    if device is None:
        raise DomainError("device_not_found", kind="not_found")
    return device


@blp.route("/badge-keys")
@blp.response(200)
@allow(PUBLIC)
def badge_keys():
    """Public keys that verify badge tokens (a door can check signatures offline)."""
    return config().public_key_document
