"""JSON API /api/v1/ of the notifications service: the delivery log, resend, broadcasts."""

from __future__ import annotations

import uuid

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import RAISE

from services.notifications import operations, tasks
from services.notifications.models import Delivery
from services.notifications.schemas import (
    BroadcastResultSchema,
    BroadcastSchema,
    DeliveryQuerySchema,
    DeliverySchema,
)
from shared.access import allow, current_identity, require_event_scope
from shared.problems import DomainError
from shared.web import db_session

MANAGE = ("admin", "organizer")
blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Notifications API")


@blp.route("/deliveries")
@blp.arguments(DeliveryQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DeliverySchema(many=True))
@allow(*MANAGE)
def list_deliveries(filters):
    """List and filter the delivery log, newest first (page with before_id)."""
    identity = current_identity()
    if identity.events is not None and filters.get("event_id") not in identity.events:
        raise DomainError("forbidden", kind="forbidden", field="event_id")
    return operations.list_deliveries(db_session(), **filters)


def _delivery(delivery_id: int) -> Delivery:
    delivery = db_session().get(Delivery, delivery_id)
    if delivery is None:
        raise DomainError("delivery_not_found", kind="not_found")
    require_event_scope(current_identity(), delivery.event_id)
    return delivery


@blp.route("/deliveries/<id:delivery_id>")
@blp.response(200, DeliverySchema)
@allow(*MANAGE)
def read_delivery(delivery_id):
    """Read one delivery with its attempts and last error."""
    return _delivery(delivery_id)


@blp.route("/deliveries/<id:delivery_id>/resend", methods=["POST"])
@blp.response(202, DeliverySchema)
@allow(*MANAGE)
def resend(delivery_id):
    """Send a logged message again (a new delivery in the log)."""
    copy = operations.resend(db_session(), _delivery(delivery_id).id)
    _queue([copy.id])
    return copy


@blp.route("/events/<id:event_id>/broadcasts", methods=["POST"])
@blp.arguments(BroadcastSchema)
@blp.response(202, BroadcastResultSchema)
@allow(*MANAGE)
def broadcast(data, event_id):
    """Send an organizer's message to all delegates, an agency or a category."""
    require_event_scope(current_identity(), event_id)
    message = {"id": uuid.uuid4().hex, **{k: v for k, v in data.items() if k != "audience"}}
    ids = operations.broadcast(db_session(), event_id, data["audience"], message)
    _queue(ids)
    return {"id": message["id"], "queued": len(ids)}


def _queue(ids: list[int]) -> None:
    """Queue sends; with the broker down the logged deliveries wait for the sweep instead."""
    try:
        tasks.queue_sends(ids)
    except Exception:  # kombu's errors vary by transport; the deliveries are already logged
        current_app.logger.warning("broker unavailable; %d deliveries left to the sweep", len(ids))
