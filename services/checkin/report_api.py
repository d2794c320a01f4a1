"""Attendance report API: figures by agency, day, category and gender; people lists; exports."""

from __future__ import annotations

from flask import Response, current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select

from services.checkin import exports, figures, report_pdf
from services.checkin.models import Agency, EventInfo, RosterEntry
from services.checkin.operations import attendance, attendees
from services.checkin.report_schemas import (
    ArrivalSchema,
    ArrivalsQuerySchema,
    AttendanceQuerySchema,
    AttendanceSchema,
    InsideCountSchema,
    InsideQuerySchema,
    InsideSchema,
    PeopleQuerySchema,
    PersonSchema,
    report_document,
)
from shared.access import allow, current_identity, require_agency_scope, require_event_scope
from shared.problems import DomainError
from shared.web import db_session, translate

REPORTS = ("admin", "organizer", "viewer", "focal_point")
CONTACT = ("admin", "organizer")
EVENT = "/events/<id:event_id>"
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Attendance reports")


def report_scope(event_id: int) -> attendance.Scope:
    """The event as the caller may see it: a focal point sees only their agencies."""
    identity = current_identity()
    require_event_scope(identity, event_id)
    event = db_session().get(EventInfo, event_id)
    if event is None:
        raise DomainError("event_not_found", kind="not_found")
    return attendance.Scope(event, identity.agencies if identity.role == "focal_point" else None)


def _audit(scope: attendance.Scope, action: str, **detail) -> None:
    identity = current_identity()
    detail |= {"role": identity.role}
    attendees.record_access(db_session(), scope.event.id, identity.subject, action, detail)


@blp.route(f"{EVENT}/attendance")
@blp.arguments(AttendanceQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AttendanceSchema)
@allow(*REPORTS)
def attendance_report(args, event_id):
    """Attendance broken down by agency, day, category and/or gender (`?by=agency,day`)."""
    scope = report_scope(event_id)
    report = attendance.report(db_session(), scope, figures.parse_by(args["by"]))
    return current_app.json.response(report_document(report))


@blp.route(f"{EVENT}/no-shows")
@blp.arguments(PeopleQuerySchema, location="query", unknown=RAISE)
@blp.response(200, PersonSchema(many=True))
@allow(*REPORTS)
def no_shows(args, event_id):
    """Registered delegates who never came (or not on `day`), by agency; audited."""
    scope = report_scope(event_id)
    agency_id = _agency_id(scope, args["agency"])
    contact = current_identity().role in CONTACT
    people = attendees.no_shows(
        db_session(), scope, agency_id=agency_id, day=args["day"], contact=contact
    )
    day = args["day"].isoformat() if args["day"] else None
    _audit(scope, "report.no_shows", agency=args["agency"], day=day, people=len(people))
    return people


def _agency_id(scope: attendance.Scope, code: str | None) -> int | None:
    """The id of an agency of the event given by code (which the caller must be allowed)."""
    if code is None:
        return None
    query = select(Agency.id).where(Agency.event_id == scope.event.id, Agency.code == code)
    agency_id = db_session().scalar(query) or db_session().scalar(
        select(RosterEntry.agency_id)
        .where(RosterEntry.event_id == scope.event.id, RosterEntry.agency_code == code)
        .limit(1)
    )
    if agency_id is None:
        raise DomainError("agency_not_found", kind="not_found", field="agency")
    require_agency_scope(current_identity(), scope.event.id, agency_id)
    return agency_id


@blp.route(f"{EVENT}/inside")
@blp.arguments(InsideQuerySchema, location="query", unknown=RAISE)
@blp.response(200, InsideSchema(many=True))
@allow(*REPORTS)
def inside(args, event_id):
    """Who is inside now (entered, not left), latest first; audited."""
    scope = report_scope(event_id)
    people = attendees.inside_now(db_session(), scope, args["list_id"])
    _audit(scope, "report.inside_now", list_id=args["list_id"], people=len(people))
    return people


@blp.route(f"{EVENT}/inside/count")
@blp.response(200, InsideCountSchema)
@allow(*REPORTS)
def inside_count(event_id):
    """How many delegates are inside now (a number only: not audited, polled by the dashboard)."""
    return {"inside": attendees.inside_count(db_session(), report_scope(event_id))}


@blp.route(f"{EVENT}/arrivals")
@blp.arguments(ArrivalsQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ArrivalSchema(many=True))
@allow(*REPORTS)
def arrivals(args, event_id):
    """Delegates' first arrivals on a day per 5 to 60 minutes, with the running total."""
    scope = report_scope(event_id)
    return attendees.arrivals(db_session(), scope, args["day"], args["minutes"])


@blp.route(f"{EVENT}/attendance.<any(csv, xlsx, pdf):kind>")
@blp.arguments(AttendanceQuerySchema, location="query", unknown=RAISE)
@blp.response(200, content_type="application/octet-stream")
@allow(*REPORTS)
def export(args, event_id, kind):
    """The report as CSV (UTF-8 with BOM, `?by=`), XLSX workbook or printable PDF; audited."""
    scope = report_scope(event_id)
    by = figures.parse_by(args["by"])
    body = _render(scope, kind, by)
    _audit(scope, "report.export", format=kind, by=",".join(by))
    name = f"attendance-{scope.event.slug}.{kind}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, mimetype=MEDIA[kind], headers=disposition)


def _render(scope: attendance.Scope, kind: str, by: tuple[str, ...]) -> bytes:
    session, lang = db_session(), g.get("lang", "ar")
    if kind == "csv":
        return exports.to_csv(attendance.report(session, scope, by), lang, translate)
    summary = attendance.report(session, scope, ("agency",))
    if kind == "pdf":
        by_day = attendance.report(session, scope, ("day",))
        return report_pdf.render(summary, by_day, lang, translate)
    by_day = attendance.report(session, scope, ("agency", "day"))
    days = attendance.event_days(session, scope.event)
    contact = current_identity().role in CONTACT
    people = attendees.attendee_rows(session, scope, days, contact)
    return exports.to_xlsx(summary, by_day, people, contact, lang, translate)
