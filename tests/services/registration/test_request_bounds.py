"""Hostile ids: a database-sized bound on every integer in a registration URL."""

from __future__ import annotations

import re

import pytest

from tests.services.registration.api.calls import new_event
from tests.services.registration.test_account_views import log_in, post_form

HUGE = "9" * 20  # beyond any database integer: SQLite raised OverflowError (a 500) before

PATHS = [
    ("GET", f"/api/v1/registrations/{HUGE}"),
    ("GET", f"/api/v1/registrations/{HUGE}/badge.png"),
    ("GET", f"/api/v1/registrations/{HUGE}/badge.svg"),
    ("GET", f"/api/v1/registrations/{HUGE}/badge.pdf"),
    ("POST", f"/api/v1/registrations/{HUGE}/cancel"),
    ("POST", f"/api/v1/registrations/{HUGE}/reissue"),
    ("GET", f"/api/v1/badge-prints/{HUGE}"),
    ("GET", f"/api/v1/badge-prints/{HUGE}/file"),
    ("GET", "/api/v1/registrations/2147483648"),
]


@pytest.mark.parametrize("method, path", PATHS)
def test_an_id_beyond_the_database_range_is_a_404_problem(web, auth, demo_event, method, path):
    response = web.open(path, method=method, headers=auth, json={} if method == "POST" else None)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "not_found"


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("PATCH", "/api/v1/events/wli-gbv-2023/agencies/IWED", {"quota": 2**63}),
        ("PATCH", "/api/v1/events/wli-gbv-2023/agencies/IWED", {"quota": 2**31}),
        (
            "POST",
            "/api/v1/events/wli-gbv-2023/agencies",
            {"code": "HUGE", "name_ar": "جهة", "name_en": "Agency", "quota": 10**30},
        ),
        (
            "POST",
            "/api/v1/events",
            {
                "slug": "huge",
                "name_ar": "م",
                "name_en": "E",
                "timezone": "Asia/Baghdad",
                "days": ["2030-01-01"],
                "capacity": 2**64,
            },
        ),
    ],
)
def test_a_quota_or_capacity_beyond_the_database_range_is_a_422_problem(
    web, auth, demo_event, method, path, body
):
    # Found by Schemathesis: SQLite raised OverflowError on the flush (a 500).
    response = web.open(path, method=method, headers=auth, json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    fields = {error["field"]: error["code"] for error in response.get_json()["errors"]}
    assert fields.get("quota", fields.get("capacity")) == "too_large"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/events/{HUGE}",
        f"/api/v1/events/{'9' * 13}/agencies",
        "/api/v1/events/2147483648",
        f"/e/{HUGE}/register",
        f"/manage/e/{HUGE}",
    ],
)
def test_an_event_number_beyond_the_database_range_is_no_event(web, auth, demo_event, path):
    # Digits of 13 and more read as a slug, then as an id the database could not hold.
    response = web.get(path, headers=auth)
    assert response.status_code == 404, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url, fields",
    [
        ("/manage/e/wli-gbv-2023", {"withdraw": "-" + HUGE}),
        ("/manage/e/wli-gbv-2023/a/IWED", {"action": "withdraw", "registration": "-" + HUGE}),
        ("/manage/e/wli-gbv-2023/a/IWED", {"action": "substitute", "registration": HUGE}),
    ],
)
def test_a_page_form_naming_a_row_beyond_the_database_range_finds_none(
    client, demo_event, make_account, url, fields
):
    make_account("admin", email="bounds@example.org")
    log_in(client, "bounds@example.org")
    response = post_form(client, url, fields)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert re.search("لا توجد دعوة|غير موجود", response.get_data(as_text=True))


@pytest.mark.parametrize(
    "field, value, where",
    [
        ("days", ["9999-12-31"], "days.0"),
        ("days", ["2030-03-01", "1899-12-31"], "days.1"),
        ("registration_opens_at", "9999-12-31T23:59:59+00:00", "registration_opens_at"),
        ("registration_closes_at", "0001-01-01T00:00:00+14:00", "registration_closes_at"),
        ("registration_closes_at", "9999-12-31T23:59:59-12:00", "registration_closes_at"),
    ],
)
def test_an_event_dated_outside_the_service_years_is_refused_on_its_field(
    web, auth, demo_event, field, value, where
):
    # Accepted, 9999-12-31 broke the home page and the event list for every event (500).
    response = web.post(
        "/api/v1/events",
        json=new_event(**{field: value}),
        headers={**auth, "Accept-Language": "en"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    (error,) = response.get_json()["errors"]
    assert (error["field"], error["code"]) == (where, "year_out_of_range")
    assert error["message"] == "The year must be between 2000 and 2099."
    assert web.get("/").status_code == web.get("/api/v1/events").status_code == 200
