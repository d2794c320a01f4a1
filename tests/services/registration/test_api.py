"""The JSON API under /api/v1: registrations, problems, languages, tokens and organizer flows."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.registration import operations
from services.registration.models import Agency, Event, OutboxMessage, Registration
from services.registration.schemas import RegistrationSchema
from services.registration.tokens import create_api_token, revoke_api_token
from shared.badge_tokens import public_keys_from_document, verify_badge_token
from shared.db import utcnow
from shared.identity import issue_api_token, verify_api_token
from tests.services.registration.conftest import (
    BASE_URL,
    SECRET,
    decode_qr,
    delegate,
    delegate_messages,
    nth_delegate,
    row_count,
)

REGISTER = "/api/v1/events/wli-gbv-2023/registrations"
PROBLEM = "application/problem+json"
BADGE_TOKEN = re.compile(r"^[A-Z2-7]{122}$")
ARABIC_REQUIRED = "هذا الحقل مطلوب."


# --- helpers -------------------------------------------------------------------------------------


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def problem(response, status: int) -> dict:
    """Assert a problem+json answer with `status` and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["code"] and body["title"]
    return body


def field_codes(body: dict) -> dict[str, str]:
    """{field: code} of a problem's field errors (each with a message)."""
    for error in body["errors"]:
        assert error["message"], error
    return {error["field"]: error["code"] for error in body["errors"]}


def written(session) -> tuple[int, int, int, int]:
    """Registrations, outbox messages, demo event seats and IWED seats now in the database."""
    return (
        row_count(session, Registration),
        delegate_messages(session),
        session.scalar(select(Event.registered_count).where(Event.slug == "wli-gbv-2023")),
        session.scalar(select(Agency.registered_count).where(Agency.code == "IWED")),
    )


def other(n: int, **changes) -> dict:
    """Delegate number `n` (own email and phone) with some fields changed."""
    return {**nth_delegate(n), **changes}


def without(payload: dict, *names: str) -> dict:
    return {k: v for k, v in payload.items() if k not in names}


def set_quota(client, auth, code: str, quota: int):
    response = client.patch(
        f"/api/v1/events/wli-gbv-2023/agencies/{code}", json={"quota": quota}, headers=auth
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def close_registration(session, event) -> None:
    session.get(Event, event.id).registration_closes_at = utcnow() - timedelta(hours=1)
    session.commit()


def new_event(**overrides) -> dict:
    payload = {
        "slug": "erbil-forum-2030",
        "name_ar": "منتدى أربيل",
        "name_en": "Erbil Forum",
        "venue_ar": "أربيل",
        "venue_en": "Erbil",
        "timezone": "Asia/Baghdad",
        "days": ["2030-03-02", "2030-03-01"],
        "capacity": 120,
    }
    payload.update(overrides)
    return payload


def create_event_with_delegates(client, auth) -> dict:
    """Create the Erbil forum through the API with agency UNW and a DELEGATE category."""
    response = client.post("/api/v1/events", json=new_event(), headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    agency = {
        "code": "UNW",
        "name_ar": "هيئة الأمم المتحدة للمرأة",
        "name_en": "UN Women",
        "sector": "international",
        "quota": 3,
    }
    category = {
        "code": "DELEGATE",
        "name_ar": "مشارك",
        "name_en": "Delegate",
        "color": "#0b7a75",
        "self_registration": True,
    }
    base = "/api/v1/events/erbil-forum-2030"
    assert client.post(f"{base}/agencies", json=agency, headers=auth).status_code == 201
    assert client.post(f"{base}/categories", json=category, headers=auth).status_code == 201
    return response.get_json()


def path_of(url: str) -> str:
    return urlsplit(url).path


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


# --- validation problems -------------------------------------------------------------------------


def test_every_invalid_field_is_listed_in_one_problem(web, demo_event):
    payload = without(delegate(email="not-an-email", phone="12345", badge_colour="red"), "gender")
    payload.pop("consent")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert body["code"] == "validation_failed"
    assert field_codes(body) == {
        "gender": "required",
        "consent": "required",
        "email": "email_invalid",
        "phone": "phone_invalid",
        "badge_colour": "unknown_field",
    }


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"phone": "01 718 1234"}, "phone", "phone_not_mobile"),
        ({"phone": "12345"}, "phone", "phone_invalid"),
        ({"email": "yusra@@example"}, "email", "email_invalid"),
        ({"consent": False}, "consent", "consent_required"),
        ({"full_name_ar": "س" * 201}, "full_name_ar", "too_long"),
        ({"gender": "other"}, "gender", "one_of"),
        ({"channel": "fax"}, "channel", "one_of"),
        ({"full_name_en": "Ali\x07"}, "full_name_en", "invalid_characters"),
        ({"nickname": "Abu Ali"}, "nickname", "unknown_field"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_invalid_field_is_reported_with_its_code(web, demo_event, overrides, field, code):
    body = problem(web.post(REGISTER, json=delegate(**overrides)), 422)
    assert body["code"] == "validation_failed"
    assert field_codes(body) == {field: code}


def test_too_long_name_message_states_the_limit(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(full_name_en="A" * 201)), 422)
    assert body["errors"][0]["message"] == "الحد الأقصى 200 حرفاً."


