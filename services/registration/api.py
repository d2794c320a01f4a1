"""JSON API /api/v1/: parses and serialises only; rules live in operations and domain."""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from flask_smorest import Blueprint

from services.registration import operations
from services.registration.idempotency import run_once
from services.registration.operations import Context
from services.registration.operations.audit import record_registration
from services.registration.registration_bodies import knowing_the_event, replay_scope
from services.registration.schemas import (
    AgencyChangeSchema,
    AgencyLinkSchema,
    AgencySchema,
    BadgeKeySchema,
    CategorySchema,
    EventSchema,
    ReasonSchema,
    RegistrationSchema,
)
from services.registration.scopes import (
    DELEGATION,
    MANAGE,
    actor,
    context,
    privileged,
    scoped_event,
)
from shared import qr
from shared.access import (
    PUBLIC,
    allow,
    current_identity,
    require_agency_scope,
)
from shared.limits import limit_registration
from shared.problems import DomainError
from shared.web import db_session

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Registration API")
_registration_schema = RegistrationSchema()


class Presented:
    """A registration with its badge, as the API shows it; its private link to the delegate only."""

    # Staff (organizers, focal points) get the badge and its images from their own audited
    # endpoints, never the link with which a delegate changes their contact details or cancels.

    def __init__(self, registration, ctx: Context, *, to_delegate: bool = False):
        self._registration = registration
        if to_delegate:
            self.self_service_url = ctx.delegate_link(registration)
            images = f"{self.self_service_url}/badge"
        else:
            images = f"{ctx.public_base_url}/api/v1/registrations/{registration.id}/badge"
        self.badge = {
            "id": registration.id,
            "generation": registration.badge_generation,
            "token": ctx.badge_token(registration),
            "png_url": f"{images}.png",
            "svg_url": f"{images}.svg",
        }

    def __getattr__(self, name):
        return getattr(self._registration, name)


def present(registration, *, to_delegate: bool = False) -> dict:
    """Serialise a registration with its badge (and private link, `to_delegate` only)."""
    return _registration_schema.dump(Presented(registration, context(), to_delegate=to_delegate))


@blp.route("/events")
@blp.response(200, EventSchema(many=True))
@allow(PUBLIC)
def list_open_events():
    """List events open for registration."""
    return operations.open_events(db_session(), context().clock())


@blp.route("/events", methods=["POST"])
@blp.arguments(EventSchema)
@blp.response(201, EventSchema)
@allow(*MANAGE)
def create_event(data):
    """Create an event (admins, and organizers not limited to some events)."""
    if current_identity().events is not None:
        raise DomainError("forbidden", kind="forbidden")
    session = db_session()
    event = operations.create_event(session, data, context().clock)
    session.commit()
    return event


@blp.route("/events/<ref>")
@blp.response(200, EventSchema)
@allow(PUBLIC)
def read_event(ref):
    """Read an event by id or slug."""
    return operations.get_event(db_session(), ref)


@blp.route("/events/<ref>/agencies")
@blp.response(200, AgencySchema(many=True))
@allow(PUBLIC)
def list_agencies(ref):
    """List an event's agencies with their quotas."""
    return _agencies(operations.get_event(db_session(), ref))


def _agencies(event):
    from sqlalchemy import select

    from services.registration.models import Agency

    query = select(Agency).where(Agency.event_id == event.id).order_by(Agency.id)
    return db_session().scalars(query).all()


@blp.route("/events/<ref>/agencies", methods=["POST"])
@blp.arguments(AgencySchema)
@blp.response(201, AgencySchema)
@allow(*MANAGE)
def create_agency(data, ref):
    """Add an agency (with its quota) to an event."""
    session = db_session()
    agency = operations.add_agency(session, scoped_event(ref), data)
    session.commit()
    return agency


@blp.route("/events/<ref>/agencies/<code>", methods=["PATCH"])
@blp.arguments(AgencyChangeSchema(partial=True))
@blp.response(200, AgencySchema)
@allow(*MANAGE)
def update_agency(data, ref, code):
    """Change an agency's names, sector or quota."""
    session = db_session()
    agency = operations.get_agency(session, scoped_event(ref), code)
    operations.update_agency(session, agency, data)
    session.commit()
    return agency


@blp.route("/events/<ref>/agencies/<code>/link")
@blp.response(200, AgencyLinkSchema)
@allow(*MANAGE)
def agency_link(ref, code):
    """Get the agency focal point's private registration link."""
    event = scoped_event(ref)
    agency = operations.get_agency(db_session(), event, code)
    return {"agency": agency.code, "url": context().agency_link(agency, event)}


@blp.route("/events/<ref>/agencies/<code>/link/revoke", methods=["POST"])
@blp.response(200, AgencyLinkSchema)
@allow(*MANAGE)
def revoke_agency_link(ref, code):
    """Revoke the agency's link and return its replacement."""
    session = db_session()
    event = scoped_event(ref)
    agency = operations.revoke_agency_link(session, operations.get_agency(session, event, code))
    session.commit()
    return {"agency": agency.code, "url": context().agency_link(agency, event)}


