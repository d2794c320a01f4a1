"""Cancelling a registration and reissuing its badge; the badge keys that verify it."""

from __future__ import annotations

from sqlalchemy import select

from services.registration.models import Agency, OutboxMessage, Registration
from shared.badge_tokens import public_keys_from_document, verify_badge_token
from tests.services.registration.api.calls import problem
from tests.services.registration.conftest import decode_qr


def test_cancel_frees_the_seat_and_a_second_cancel_is_a_409(web, registered, auth, session):
    agencies = "/api/v1/events/wli-gbv-2023/agencies"
    seats = {a["code"]: a["registered_count"] for a in web.get(agencies).get_json()}
    assert seats["IWED"] == 1
    cancel = f"/api/v1/registrations/{registered.id}/cancel"
    response = web.post(cancel, json={"reason": "ill"}, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["id"], response.get_json()["status"]) == (
        registered.id,
        "cancelled",
    )
    seats = {a["code"]: a["registered_count"] for a in web.get(agencies).get_json()}
    assert seats["IWED"] == 0
    assert problem(web.post(cancel, headers=auth), 409)["code"] == "already_cancelled"
    assert session.scalar(select(Agency.registered_count).where(Agency.code == "IWED")) == 0
    topics = session.scalars(select(OutboxMessage.topic).order_by(OutboxMessage.id)).all()
    assert topics == ["event.changed", "delegate.registered", "delegate.cancelled"]


def test_cancelled_registration_cannot_be_reissued(web, registered, auth):
    web.post(f"/api/v1/registrations/{registered.id}/cancel", headers=auth)
    response = web.post(f"/api/v1/registrations/{registered.id}/reissue", headers=auth)
    assert problem(response, 409)["code"] == "registration_cancelled"


def test_cancel_needs_an_organizer_token(web, registered, session):
    problem(web.post(f"/api/v1/registrations/{registered.id}/cancel"), 401)
    assert session.scalar(select(Registration.status)) == "active"


def test_reissue_answers_generation_2_with_a_new_token(web, registered, ctx, auth):
    old_token = ctx.badge_token(registered)
    response = web.post(f"/api/v1/registrations/{registered.id}/reissue", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    badge = response.get_json()["badge"]
    assert badge["generation"] == 2
    assert badge["token"] != old_token


def test_reissued_badge_png_carries_generation_2(web, registered, ctx, auth):
    png = f"/api/v1/registrations/{registered.id}/badge.png"
    old_token = decode_qr(web.get(png, headers=auth).data)
    web.post(
        f"/api/v1/registrations/{registered.id}/reissue", json={"reason": "lost"}, headers=auth
    )
    new_token = decode_qr(web.get(png, headers=auth).data)
    assert new_token != old_token
    keys = public_keys_from_document(web.get("/api/v1/badge-keys").get_json())
    assert verify_badge_token(old_token, keys).generation == 1
    assert verify_badge_token(new_token, keys).generation == 2


def test_badge_keys_verify_the_token_printed_on_the_badge(web, registered, keyring, auth):
    document = web.get("/api/v1/badge-keys").get_json()
    assert document == [
        {"kid": 1, "alg": "Ed25519", "public_key": document[0]["public_key"], "active": True}
    ]
    assert document == keyring.public_key_document()
    png = web.get(f"/api/v1/registrations/{registered.id}/badge.png", headers=auth).data
    claims = verify_badge_token(decode_qr(png), public_keys_from_document(document))
    assert (claims.event_id, claims.badge_id, claims.generation) == (
        registered.event_id,
        registered.id,
        1,
    )
