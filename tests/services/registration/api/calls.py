"""Calling the registration API and checking its answers: paths, payloads, problem+json."""

from __future__ import annotations

from urllib.parse import urlsplit

REGISTER = "/api/v1/events/wli-gbv-2023/registrations"
PROBLEM = "application/problem+json"


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


def set_quota(client, auth, code: str, quota: int):
    response = client.patch(
        f"/api/v1/events/wli-gbv-2023/agencies/{code}", json={"quota": quota}, headers=auth
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


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