@blp.route("/events/<ref>/categories")
@blp.response(200, CategorySchema(many=True))
@allow(PUBLIC)
def list_categories(ref):
    """List an event's badge categories."""
    from sqlalchemy import select

    from services.registration.models import Category

    event = operations.get_event(db_session(), ref)
    query = select(Category).where(Category.event_id == event.id).order_by(Category.id)
    return db_session().scalars(query).all()


@blp.route("/events/<ref>/categories", methods=["POST"])
@blp.arguments(CategorySchema)
@blp.response(201, CategorySchema)
@allow(*MANAGE)
def create_category(data, ref):
    """Add a badge category to an event."""
    session = db_session()
    category = operations.add_category(session, scoped_event(ref), data)
    session.commit()
    return category


def _public_event(ref: str):
    """The event `ref` (anyone may register for it); the body names the agency."""
    return operations.get_event(db_session(), ref), None


@blp.route("/events/<ref>/registrations", methods=["POST"])
@limit_registration()  # before parsing: invalid bodies count too
# An instance: webargs builds a class's at every request.
@knowing_the_event(_public_event, blp.arguments(_registration_schema))
@blp.response(201, RegistrationSchema)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
@allow(PUBLIC)
def register(data, event, agency):
    """Register a delegate (organizers may also use other categories and late registration)."""
    session = db_session()
    identity = current_identity()

    def run():
        registration = operations.register_delegate(
            session, context(), event, data, privileged=privileged(event)
        )
        if identity is not None:
            session.flush()
            record_registration(session, actor(), "registration.created", registration)
        return present(registration, to_delegate=identity is None), 201

    key = request.headers.get("Idempotency-Key")
    body, status = run_once(session, replay_scope(event, agency), key, data, run)
    session.commit()
    # Already serialised (and possibly replayed from storage): send it as is.
    response = jsonify(body)
    response.status_code = status
    return response


@blp.route("/registrations/<id:registration_id>")
@blp.response(200, RegistrationSchema)
@allow(*DELEGATION)
def read_registration(registration_id):
    """Read a registration with its badge; the reading is audited."""
    registration = _audited(registration_id, "registration.viewed")
    return Presented(registration, context())


def _managed_registration(registration_id: int, *, lock: bool = False):
    registration = operations.get_registration(db_session(), registration_id, lock=lock)
    require_agency_scope(current_identity(), registration.event_id, registration.agency_id)
    return registration


def _audited(registration_id: int, action: str, **detail):
    """A registration the caller may see, its viewing recorded and committed."""
    registration = _managed_registration(registration_id)
    record_registration(db_session(), actor(), action, registration, **detail)
    db_session().commit()
    return registration


@blp.route("/registrations/<id:registration_id>/badge.png")
@blp.doc(responses={"200": {"content": {"image/png": {}}}})
@allow(*DELEGATION)
def badge_png(registration_id):
    """The badge QR code as PNG (it admits its holder: audited)."""
    token = context().badge_token(_audited(registration_id, "badge.viewed", format="png"))
    return Response(qr.qr_png(token), mimetype="image/png")


@blp.route("/registrations/<id:registration_id>/badge.svg")
@blp.doc(responses={"200": {"content": {"image/svg+xml": {}}}})
@allow(*DELEGATION)
def badge_svg(registration_id):
    """The badge QR code as SVG (it admits its holder: audited)."""
    token = context().badge_token(_audited(registration_id, "badge.viewed", format="svg"))
    return Response(qr.qr_svg(token), mimetype="image/svg+xml")


@blp.route("/registrations/<id:registration_id>/cancel", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, RegistrationSchema)
@allow(*DELEGATION)
def cancel(data, registration_id):
    """Cancel a registration: its seat is freed and its badge revoked."""
    session = db_session()
    registration = _managed_registration(registration_id, lock=True)
    reason = (data or {}).get("reason")
    by = current_identity().role
    operations.cancel_registration(session, context(), registration, reason, by=by)
    record_registration(session, actor(), "registration.cancelled", registration, reason=reason)
    session.commit()
    return Presented(registration, context())


@blp.route("/registrations/<id:registration_id>/reissue", methods=["POST"])
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, RegistrationSchema)
@allow(*DELEGATION)
def reissue(data, registration_id):
    """Reissue a badge: a new generation; the old QR is revoked."""
    session = db_session()
    registration = _managed_registration(registration_id, lock=True)
    reason = (data or {}).get("reason")
    by = current_identity().role
    operations.reissue_badge(session, context(), registration, reason, by=by)
    record_registration(session, actor(), "badge.reissued", registration, reason=reason)
    session.commit()
    return Presented(registration, context())


@blp.route("/badge-keys")
@blp.response(200, BadgeKeySchema(many=True))
@allow(PUBLIC)
def badge_keys():
    """Public keys that verify badge tokens (door devices cache these)."""
    return context().keyring.public_key_document()


def url_for_badge(registration) -> str:
    """Organizer URL of a registration's badge PNG."""
    return url_for("api.badge_png", registration_id=registration.id)
