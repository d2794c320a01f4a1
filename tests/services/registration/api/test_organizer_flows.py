"""Organizers through the API: events, agencies, categories, quotas and agency links."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.models import Event
from tests.services.registration.api.calls import (
    REGISTER,
    create_event_with_delegates,
    field_codes,
    new_event,
    path_of,
    problem,
    set_quota,
)
from tests.services.registration.api.event_state import close_registration
from tests.services.registration.conftest import BASE_URL, delegate

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
    body = problem(web.post(REGISTER, json=delegate(category="SPEAKER")), 422)
    assert body["errors"][0]["code"] == "category_not_allowed"
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
