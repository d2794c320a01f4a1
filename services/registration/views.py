"""Server-rendered pages: event list, registration form, badge and self-service."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from services.registration import operations
from services.registration.models import ACTIVE, Agency, Category
from services.registration.printing_tasks import format_dates
from services.registration.schemas import ContactSchema, RegistrationSchema
from services.registration.scopes import context, language
from shared import qr
from shared.access import PUBLIC, allow
from shared.limits import limit_registration
from shared.problems import DomainError, flatten_messages
from shared.web import PRIVATE, db_session, messages_by_field, translate

pages = Blueprint("pages", __name__, template_folder="templates")
_form_schema = RegistrationSchema()
_contact_schema = ContactSchema()
FORM_FIELDS = (
    "full_name_ar",
    "full_name_en",
    "job_title",
    "agency",
    "email",
    "phone",
    "gender",
    "language",
    "channel",
    "consent",
)


@pages.route("/")
@allow(PUBLIC)
def home():
    """List the events open for registration."""
    events = operations.open_events(db_session(), context().clock())
    return render_template("home.html", events=events, dates=_event_dates)


def _event_dates(event) -> str:
    """The event's days in the page's language, worded as on its badges."""
    arabic, english = format_dates([d.day for d in event.days])
    return arabic if language() == "ar" else english


@pages.route("/e/<slug>/register", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_registration()
def register(slug):
    """The public registration form."""
    event = operations.get_event(db_session(), slug)
    return _registration_form(event, agency=None)


@pages.route("/e/<slug>/register/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_registration()
def register_for_agency(slug, token):
    """An agency focal point's registration form: agency fixed, quota applies."""
    event = operations.get_event(db_session(), slug)
    agency = operations.resolve_agency_link(db_session(), context().secret_key, event, token)
    return _registration_form(event, agency=agency)


def _registration_form(event, agency):
    """Show the form, or validate and register, re-showing errors in the user's language."""
    values, errors, correctable = {}, {}, False
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in FORM_FIELDS if k in request.form}
        if agency is not None:
            values["agency"] = agency.code
        try:
            registration = _submit(event, agency, values)
            if agency is not None:
                return _registered_for_agency(registration)
            location = url_for("pages.badge", token=_link_token(registration), new=1)
            return redirect(location), 302, PRIVATE
        except ValidationError as error:
            errors, correctable = messages_by_field(flatten_messages(error.messages)), True
        except DomainError as error:
            # A refused registration may leave the transaction failed (a lost uniqueness race).
            db_session().rollback()
            errors = messages_by_field(error.fields) or {"_form": [translate(error.code)]}
            # A conflict (closed, full, already registered) is no typing mistake to correct.
            correctable = error.kind != "conflict" and bool(error.fields)
    return (
        render_template(
            "register.html",
            event=event,
            agency=agency,
            values=values,
            errors=errors,
            correctable=correctable,
            agencies=_agencies(event),
            closed=_closed_notice(event),
        ),
        422 if errors else 200,
        PRIVATE if agency is not None else {},
    )


def _registered_for_agency(registration):
    """Back to the empty agency form, which then says who was registered and how they were told."""
    # Never the delegate's private page: a focal point registering colleagues would hold each
    # one's link, which changes their contact details; it goes to the delegate's own address.
    # Redirected, so that reloading the page does not post the delegate again.
    names = (registration.full_name_ar, registration.full_name_en)
    name = (names[1] or names[0]) if language() == "en" else (names[0] or names[1])
    channel = translate(f"channel.{registration.channel}")
    flash(translate("form.registered_for_agency", name=name, channel=channel))
    return redirect(request.path, code=303), 303, PRIVATE


def _submit(event, agency, values):
    """Validate with the API's schema and register with the API's use case."""
    session = db_session()
    operations.check_registration_open(event, context().clock())
    with operations.event_rules(session, event, agency):
        data = _form_schema.load(values)
    registration = operations.register_delegate(session, context(), event, data, agency=agency)
    session.commit()
    return registration


def _agencies(event):
    query = select(Agency).where(Agency.event_id == event.id).order_by(Agency.name_ar)
    return db_session().scalars(query).all()