@pytest.mark.parametrize(
    ("full_name_ar", "full_name_en"),
    [("س" * 200, "A" * 200), ("ﷺ" * 30, None)],
    ids=["two-longest-names", "expanding-ligature"],
)
def test_longest_accepted_names_can_register(web, demo_event, full_name_ar, full_name_en):
    payload = delegate(full_name_ar=full_name_ar, full_name_en=full_name_en)
    response = web.post(REGISTER, json=payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["full_name_ar"] == full_name_ar


def test_registration_without_any_name_is_refused(web, demo_event):
    payload = without(delegate(), "full_name_ar", "full_name_en")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {"full_name_ar": "name_required"}


def test_registration_without_email_or_phone_is_refused(web, demo_event):
    payload = without(delegate(channel="email"), "email", "phone")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {"email": "contact_required"}


def test_unknown_agency_is_a_422_problem_on_the_agency_field(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(agency="UNICEF")), 422)
    assert body["code"] == "unknown_agency"
    assert field_codes(body) == {"agency": "unknown_agency"}


def test_self_registration_cannot_pick_an_organizer_category(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(category="SPEAKER")), 403)
    assert body["code"] == "category_not_allowed"
    assert field_codes(body) == {"category": "category_not_allowed"}


def test_unknown_event_is_a_404_problem(web, demo_event):
    body = problem(web.post("/api/v1/events/no-such-event/registrations", json=delegate()), 404)
    assert body["code"] == "event_not_found"


# --- conflicts -----------------------------------------------------------------------------------


def test_full_agency_quota_is_a_409_quota_full(web, registered, auth, session):
    assert set_quota(web, auth, "IWED", 1)["quota"] == 1
    before = written(session)
    body = problem(web.post(REGISTER, json=nth_delegate(2)), 409)
    assert body["code"] == "quota_full"
    assert field_codes(body) == {"agency": "quota_full"}
    assert written(session) == before


def test_quota_cannot_be_set_below_the_registered_count(web, registered, auth):
    response = web.patch(
        "/api/v1/events/wli-gbv-2023/agencies/IWED", json={"quota": 0}, headers=auth
    )
    body = problem(response, 409)
    assert body["code"] == "quota_below_registered"
    assert "1" in body["errors"][0]["message"]


def test_same_email_in_other_case_is_a_duplicate_person_on_email(web, registered, session):
    before = written(session)
    body = problem(web.post(REGISTER, json=other(2, email="YUSRA@Example.ORG")), 409)
    assert body["code"] == "duplicate_person"
    assert body["errors"][0]["field"] == "email"
    assert body["errors"][0]["code"] == "duplicate_email"
    assert written(session) == before


