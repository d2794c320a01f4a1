"""Server-rendered pages of the check-in service: the door scanner, the attendance dashboard."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request

from services.checkin.domain import local_date
from services.checkin.messages import MESSAGES
from services.checkin.operations import attendance
from services.checkin.report_api import REPORTS, report_scope
from shared.access import PUBLIC, allow
from shared.db import utcnow
from shared.problems import DomainError
from shared.web import db_session, render_domain_error, translate

pages = Blueprint("pages", __name__, template_folder="templates")
# Texts the scanner's script shows; rendered into the page as a JSON data block (not executed).
SCRIPT_TEXT_PREFIXES = ("scanner.", "status.")
DASHBOARD_TEXT_PREFIXES = ("dashboard.", "report.")
# Organizers log in on registration's page, at the root of the one URL space.
LOGIN_PATH = "/login"


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
    response = render_template("dashboard.html", report=report, settings=settings)
    return response, 200, {"Cache-Control": "no-store"}
