"""Badge printing API: one badge, a selection (direct or by the worker), the print log."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, request, send_file
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.registration import operations, printing, printing_tasks
from services.registration.print_models import DONE, FAILED, PrintJob
from services.registration.schemas import CODE
from services.registration.scopes import MANAGE, context, scoped_event
from shared.access import allow, current_identity, require_event_scope
from shared.fields import StrictSchema, Text, one_of
from shared.problems import DomainError
from shared.web import PRIVATE, db_session

DIRECT_LIMIT = 50  # larger selections are rendered by the worker
MAX_IDS = 5000
LAYOUTS = tuple(printing.LAYOUTS)
CARD_LAYOUTS = ("a6", "card")
PDF = "application/pdf"
blp = Blueprint("printing", __name__, url_prefix="/api/v1", description="Badge printing")


class SelectionSchema(StrictSchema):
    """Exactly one of: the whole event, an agency, a category, or badge ids."""

    all = fields.Boolean(validate=validate.Equal(True, error="invalid"))
    agency = fields.String(validate=validate.Regexp(CODE, error="invalid_code"))
    category = fields.String(validate=validate.Regexp(CODE, error="invalid_code"))
    ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1, error="invalid")),
        validate=validate.Length(min=1, max=MAX_IDS, error="item_count:min={min},max={max}"),
    )

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        if len(data) != 1:
            raise ValidationError("one_selection")


class ReprintSchema(StrictSchema):
    """A reprint reissues each badge (the old QR is revoked at the door): say why."""

    reason = Text(500, required=True)


class PrintRequestSchema(StrictSchema):
    """What to print and how."""

    selection = fields.Nested(SelectionSchema, required=True)
    layout = fields.String(load_default="a6", validate=one_of(LAYOUTS))
    reprint = fields.Nested(ReprintSchema, load_default=None, allow_none=True)


class LayoutArgsSchema(Schema):
    """Query arguments of one badge's PDF (others, such as ?lang=, are left to the app)."""

    class Meta:
        unknown = EXCLUDE

    layout = fields.String(load_default="a6", validate=one_of(CARD_LAYOUTS))


class PrintJobSchema(StrictSchema):
    """A logged printing and, for a batch, its progress."""

    id = fields.Integer()
    event_id = fields.Integer()
    layout = fields.String()
    selection = fields.Dict()
    badge_ids = fields.List(fields.Integer())
    reprint_reason = fields.String(allow_none=True)
    status = fields.String()
    done = fields.Integer()
    total = fields.Integer()
    error = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    file_url = fields.Method("_file_url", allow_none=True)

    def _file_url(self, job) -> str | None:
        return (
            f"/api/v1/badge-prints/{job.id}/file" if job.status == DONE and job.file_path else None
        )


@blp.route("/registrations/<id:registration_id>/badge.pdf")
@blp.arguments(LayoutArgsSchema, location="query")
@blp.doc(responses={"200": {"content": {PDF: {}}}})
@allow(*MANAGE)
def badge_pdf(args, registration_id):
    """One delegate's printable badge (A6 or card); the printing is logged."""
    session = db_session()
    registration = operations.get_registration(session, registration_id)
    require_event_scope(current_identity(), registration.event_id)
    if registration.status != "active":
        raise DomainError("registration_cancelled", kind="conflict")
    order = {"selection": {"ids": [registration.id]}, "layout": args["layout"]}
    return print_now(registration.event, [registration], order, 200)


@blp.route("/events/<ref>/badge-prints", methods=["POST"])
@blp.arguments(PrintRequestSchema)
@blp.response(202, PrintJobSchema)
@blp.alt_response(201, description="The PDF, for up to 50 badges", content_type=PDF)
@allow(*MANAGE)
def print_badges(data, ref):
    """Print a selection: up to 50 badges come back as a PDF, more are queued for the worker."""
    session = db_session()
    event = scoped_event(ref)
    registrations = printing_tasks.select_badges(session, event, data["selection"])
    if not registrations:
        raise DomainError("nothing_to_print", kind="conflict")
    if len(registrations) <= DIRECT_LIMIT:
        return print_now(event, registrations, data, 201)
    return queue_job(event, registrations, data)