@pytest.mark.parametrize("phone", ["+964 770 123 4567", "00964-770-123-4567", "٠٧٧٠١٢٣٤٥٦٧"])
def test_same_phone_in_another_format_is_a_duplicate_person_on_phone(
    web, registered, session, phone
):
    before = written(session)
    body = problem(web.post(REGISTER, json=other(2, phone=phone)), 409)
    assert body["code"] == "duplicate_person"
    assert body["errors"][0]["field"] == "phone"
    assert written(session) == before


def test_closed_registration_is_a_409_registration_closed(web, demo_event, session):
    close_registration(session, demo_event)
    before = written(session)
    body = problem(web.post(REGISTER, json=delegate()), 409)
    assert body["code"] == "registration_closed"
    assert body["title"] == "أُغلق التسجيل."
    assert written(session) == before


def test_full_event_is_a_409_event_full(web, registered, session):
    session.get(Event, registered.event_id).capacity = 1
    session.commit()
    body = problem(web.post(REGISTER, json=nth_delegate(2, agency="MOE")), 409)
    assert body["code"] == "event_full"


# --- nothing half-written ------------------------------------------------------------------------


def _invalid(session, ctx, event, set_quota_to):
    return {"json": delegate(email="nope")}


def _unknown_agency(session, ctx, event, set_quota_to):
    return {"json": delegate(agency="NOPE")}


def _quota_full(session, ctx, event, set_quota_to):
    set_quota_to(0)
    return {"json": delegate()}


def _duplicate_phone(session, ctx, event, set_quota_to):
    data = RegistrationSchema().load(other(9, phone="0770 123 4567"))
    operations.register_delegate(session, ctx, event, data)
    session.commit()
    return {"json": delegate()}


def _closed(session, ctx, event, set_quota_to):
    close_registration(session, event)
    return {"json": delegate()}


def _bad_idempotency_key(session, ctx, event, set_quota_to):
    return {"json": delegate(), "headers": {"Idempotency-Key": "k" * 300}}


def _organizer_category(session, ctx, event, set_quota_to):
    return {"json": delegate(category="PRESS")}


