"""JSON API of an agency's delegation: what organizers and the agency's focal point manage."""

from __future__ import annotations

from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from services.registration import operations
from services.registration.api import Presented, present
from services.registration.idempotency import run_once
from services.registration.models import Registration
from services.registration.operations.audit import record, record_registration
from services.registration.registration_bodies import knowing_the_event, replay_scope
from services.registration.schemas import AgencySchema, RegistrationSchema
from services.registration.scopes import (
    DELEGATION,
    actor,
    context,
    privileged,
    scoped_agency,
)
from shared.access import allow, current_identity, require_agency_scope
from shared.web import db_session

blp = Blueprint("delegation_api", __name__, url_prefix="/api/v1", description="Delegations API")


class DelegationSchema(Schema):
    """An agency's quota and its delegates, active and cancelled."""

    agency = fields.Nested(AgencySchema)
    registrations = fields.List(fields.Nested(RegistrationSchema))


@blp.route("/events/<ref>/agencies/<code>/delegation")
@blp.response(200, DelegationSchema)
@allow(*DELEGATION)
def read_delegation(ref, code):
    """The agency's quota and delegates; the reading is audited."""
    session = db_session()
    event, agency = scoped_agency(ref, code)
    query = select(Registration).where(Registration.agency_id == agency.id)
    rows = session.scalars(query.order_by(Registration.id)).all()
    record(session, actor(), "delegation.viewed", event.id, agency_id=agency.id, people=len(rows))
    session.commit()
    ctx = context()
    return {"agency": agency, "registrations": [Presented(r, ctx) for r in rows]}


@blp.route("/events/<ref>/agencies/<code>/registrations", methods=["POST"])
@knowing_the_event(scoped_agency, blp.arguments(RegistrationSchema))
@blp.response(201, RegistrationSchema)
@allow(*DELEGATION)
def register_for_agency(data, event, agency):
    """Register a delegate of this agency on their behalf (the agency field is implied)."""
    session = db_session()
    ctx = context()

    def run():
        registration = operations.register_delegate(
            session, ctx, event, data, privileged=privileged(event), agency=agency
        )
        record_registration(session, actor(), "registration.created", registration)
        return present(registration), 201

    key = request.headers.get("Idempotency-Key")
    body, status = run_once(session, replay_scope(event, agency), key, data, run)
    session.commit()
    response = jsonify(body)
    response.status_code = status
    return response


@blp.route("/registrations/<id:registration_id>/substitute", methods=["POST"])
@blp.arguments(RegistrationSchema)
@blp.response(201, RegistrationSchema)
@allow(*DELEGATION)
def substitute(data, registration_id):
    """Give the seat to another person: the old badge is revoked and both are told."""
    session = db_session()
    old = operations.get_registration(session, registration_id, lock=True)
    require_agency_scope(current_identity(), old.event_id, old.agency_id)
    ctx = context()
    new = operations.substitute_delegate(session, ctx, old, data, by=current_identity().role)
    record_registration(session, actor(), "registration.substituted", old, substitute_id=new.id)
    session.commit()
    return Presented(new, ctx)
