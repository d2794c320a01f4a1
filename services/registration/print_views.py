"""Badge printing pages of signed-in organizers and focal points (the API's operations)."""

from __future__ import annotations

import re

from flask import Blueprint, redirect, render_template, request
from marshmallow import ValidationError
from sqlalchemy import select

from services.registration import printing_tasks
from services.registration.account_views import PRIVATE, form_errors
from services.registration.models import Agency, Category
from services.registration.print_models import PrintJob
from services.registration.printing_api import (
    DIRECT_LIMIT,
    LAYOUTS,
    PrintRequestSchema,
    agency_pdf,
    print_now,
    queue_job,
)
from services.registration.scopes import DELEGATION, MANAGE, scoped_agency, scoped_event
from shared.access import allow
from shared.problems import DomainError
from shared.web import db_session

print_pages = Blueprint("print_pages", __name__, template_folder="templates")
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_order_schema = PrintRequestSchema()


@print_pages.route("/manage/e/<slug>/badges", methods=["GET", "POST"])
@allow(*MANAGE)
def event_badges(slug):
    """Print an event's badges (all, an agency or a category) and see the print log."""
    event = scoped_event(slug)
    errors, outcome = {}, {}
    if request.method == "POST":
        errors = form_errors(lambda: outcome.update(response=_print(event)))
        if not errors:
            return outcome["response"]
    page = render_template(
        "manage_badges.html",
        event=event,
        layouts=LAYOUTS,
        agencies=_all(Agency, event),
        categories=_all(Category, event),
        jobs=_jobs(event),
        errors=errors,
        values=request.form,
    )
    return page, 422 if errors else 200, PRIVATE


def _print(event):
    """Up to DIRECT_LIMIT badges come back as the PDF; more are queued for the worker."""
    order = _order_schema.load(_order_fields())
    registrations = printing_tasks.select_badges(db_session(), event, order["selection"])
    if not registrations:
        raise DomainError("nothing_to_print", kind="conflict")
    if len(registrations) <= DIRECT_LIMIT:
        return print_now(event, registrations, order, 200)
    queue_job(event, registrations, order)
    return redirect(request.path, code=303)


def _order_fields() -> dict:
    """The form's choices as the API's print request."""
    form = request.form
    scope = form.get("scope", "all")
    if scope not in ("all", "agency", "category", "ids"):
        raise ValidationError({"scope": ["invalid"]})
    selection = {"all": True} if scope == "all" else {scope: form.get(scope, "")}
    if scope == "ids":
        selection["ids"] = [
            _badge_number(text) for text in re.split(r"[\s,،]+", form.get("ids", "")) if text
        ]
    order = {"selection": selection, "layout": form.get("layout", "a6")}
    if form.get("reason", "").strip():
        order["reprint"] = {"reason": form["reason"]}
    return order


def _badge_number(text: str) -> int | str:
    """A typed badge number (Arabic-Indic digits too); anything else is left for the schema."""
    digits = text.translate(ARABIC_DIGITS)
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 11 else text


def _all(model, event) -> list:
    query = select(model).where(model.event_id == event.id).order_by(model.code)
    return db_session().scalars(query).all()


def _jobs(event) -> list[PrintJob]:
    query = select(PrintJob).where(PrintJob.event_id == event.id).order_by(PrintJob.id.desc())
    return db_session().scalars(query.limit(50)).all()


@print_pages.route("/manage/e/<slug>/a/<code>/badges.pdf")
@allow(*DELEGATION)
def agency_badges(slug, code):
    """An agency's active badges as one PDF, for its focal point or an organizer."""
    return agency_pdf(*scoped_agency(slug, code))