@blp.route("/events/<ref>/badge-prints")
@blp.response(200, PrintJobSchema(many=True))
@allow(*MANAGE)
def print_log(ref):
    """The event's print log, newest first: who printed which badges, when."""
    from sqlalchemy import select

    event = scoped_event(ref)
    query = select(PrintJob).where(PrintJob.event_id == event.id).order_by(PrintJob.id.desc())
    return db_session().scalars(query.limit(500)).all()


@blp.route("/badge-prints/<id:job_id>")
@blp.response(200, PrintJobSchema)
@allow(*MANAGE)
def read_print(job_id):
    """A printing's status and progress (poll this while a batch renders)."""
    return _managed_job(job_id)


@blp.route("/badge-prints/<id:job_id>/file")
@blp.doc(responses={"200": {"content": {PDF: {}}}})
@allow(*MANAGE)
def print_file(job_id):
    """The rendered PDF of a finished batch."""
    job = _managed_job(job_id)
    if job.status != DONE or not job.file_path or not Path(job.file_path).is_file():
        raise DomainError("print_not_ready", kind="conflict")
    response = send_file(
        job.file_path, mimetype=PDF, as_attachment=True, download_name=_name(job), etag=False
    )
    response.headers.update(PRIVATE)
    return response


def print_now(event, registrations, order: dict, status: int, who=None) -> Response:
    """Log the printing and answer with the PDF."""
    session = db_session()
    who = who or _who()
    job = printing_tasks.record_printing(session, context(), event, registrations, order, who)
    pdf = printing.render(printing_tasks.badges(context(), registrations), order["layout"])
    session.commit()
    response = Response(pdf, status=status, mimetype=PDF)
    response.headers["Content-Disposition"] = f'inline; filename="{_name(job)}"'
    response.headers["X-Print-Job"] = str(job.id)
    response.headers.update(PRIVATE)  # admitting QRs
    return response


def queue_job(event, registrations, order: dict):
    """Log the printing as queued, commit, then hand it to the worker."""
    session = db_session()
    job = printing_tasks.record_printing(session, context(), event, registrations, order, _who())
    printing_tasks.queue(job)
    session.commit()
    try:
        enqueue(job.id)
    except Exception:  # the broker is down: say so now rather than leave it queued forever
        current_app.logger.warning("could not queue print job %s", job.id, exc_info=True)
        job.status, job.error = FAILED, "queue_unavailable"
        session.commit()
        raise DomainError("print_queue_unavailable", kind="unavailable") from None
    return job, 202


def enqueue(job_id: int) -> None:
    """Send the render task to the broker, failing fast if it is down."""
    celery = current_app.extensions["celery"]
    celery.send_task(printing_tasks.TASK_NAME, args=[job_id], retry=False)


def _managed_job(job_id: int) -> PrintJob:
    job = db_session().get(PrintJob, job_id)
    if job is None:
        raise DomainError("print_not_found", kind="not_found")
    require_event_scope(current_identity(), job.event_id)
    return job


def _who() -> str:
    return current_identity().subject


def _name(job: PrintJob) -> str:
    return f"badges-{job.id}-{job.layout}.pdf"


# --- An agency's badges in one PDF, for the signed-in pages (print_views) -------------------

FOCAL_POINT_LIMIT = 200


def agency_pdf(event, agency, who: str | None = None) -> Response:
    """An agency's active badges as one PDF, in the layout the query asks for; logged."""
    layout = request.args.get("layout", "a4-cards")
    if layout not in LAYOUTS:
        raise DomainError("bad_request", kind="bad_request")
    selection = {"agency": agency.code}
    registrations = printing_tasks.select_badges(db_session(), event, selection)
    if not registrations:
        raise DomainError("nothing_to_print", kind="conflict")
    if len(registrations) > FOCAL_POINT_LIMIT:
        raise DomainError("too_many_to_print", kind="conflict", limit=FOCAL_POINT_LIMIT)
    order = {"selection": selection, "layout": layout}
    return print_now(event, registrations, order, 200, who)