def _closed_notice(event) -> str | None:
    """Why registration is not open now, in the page's language (None while it is open)."""
    try:
        operations.check_registration_open(event, context().clock())
    except DomainError as error:
        if error.code != "registration_not_open":
            return translate("form.closed")
        return translate("form.not_open", opens=_local_moment(event), timezone=event.timezone)
    return None


def _local_moment(event) -> str:
    """The registration's opening in the event's timezone, with the badges' date wording."""
    moment = event.registration_opens_at.astimezone(ZoneInfo(event.timezone))
    arabic, english = format_dates([moment.date()])
    return f"{arabic if language() == 'ar' else english} {moment:%H:%M}"


def _link_token(registration) -> str:
    return context().delegate_link(registration).rsplit("/", 1)[-1]


@pages.route("/r/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
@limit_registration()  # a contact correction answers whether an address is registered elsewhere
def badge(token):
    """The delegate's private page: badge, contact correction, cancellation."""
    session = db_session()
    registration = operations.resolve_delegate_link(
        session, context().secret_key, token, lock=request.method == "POST"
    )
    errors, notice, nonce = {}, None, registration.link_nonce
    if request.method == "POST":
        errors, notice = _self_service_action(registration)
    if registration.link_nonce != nonce:
        return _link_moved()
    return (
        render_template(
            "badge.html",
            registration=registration,
            token=token,
            errors=errors,
            notice=notice,
            badge_token=context().badge_token(registration),
            active=registration.status == ACTIVE,
            is_new=request.args.get("new") == "1",
            qr_px=qr.QR_MIN_DISPLAY_PX,
            categories=_category_names(registration),
            locked=_cancel_refusal(registration),
        ),
        422 if errors else 200,
        PRIVATE,
    )


def _link_moved():
    """A new address renewed the link: it went there, never to this page (maybe a stranger's)."""
    return render_template("link_moved.html"), 200, PRIVATE


def _self_service_action(registration):
    """Apply the delegate's correction or cancellation from the posted form."""
    session = db_session()
    try:
        if request.form.get("action") == "cancel":
            if request.form.get("confirm") != "yes":
                return {"confirm": [translate("required")]}, None
            operations.cancel_registration(
                session, context(), registration, "self-service", by="delegate"
            )
            session.commit()
            return {}, translate("self.cancelled")
        data = _contact_schema.load(_contact_values(), partial=True)
        operations.update_contact(session, context(), registration, data)
        session.commit()
        return {}, translate("self.saved")
    except ValidationError as error:
        session.rollback()
        return messages_by_field(flatten_messages(error.messages)), None
    except DomainError as error:
        session.rollback()
        return messages_by_field(error.fields) or {"_form": [translate(error.code)]}, None


def _cancel_refusal(registration) -> str | None:
    """Why the cancellation use case would now refuse the delegate, as a note (else None)."""
    try:
        operations.check_change(context(), registration, "delegate")
    except DomainError as error:
        return translate(f"self.{error.code}")
    return None


def _contact_values() -> dict:
    fields = ("job_title", "email", "phone", "language", "channel")
    return {k: (request.form[k].strip() or None) for k in fields if k in request.form}


def _category_names(registration) -> dict:
    category = db_session().get(Category, registration.category_id)
    return {"ar": category.name_ar, "en": category.name_en, "color": category.color}


def _active_badge_token(link_token: str) -> str:
    """Resolve a self-service link to its badge token; a cancelled badge is gone."""
    registration = operations.resolve_delegate_link(db_session(), context().secret_key, link_token)
    if registration.status != ACTIVE:
        raise DomainError("registration_cancelled", kind="gone")
    return context().badge_token(registration)


@pages.route("/r/<token>/badge.png")
@allow(PUBLIC)
def badge_png(token):
    """The delegate's QR code as PNG."""
    return Response(
        qr.qr_png(_active_badge_token(token)),
        mimetype="image/png",
        headers=PRIVATE,
    )


@pages.route("/r/<token>/badge.svg")
@allow(PUBLIC)
def badge_svg(token):
    """The delegate's QR code as SVG."""
    return Response(
        qr.qr_svg(_active_badge_token(token)),
        mimetype="image/svg+xml",
        headers=PRIVATE,
    )