@pytest.mark.parametrize(
    "arrange",
    [
        _invalid,
        _unknown_agency,
        _quota_full,
        _duplicate_phone,
        _closed,
        _bad_idempotency_key,
        _organizer_category,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_refused_registration_writes_nothing(web, demo_event, auth, session, ctx, arrange):
    request = arrange(session, ctx, demo_event, lambda quota: set_quota(web, auth, "IWED", quota))
    before = written(session)
    response = web.post(REGISTER, **request)
    assert response.status_code in (403, 409, 422)
    assert response.mimetype == PROBLEM
    assert written(session) == before


# --- languages -----------------------------------------------------------------------------------


def test_problems_are_in_english_when_asked(web, demo_event):
    response = web.post(
        REGISTER, json=without(delegate(), "gender"), headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    body = problem(response, 422)
    assert body["title"] == "Some fields are invalid."
    assert body["errors"] == [
        {"field": "gender", "code": "required", "message": "This field is required."}
    ]


@pytest.mark.parametrize("headers", [{}, {"Accept-Language": "ar"}, {"Accept-Language": "ar-IQ"}])
def test_problems_are_in_arabic_by_default_and_when_asked(web, demo_event, headers):
    body = problem(web.post(REGISTER, json=without(delegate(), "gender"), headers=headers), 422)
    assert body["title"] == "بعض الحقول غير صالحة."
    assert body["errors"][0]["message"] == ARABIC_REQUIRED


def test_domain_refusals_are_translated_too(web, demo_event):
    english = web.post(
        REGISTER, json=delegate(agency="NOPE"), headers={"Accept-Language": "en"}
    ).get_json()
    arabic = web.post(REGISTER, json=delegate(agency="NOPE")).get_json()
    assert english["title"] == "Choose an agency of this event."
    assert arabic["title"] == "اختر جهة من جهات هذا المؤتمر."


# --- bodies: media type, size, malformed JSON ----------------------------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": "gender=female", "content_type": "text/plain"},
        {"data": {"gender": "female", "consent": "yes"}},
        {"data": json.dumps(delegate()), "content_type": "application/xml"},
    ],
    ids=["text-plain", "form-encoded", "xml"],
)
def test_non_json_body_is_a_415_problem(web, demo_event, session, request_kwargs):
    before = written(session)
    body = problem(web.post(REGISTER, **request_kwargs), 415)
    assert body["code"] == "unsupported_media_type"
    assert written(session) == before


def test_json_with_charset_parameter_is_accepted_as_json(web, demo_event):
    response = web.post(
        REGISTER,
        data=json.dumps(delegate(agency="NOPE")),
        content_type="application/json; charset=utf-8",
    )
    assert problem(response, 422)["code"] == "unknown_agency"


def test_malformed_json_is_a_400_invalid_json(web, demo_event, session):
    before = written(session)
    response = web.post(REGISTER, data='{"gender": "female",', content_type="application/json")
    assert problem(response, 400)["code"] == "invalid_json"
    assert written(session) == before


@pytest.mark.parametrize(
    "raw",
    ['{"gender": ' + "9" * 5000 + "}", "[" * 30_000 + "]" * 30_000, b'{"gender": "\xff"}'],
    ids=["huge-integer", "deep-nesting", "not-utf-8"],
)
def test_pathological_json_within_the_size_limit_is_a_400_not_a_500(web, demo_event, raw):
    assert len(raw) < 64 * 1024
    response = web.post(REGISTER, data=raw, content_type="application/json")
    assert problem(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("body", ["null", "[]", '"IWED"', "42", ""])
def test_json_that_is_not_an_object_is_a_422_problem(web, demo_event, body):
    response = web.post(REGISTER, data=body, content_type="application/json")
    assert problem(response, 422)["code"] == "validation_failed"


def test_body_over_64_kib_is_a_413_problem(web, demo_event, session):
    before = written(session)
    huge = json.dumps(delegate(job_title="x" * (65 * 1024)))
    body = problem(web.post(REGISTER, data=huge, content_type="application/json"), 413)
    assert body["code"] == "payload_too_large"
    assert written(session) == before


@pytest.mark.parametrize("field", ["agency", "category"])
def test_nul_character_in_a_code_is_a_422_not_a_500(web, demo_event, field):
    response = web.post(REGISTER, json=delegate(**{field: "IW\x00ED"}))
    body = problem(response, 422)
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "path",
    ["/api/v1/events/wli%00gbv/agencies", "/api/v1/events/wli-gbv-2023/agencies/IW%00ED/link"],
    ids=["event", "agency"],
)
def test_nul_character_in_a_url_reference_is_a_404_not_a_500(web, demo_event, auth, path):
    assert problem(web.get(path, headers=auth), 404)["code"].endswith("_not_found")


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


# --- bearer tokens -------------------------------------------------------------------------------


def test_creating_an_event_without_a_token_is_a_401(web, session):
    body = problem(web.post("/api/v1/events", json=new_event()), 401)
    assert body["code"] == "unauthorized"
    assert session.scalar(select(Event).where(Event.slug == "erbil-forum-2030")) is None


def test_viewer_token_is_forbidden_to_create_an_event(web, session):
    token = create_api_token(session, SECRET, label="observer", role="viewer")
    session.commit()
    body = problem(web.post("/api/v1/events", json=new_event(), headers=bearer(token)), 403)
    assert body["code"] == "forbidden"
    assert session.scalar(select(Event).where(Event.slug == "erbil-forum-2030")) is None


def test_organizer_token_scoped_to_another_event_is_forbidden(web, demo_event, session):
    token = create_api_token(session, SECRET, label="other", role="organizer", event_ids=[999])
    session.commit()
    response = web.get("/api/v1/events/wli-gbv-2023/agencies/IWED/link", headers=bearer(token))
    assert problem(response, 403)["code"] == "forbidden"


def test_organizer_token_scoped_to_this_event_is_allowed(web, demo_event, session):
    token = create_api_token(
        session, SECRET, label="wli", role="organizer", event_ids=[demo_event.id]
    )
    session.commit()
    response = web.get("/api/v1/events/wli-gbv-2023/agencies/IWED/link", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["agency"] == "IWED"


def test_revoked_token_is_a_401(web, demo_event, session, organizer_token):
    link = "/api/v1/events/wli-gbv-2023/agencies/IWED/link"
    assert web.get(link, headers=bearer(organizer_token)).status_code == 200
    token_id = verify_api_token(SECRET, organizer_token, 3600).token_id
    assert revoke_api_token(session, token_id) is True
    session.commit()
    assert problem(web.get(link, headers=bearer(organizer_token)), 401)["code"] == "unauthorized"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "hdr_garbage",
        issue_api_token("another-secret-" * 4, subject="x", role="admin", token_id="forged"),
        issue_api_token(SECRET, subject="never recorded", role="admin", token_id="unrecorded"),
    ],
    ids=["garbage", "prefixed-garbage", "other-secret", "never-recorded"],
)
def test_forged_or_unknown_token_is_a_401(web, demo_event, token):
    response = web.get("/api/v1/events/wli-gbv-2023/agencies/IWED/link", headers=bearer(token))
    assert problem(response, 401)["code"] == "unauthorized"


