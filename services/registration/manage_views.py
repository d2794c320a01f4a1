"""Pages of organizers and focal points: events, agencies, invitations and delegations."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from services.registration import operations
from services.registration.account_models import Invitation
from services.registration.account_schemas import InvitationSchema
from services.registration.account_views import PRIVATE, form_errors
from services.registration.imports_api import UPLOAD_LIMIT
from services.registration.models import Agency, Event, Registration
from services.registration.operations import audit, invitations
from services.registration.operations.imports import import_delegation
from services.registration.schemas import RegistrationSchema
from services.registration.scopes import (
    DELEGATION,
    MANAGE,
    actor,
    context,
    privileged,
    scoped_agency,
    scoped_event,
)
from services.registration.views import FORM_FIELDS
from shared.access import allow, current_identity
from shared.problems import DomainError
from shared.routing import DATABASE_ID_MAX
from shared.web import accepts_upload, db_session, translate

manage_pages = Blueprint("manage_pages", __name__, template_folder="templates")
_delegate_schema = RegistrationSchema()
# An upload refused for its size or type keeps its status (413, 415) on the re-shown page.
UPLOAD_REFUSALS = frozenset({413, 415})


@manage_pages.route("/manage")
@allow(*DELEGATION, "viewer")
def home():
    """The caller's events (and a focal point's agencies)."""
    identity = current_identity()
    query = select(Event).order_by(Event.id.desc())
    if identity.events is not None:
        query = query.where(Event.id.in_(identity.events))
    events = db_session().scalars(query).all()
    agencies = _own_agencies(identity) if identity.role == "focal_point" else []
    return render_template("manage_home.html", events=events, agencies=agencies), 200, PRIVATE


def _own_agencies(identity) -> list[Agency]:
    query = select(Agency).where(Agency.id.in_(identity.agencies or ())).order_by(Agency.id)
    return db_session().scalars(query).all()


@manage_pages.route("/manage/e/<slug>", methods=["GET", "POST"])
@allow(*MANAGE)
def event_page(slug):
    """An event's agencies with quotas and focal points; invite a focal point."""
    event = scoped_event(slug)
    errors, notice = {}, None
    if request.method == "POST" and request.form.get("withdraw"):
        errors = form_errors(lambda: _withdraw_invitation(event))
        notice = None if errors else translate("manage.invitation_withdrawn")
    elif request.method == "POST":
        errors = form_errors(lambda: _invite(event))
        notice = None if errors else translate("manage.invited", email=request.form.get("email"))
    agencies = db_session().scalars(
        select(Agency).where(Agency.event_id == event.id).order_by(Agency.name_ar)
    )
    page = render_template(
        "manage_event.html",
        event=event,
        agencies=list(agencies),
        invitations=_by_agency(invitations.invitations_of(db_session(), event)),
        errors=errors,
        notice=notice,
        values=request.form,
    )
    return page, 422 if errors else 200, PRIVATE


def _invite(event: Event) -> None:
    session = db_session()
    agency = operations.get_agency(session, event, request.form.get("agency", "").upper())
    fields = {k: request.form.get(k, "") for k in ("email", "name", "language")}
    data = InvitationSchema().load(fields)
    by = current_identity().subject
    invitations.invite_focal_point(session, context(), event, agency, data, by)
    session.commit()


def _withdraw_invitation(event: Event) -> None:
    session = db_session()
    invitation = session.get(Invitation, _posted_id("withdraw"))
    if invitation is None or invitation.event_id != event.id:
        raise DomainError("invitation_not_found", kind="not_found")
    invitations.withdraw_invitation(session, context(), invitation)
    session.commit()


def _posted_id(field: str) -> int:
    """A row id posted by a form; 0 (no row) unless a whole number a database id can be."""
    number = request.form.get(field, type=int) or 0
    return number if 1 <= number <= DATABASE_ID_MAX else 0


def _by_agency(rows) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        if row.revoked_at is None:
            grouped.setdefault(row.agency_id, []).append(row)
    return grouped


