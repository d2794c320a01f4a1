"""Delivery-receipt webhooks of SMS providers (form-encoded, signed by the provider)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from services.notifications import operations
from services.notifications.dispatch import RECEIPTS_PATH
from services.notifications.receipts import receipt_status, verify_receipt_signature
from services.notifications.senders import sms_auth_token
from shared.access import PUBLIC, allow
from shared.web import db_session

webhooks = Blueprint("webhooks", __name__)


@webhooks.route("/webhooks/sms", methods=["POST"])
@allow(PUBLIC)
def sms_receipt():
    """Apply a provider's delivery receipt after checking its signature."""
    config = current_app.extensions["notifications"].config
    token = sms_auth_token(config.sms_url) if config.sms_url else None
    url = f"{config.public_base_url}{RECEIPTS_PATH}"
    params = request.form.to_dict()
    signature = request.headers.get("X-Twilio-Signature", "")
    if token is None or not verify_receipt_signature(token, url, params, signature):
        return {"status": "forbidden"}, 403
    try:
        sid, status, error = receipt_status(params)
    except ValueError:
        return {"status": "malformed receipt"}, 400
    found = operations.apply_receipt(db_session(), sid, status, error)
    return ({"status": "applied"}, 200) if found else ({"status": "unknown message"}, 404)
