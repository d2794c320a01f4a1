"""POST /api/v1/events/<ref>/registrations: the badge and private link, reading back, retries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from services.registration.models import Agency, Event, Registration
from tests.services.registration.api.calls import (
    REGISTER,
    create_event_with_delegates,
    field_codes,
    problem,
    set_quota,
)
from tests.services.registration.api.event_state import close_registration, written
from tests.services.registration.conftest import (
    BASE_URL,
    decode_qr,
    delegate,
    delegate_messages,
    nth_delegate,
    row_count,
)

BADGE_TOKEN = re.compile(r"^[A-Z2-7]{122}$")


# --- registering ---------------------------------------------------------------------------------


def test_valid_registration_answers_201_with_badge_and_private_link(web, demo_event, auth):
    response = web.post(REGISTER, json=delegate())
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["status"] == "active"
    assert body["agency"]["code"] == "IWED"
    assert body["agency"]["name_en"].startswith("Iraqi Women Empowerment Department")
    assert body["agency"]["name_ar"].startswith("دائرة تمكين المرأة العراقية")
    assert body["category"]["code"] == "DELEGATE"
    assert body["phone"] == "+9647701234567"
    assert "consent" not in body
    badge = body["badge"]
    assert BADGE_TOKEN.match(badge["token"])
    assert badge["png_url"] == body["self_service_url"] + "/badge.png"
    assert badge["svg_url"] == body["self_service_url"] + "/badge.svg"
    assert body["self_service_url"].startswith(f"{BASE_URL}/r/")
    png = web.get(f"/api/v1/registrations/{body['id']}/badge.png", headers=auth).data
    assert decode_qr(png) == badge["token"]


def test_registration_can_be_read_back_by_an_organizer(web, registered, ctx, auth):
    response = web.get(f"/api/v1/registrations/{registered.id}", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"] == registered.id
    assert body["badge"]["token"] == ctx.badge_token(registered)
    assert "self_service_url" not in body
    assert body["badge"]["png_url"] == f"{BASE_URL}/api/v1/registrations/{registered.id}/badge.png"


def test_an_organizer_registering_someone_gets_no_private_link_of_theirs(web, demo_event, auth):
    body = web.post(REGISTER, json=delegate(), headers=auth).get_json()
    assert "self_service_url" not in body
    images = f"{BASE_URL}/api/v1/registrations/{body['id']}/badge"
    assert (body["badge"]["png_url"], body["badge"]["svg_url"]) == (
        f"{images}.png",
        f"{images}.svg",
    )
    png = web.get(body["badge"]["png_url"].removeprefix(BASE_URL), headers=auth).data
    assert decode_qr(png) == body["badge"]["token"]


def test_badge_png_decodes_to_the_badge_token_even_downscaled(web, registered, ctx, auth):
    response = web.get(f"/api/v1/registrations/{registered.id}/badge.png", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    token = ctx.badge_token(registered)
    assert BADGE_TOKEN.match(token)
    assert decode_qr(response.data) == token
    assert decode_qr(response.data, size=160) == token


def test_badge_svg_is_served_as_svg(web, registered, auth):
    response = web.get(f"/api/v1/registrations/{registered.id}/badge.svg", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data


def test_badge_images_need_an_organizer_token(web, registered):
    problem(web.get(f"/api/v1/registrations/{registered.id}/badge.png"), 401)
    problem(web.get(f"/api/v1/registrations/{registered.id}/badge.svg"), 401)


def test_unknown_registration_is_a_404_problem(web, demo_event, auth):
    body = problem(web.get("/api/v1/registrations/987654/badge.png", headers=auth), 404)
    assert body["code"] == "registration_not_found"


# --- Idempotency-Key -----------------------------------------------------------------------------


def test_retry_with_same_idempotency_key_replays_the_first_response(web, demo_event, session):
    key = {"Idempotency-Key": "5f0c7c8e-retry-1"}
    first = web.post(REGISTER, json=delegate(), headers=key)
    second = web.post(REGISTER, json=delegate(), headers=key)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert (row_count(session, Registration), delegate_messages(session)) == (1, 1)


def test_same_idempotency_key_on_another_event_is_independent(web, demo_event, auth, session):
    create_event_with_delegates(web, auth)
    key = {"Idempotency-Key": "shared-key"}
    first = web.post(REGISTER, json=delegate(), headers=key)
    other_event = web.post(
        "/api/v1/events/erbil-forum-2030/registrations",
        json=delegate(agency="UNW"),
        headers=key,
    )
    assert first.status_code == other_event.status_code == 201
    assert first.get_json()["id"] != other_event.get_json()["id"]


def test_idempotency_key_reused_with_another_body_is_refused(web, demo_event, session):
    key = {"Idempotency-Key": "5f0c7c8e-reused"}
    assert web.post(REGISTER, json=nth_delegate(1), headers=key).status_code == 201
    before = written(session)
    body = problem(web.post(REGISTER, json=nth_delegate(2), headers=key), 422)
    assert body["code"] == "idempotency_key_reused"
    assert field_codes(body) == {"Idempotency-Key": "idempotency_key_reused"}
    assert written(session) == before


@pytest.mark.parametrize("change", ["agency_code", "closing"])
def test_retry_gets_its_stored_answer_after_the_event_changed(web, demo_event, session, change):
    key = {"Idempotency-Key": f"5f0c7c8e-after-{change}"}
    first = web.post(REGISTER, json=delegate(), headers=key)
    assert first.status_code == 201
    if change == "closing":
        close_registration(session, demo_event)
    else:  # the body's agency code no longer exists
        session.scalar(select(Agency).where(Agency.code == "IWED")).code = "IWED-OLD"
        session.commit()
    again = web.post(REGISTER, json=delegate(), headers=key)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert row_count(session, Registration) == 1
    assert web.post(REGISTER, json=nth_delegate(2)).status_code in (409, 422)


def test_refused_request_does_not_burn_its_idempotency_key(web, demo_event, auth, session):
    key = {"Idempotency-Key": "5f0c7c8e-after-refusal"}
    set_quota(web, auth, "IWED", 0)
    problem(web.post(REGISTER, json=delegate(), headers=key), 409)
    set_quota(web, auth, "IWED", 5)
    assert web.post(REGISTER, json=delegate(), headers=key).status_code == 201
    assert row_count(session, Registration) == 1


@pytest.mark.parametrize("key", ["k" * 201, "with space", "tab\tkey"])
def test_invalid_idempotency_key_is_a_422(web, demo_event, session, key):
    before = written(session)
    body = problem(web.post(REGISTER, json=delegate(), headers={"Idempotency-Key": key}), 422)
    assert body["code"] == "idempotency_key_invalid"
    assert written(session) == before


def test_event_past_its_last_day_without_closing_time_refuses_like_a_closed_one(
    web, demo_event, session
):
    session.get(Event, demo_event.id).registration_closes_at = None  # its one day was in 2023
    session.commit()
    before = written(session)
    body = problem(web.post(REGISTER, json=delegate()), 409)
    assert (body["code"], body["title"]) == ("registration_closed", "أُغلق التسجيل.")
    assert written(session) == before
    assert web.get("/api/v1/events").get_json() == []