@manage_pages.route("/manage/e/<slug>/a/<code>", methods=["GET", "POST"])
@accepts_upload(UPLOAD_LIMIT)
@allow(*DELEGATION)
def delegation_page(slug, code):
    """An agency's delegation: quota, delegates, register, withdraw, substitute, upload."""
    event, agency = scoped_agency(slug, code)
    errors, notice, status = {}, None, 200
    if request.method == "POST":
        errors, notice, status = _delegation_action(event, agency)
    registrations = _viewed_delegation(event, agency)
    page = render_template(
        "manage_delegation.html",
        event=event,
        agency=agency,
        registrations=registrations,
        errors=errors,
        notice=notice,
        values=request.form if errors else {},
        action=request.form.get("action"),
        substitute_id=request.values.get("substitute", type=int),
    )
    return page, status, PRIVATE


def _viewed_delegation(event: Event, agency: Agency) -> list[Registration]:
    """The agency's delegates, the viewing recorded in the audit log."""
    session = db_session()
    query = select(Registration).where(Registration.agency_id == agency.id)
    rows = session.scalars(query.order_by(Registration.id)).all()
    people = len(rows)
    audit.record(
        session, actor(), "delegation.viewed", event.id, agency_id=agency.id, people=people
    )
    session.commit()
    return rows


def _delegation_action(event: Event, agency: Agency):
    """Apply one posted action; return (errors, notice, status)."""
    action = request.form.get("action")
    actions = {
        "register": _register,
        "withdraw": _withdraw,
        "substitute": _substitute,
        "upload": _upload,
    }
    if action not in actions:
        return {"_form": [translate("bad_request")]}, None, 422
    done: dict = {"status": 422}

    def run():
        try:
            done.update(notice=actions[action](event, agency))
        except DomainError as error:
            if error.status in UPLOAD_REFUSALS:
                done["status"] = error.status
            raise

    errors = form_errors(run)
    return errors, done.get("notice"), done["status"] if errors else 200


def _delegate_values() -> dict:
    values = {k: request.form.get(k, "") for k in FORM_FIELDS if k in request.form}
    values.pop("agency", None)
    return values


def _register(event: Event, agency: Agency) -> str:
    """Register one delegate of `agency` from the posted form (the window first)."""
    session = db_session()
    allowed = privileged(event)
    if not allowed:  # 'closed' before any field error: nothing to correct
        operations.check_registration_open(event, context().clock())
    with operations.event_rules(session, event, agency, privileged=allowed):
        data = _delegate_schema.load(_delegate_values())
    registration = operations.register_delegate(
        session, context(), event, data, privileged=allowed, agency=agency
    )
    audit.record_registration(session, actor(), "registration.created", registration)
    session.commit()
    return translate("manage.registered_one", name=_name(registration))


def _own_registration(agency: Agency, lock: bool = True) -> Registration:
    registration = db_session().get(Registration, _posted_id("registration"))
    if registration is None or registration.agency_id != agency.id:
        raise DomainError("registration_not_found", kind="not_found")
    return operations.get_registration(db_session(), registration.id, lock=lock)


def _withdraw(event: Event, agency: Agency) -> str:
    registration = _own_registration(agency)
    by = current_identity().role
    operations.cancel_registration(db_session(), context(), registration, "withdrawn", by=by)
    audit.record_registration(
        db_session(), actor(), "registration.cancelled", registration, reason="withdrawn"
    )
    db_session().commit()
    return translate("manage.withdrawn", name=_name(registration))


def _substitute(event: Event, agency: Agency) -> str:
    old = _own_registration(agency)
    data = _delegate_schema.load(_delegate_values())
    new = operations.substitute_delegate(
        db_session(), context(), old, data, by=current_identity().role
    )
    audit.record_registration(
        db_session(), actor(), "registration.substituted", old, substitute_id=new.id
    )
    db_session().commit()
    return translate("manage.substituted", old=_name(old), new=_name(new))


def _upload(event: Event, agency: Agency) -> str:
    upload = request.files.get("file")
    body = upload.read() if upload is not None else b""
    result = import_delegation(
        db_session(), context(), event, agency, body, privileged=privileged(event)
    )
    rows = len(result.registrations)
    audit.record(
        db_session(), actor(), "delegation.imported", event.id, agency_id=agency.id, rows=rows
    )
    db_session().commit()
    return translate("manage.imported", count=len(result.registrations))


def _name(registration: Registration) -> str:
    return registration.full_name_ar or registration.full_name_en or ""
