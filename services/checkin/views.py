"""Server-rendered pages of the check-in service: door scanner, attendance dashboard, devices."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request
from marshmallow import ValidationError

from services.checkin import operations
from services.checkin.api import MANAGE
from services.checkin.domain import local_date, local_minute
from services.checkin.enrolment import Enrolment, enrol_device
from services.checkin.messages import MESSAGES
from services.checkin.operations import attendance
from services.checkin.report_api import REPORTS, report_scope
from services.checkin.schemas import DeviceRequestSchema
from shared.access import PUBLIC, allow, current_identity
from shared.db import utcnow
from shared.problems import DomainError, flatten_messages
from shared.web import db_session, messages_by_field, render_domain_error, translate

pages = Blueprint("pages", __name__, template_folder="templates")
# Texts the scanner's script shows; rendered into the page as a JSON data block (not executed).
SCRIPT_TEXT_PREFIXES = ("scanner.", "status.")
DASHBOARD_TEXT_PREFIXES = ("dashboard.", "report.")
# Organizers log in on registration's page, at the root of the one URL space.
LOGIN_PATH = "/login"
# The page shows a new device's token: no cache, proxy or back button may keep it.
NO_STORE = {"Cache-Control": "no-store"}


@pages.errorhandler(DomainError)
def _to_login(error: DomainError):
    """A page asked for without a session sends the browser to log in, then back here."""
    if error.code != "unauthorized":
        return render_domain_error(error)
    back = request.script_root + request.full_path.rstrip("?")
    return redirect(f"{LOGIN_PATH}?next={quote(back, safe='/')}")


@pages.route("/scan")
@allow(PUBLIC)
def scanner():
    """The door scanner page; it enrols with a device token and calls the API with it."""
    texts = {code: translate(code) for code in MESSAGES if code.startswith(SCRIPT_TEXT_PREFIXES)}
    response = render_template(
        "scanner.html", texts=texts, api_base=f"{request.script_root}/api/v1/"
    )
    # The page is the same for every device (the token lives in the browser), so it may be cached
    # briefly, but a new release must reach the doors quickly.
    return response, 200, {"Cache-Control": "no-cache"}


@pages.route("/events/<id:event_id>/dashboard")
@allow(*REPORTS)
def dashboard(event_id):
    """Registrations against quota, arrivals over time and attendance by agency, kept live."""
    scope = report_scope(event_id)
    report = attendance.report(db_session(), scope, ("agency",))
    days = report["event"]["days"]
    today = local_date(utcnow(), scope.event.timezone).isoformat()
    texts = {code: translate(code) for code in MESSAGES if code.startswith(DASHBOARD_TEXT_PREFIXES)}
    settings = {
        "api": f"{request.script_root}/api/v1/events/{event_id}/",
        "day": today if today in days else (days[-1] if days else today),
        "timezone": scope.event.timezone,
        "texts": texts,
    }
    can_manage = current_identity().role in MANAGE
    response = render_template(
        "dashboard.html", report=report, settings=settings, can_manage=can_manage
    )
    return response, 200, {"Cache-Control": "no-store"}


@pages.route("/events/<id:event_id>/devices", methods=["GET", "POST"])
@allow(*MANAGE)
def devices(event_id):
    """The event's door devices: enrol one (its QR shown once), revoke one."""
    event = report_scope(event_id).event
    enrolment, errors, notice = None, {}, None
    if request.method == "POST" and request.form.get("revoke"):
        _revoke(event_id, request.form["revoke"])
        notice = translate("devices.revoked")
    elif request.method == "POST":
        enrolment, errors = _enrol(event_id)
    page = render_template(
        "devices.html",
        event=event,
        devices=operations.devices_of(db_session(), event_id),
        activity=operations.device_activity(db_session(), event_id),
        enrolment=enrolment,
        errors=errors,
        notice=notice,
        values=request.form,
        csrf=current_identity().csrf,
        local_time=lambda moment: local_minute(moment, event.timezone),
    )
    return page, 422 if errors else (201 if enrolment else 200), NO_STORE


def _enrol(event_id: int) -> tuple[Enrolment | None, dict[str, list[str]]]:
    """Enrol a device from the form, or say what is wrong with each field."""
    fields = {name: request.form.get(name, "") for name in ("gate", "name")}
    try:
        data = DeviceRequestSchema().load(fields)
    except ValidationError as error:
        return None, messages_by_field(flatten_messages(error.messages))
    return enrol_device(event_id, data["gate"], data["name"], current_identity().subject), {}


def _revoke(event_id: int, device_id: str) -> None:
    identity = current_identity()
    operations.revoke_device(db_session(), device_id[:64], identity.subject, [event_id])