# --- organizer flows -----------------------------------------------------------------------------


def test_organizer_creates_an_event(web, auth):
    response = web.post("/api/v1/events", json=new_event(), headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["slug"] == "erbil-forum-2030"
    assert body["timezone"] == "Asia/Baghdad"
    assert body["days"] == ["2030-03-01", "2030-03-02"]
    assert (body["capacity"], body["registered_count"]) == (120, 0)
    assert web.get(f"/api/v1/events/{body['id']}").get_json() == body


def test_event_is_readable_by_slug_and_by_id(web, demo_event):
    by_slug = web.get("/api/v1/events/wli-gbv-2023")
    by_id = web.get(f"/api/v1/events/{demo_event.id}")
    assert by_slug.status_code == by_id.status_code == 200
    assert by_slug.get_json() == by_id.get_json()
    assert by_slug.get_json()["days"] == ["2023-02-12"]
    assert by_slug.get_json()["name_en"].startswith("Conference to Combat Gender-Based Violence")


def test_open_events_are_listed(web, demo_event):
    response = web.get("/api/v1/events")
    assert response.status_code == 200
    assert [e["slug"] for e in response.get_json()] == ["wli-gbv-2023"]


def test_unknown_event_reference_is_a_404(web, demo_event):
    assert problem(web.get("/api/v1/events/nope-nope/agencies"), 404)["code"] == "event_not_found"
    assert problem(web.get("/api/v1/events/987654/agencies"), 404)["code"] == "event_not_found"


def test_agencies_and_categories_are_listed_with_quotas(web, demo_event):
    agencies = web.get("/api/v1/events/wli-gbv-2023/agencies").get_json()
    by_code = {a["code"]: a for a in agencies}
    assert len(agencies) == 18
    assert {"IWED", "MOE", "WLI", "CORDE"} <= set(by_code)
    assert by_code["MOE"]["name_ar"] == "وزارة التربية"
    assert (by_code["WLI"]["quota"], by_code["WLI"]["registered_count"]) == (20, 0)
    categories = web.get(f"/api/v1/events/{demo_event.id}/categories").get_json()
    assert [c["code"] for c in categories if c["self_registration"]] == ["DELEGATE"]
    assert {c["code"] for c in categories} == {"DELEGATE", "SPEAKER", "ORGANIZER", "PRESS", "STAFF"}


def test_organizer_adds_agencies_and_categories_then_delegates_register(web, auth):
    create_event_with_delegates(web, auth)
    agencies = web.get("/api/v1/events/erbil-forum-2030/agencies").get_json()
    assert agencies == [
        {
            "id": agencies[0]["id"],
            "code": "UNW",
            "name_ar": "هيئة الأمم المتحدة للمرأة",
            "name_en": "UN Women",
            "sector": "international",
            "governorate": None,
            "quota": 3,
            "registered_count": 0,
        }
    ]
    categories = web.get("/api/v1/events/erbil-forum-2030/categories").get_json()
    assert [(c["code"], c["self_registration"]) for c in categories] == [("DELEGATE", True)]
    response = web.post(
        "/api/v1/events/erbil-forum-2030/registrations", json=delegate(agency="UNW")
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["category"]["color"] == "#0b7a75"
    listed = web.get("/api/v1/events/erbil-forum-2030/agencies").get_json()
    assert [a["registered_count"] for a in listed] == [1]
    assert web.get("/api/v1/events/erbil-forum-2030").get_json()["registered_count"] == 1


def test_organizer_category_is_for_organizers_only(web, demo_event, auth):
    body = problem(web.post(REGISTER, json=delegate(category="SPEAKER")), 403)
    assert body["code"] == "category_not_allowed"
    response = web.post(REGISTER, json=delegate(category="SPEAKER"), headers=auth)
    assert response.status_code == 201
    assert response.get_json()["category"]["code"] == "SPEAKER"


def test_organizer_may_register_after_registration_closes(web, demo_event, session, auth):
    close_registration(session, demo_event)
    assert problem(web.post(REGISTER, json=delegate()), 409)["code"] == "registration_closed"
    response = web.post(REGISTER, json=delegate(), headers=auth)
    assert response.status_code == 201
    assert response.get_json()["status"] == "active"


def test_invalid_event_fields_are_422_with_field_codes(web, auth, session):
    payload = new_event(slug="Erbil Forum", timezone="Asia/Erbil", capacity=0)
    body = problem(web.post("/api/v1/events", json=payload, headers=auth), 422)
    assert field_codes(body) == {
        "slug": "invalid_slug",
        "timezone": "invalid_timezone",
        "capacity": "too_small",
    }
    assert session.scalar(select(Event).where(Event.slug == "erbil-forum-2030")) is None


def test_event_without_days_is_refused_as_too_few(web, auth):
    body = problem(web.post("/api/v1/events", json=new_event(days=[]), headers=auth), 422)
    assert field_codes(body) == {"days": "too_few"}


def test_event_closing_before_it_opens_is_refused(web, auth):
    payload = new_event(
        registration_opens_at="2030-01-10T08:00:00+03:00",
        registration_closes_at="2030-01-09T08:00:00+03:00",
    )
    body = problem(web.post("/api/v1/events", json=payload, headers=auth), 422)
    assert field_codes(body) == {"registration_closes_at": "closes_before_opens"}


def test_taken_event_slug_is_a_409(web, demo_event, auth):
    body = problem(
        web.post("/api/v1/events", json=new_event(slug="wli-gbv-2023"), headers=auth), 409
    )
    assert field_codes(body) == {"slug": "slug_taken"}


@pytest.mark.parametrize(
    ("payload", "codes"),
    [
        ({"code": "iwed-lower", "name_ar": "جهة", "name_en": "X"}, {"code": "invalid_code"}),
        ({"code": "NEW", "name_ar": " ", "name_en": "X"}, {"name_ar": "required"}),
        ({"code": "NEW", "name_ar": "جهة", "name_en": "X", "sector": "x"}, {"sector": "one_of"}),
        ({"code": "NEW", "name_ar": "جهة", "name_en": "X", "quota": -1}, {"quota": "too_small"}),
    ],
)
def test_invalid_agency_fields_are_422_with_field_codes(web, demo_event, auth, payload, codes):
    response = web.post("/api/v1/events/wli-gbv-2023/agencies", json=payload, headers=auth)
    assert field_codes(problem(response, 422)) == codes


def test_invalid_category_colour_is_a_422(web, demo_event, auth):
    category = {"code": "VIP", "name_ar": "كبار", "name_en": "VIP", "color": "red"}
    response = web.post("/api/v1/events/wli-gbv-2023/categories", json=category, headers=auth)
    assert field_codes(problem(response, 422)) == {"color": "invalid_color"}


def test_duplicate_agency_code_is_a_409(web, demo_event, auth):
    agency = {"code": "IWED", "name_ar": "جهة", "name_en": "Again"}
    response = web.post("/api/v1/events/wli-gbv-2023/agencies", json=agency, headers=auth)
    body = problem(response, 409)
    assert body["code"] == "agency_code_taken"
    assert field_codes(body) == {"code": "agency_code_taken"}


def test_duplicate_category_code_is_a_409(web, demo_event, auth):
    category = {"code": "PRESS", "name_ar": "صحافة", "name_en": "Press", "color": "#000000"}
    response = web.post("/api/v1/events/wli-gbv-2023/categories", json=category, headers=auth)
    assert problem(response, 409)["code"] == "category_code_taken"


def test_agency_quota_is_changed_without_touching_other_fields(web, demo_event, auth):
    body = set_quota(web, auth, "CORDE", 2)
    assert (body["code"], body["quota"], body["sector"]) == ("CORDE", 2, "international")
    assert body["name_en"] == "Corde Iraq"


def test_revoking_an_agency_link_kills_the_old_url_and_issues_a_new_one(web, demo_event, auth):
    base = "/api/v1/events/wli-gbv-2023/agencies/WLI/link"
    old = web.get(base, headers=auth).get_json()
    assert old["agency"] == "WLI"
    assert old["url"].startswith(f"{BASE_URL}/e/wli-gbv-2023/register/")
    assert web.get(path_of(old["url"])).status_code == 200
    new = web.post(f"{base}/revoke", headers=auth).get_json()
    assert new["agency"] == "WLI"
    assert new["url"] != old["url"]
    assert web.get(path_of(old["url"])).status_code == 404
    page = web.get(path_of(new["url"]))
    assert page.status_code == 200
    assert "معهد المرأة القيادية" in page.get_data(as_text=True)
    assert web.get(base, headers=auth).get_json() == new


def test_agency_link_of_an_unknown_agency_is_a_404(web, demo_event, auth):
    response = web.get("/api/v1/events/wli-gbv-2023/agencies/NOPE/link", headers=auth)
    assert problem(response, 404)["code"] == "agency_not_found"


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


# --- OpenAPI and docs ----------------------------------------------------------------------------


def test_openapi_document_describes_the_registration_paths(web):
    response = web.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.data)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Hudoor registration"
    paths = document["paths"]
    assert "post" in paths["/api/v1/events/{ref}/registrations"]
    assert "post" in paths["/api/v1/registrations/{registration_id}/cancel"]
    assert "get" in paths["/api/v1/badge-keys"]


def test_api_docs_use_the_vendored_swagger_ui_only(web):
    response = web.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert any(src.endswith("swagger-ui-bundle.js") for src in scripts)
    for src in scripts + re.findall(r'<link[^>]*\bhref="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", src), src
        url = urljoin(f"{BASE_URL}/api/v1/docs", src)
        assert url.startswith(f"{BASE_URL}/static/shared/vendor/swagger-ui/")
        assert web.get(path_of(url)).status_code == 200, url


# --- fuzz ----------------------------------------------------------------------------------------

ALLOWED = {201, 400, 409, 413, 415, 422}
FIELDS = [*delegate(), "category", "unknown"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values, max_size=12),
)


def assert_handled(response) -> None:
    assert response.status_code in ALLOWED, response.get_data(as_text=True)
    if response.status_code != 201:
        assert response.mimetype == PROBLEM
        assert response.get_json()["code"]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=bodies)
def test_fuzzed_json_bodies_never_cause_a_server_error(web, demo_event, body):
    assert_handled(web.post(REGISTER, json=body))


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzzed_raw_bodies_never_cause_a_server_error(web, demo_event, raw):
    assert_handled(web.post(REGISTER, data=raw, content_type="application/json"))


_field_values = st.one_of(
    json_values.filter(lambda v: "\x00" not in json.dumps(v)),
    st.sampled_from(["female", "IWED", "MOE", "DELEGATE", "sms", "en", True, "0781 234 5678"]),
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(changes={})
@given(changes=st.dictionaries(st.sampled_from(FIELDS), _field_values | st.just(None), max_size=4))
def test_fuzzed_variations_of_a_valid_payload_never_cause_a_server_error(web, demo_event, changes):
    payload = {**delegate(), **changes}
    payload = {k: v for k, v in payload.items() if v is not None}
    assert_handled(web.post(REGISTER, json=payload))
