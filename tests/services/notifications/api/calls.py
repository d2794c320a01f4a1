"""Calling the notifications API and checking its answers: paths, bodies, tokens, problems."""

from __future__ import annotations

from services.notifications.schemas import DeliverySchema
from shared.identity import issue_api_token, new_token_id

SECRET = "notifications-api-test-secret-0123456789-abcdef"
BASE_URL = "http://hudoor.test"
PROBLEM = "application/problem+json"
DELIVERIES = "/api/v1/deliveries"
FIELDS = set(DeliverySchema().fields)


def broadcasts(event_id: int = 1) -> str:
    return f"/api/v1/events/{event_id}/broadcasts"


def message(**overrides) -> dict:
    """A valid broadcast body; override or drop (None) any field."""
    body = {
        "subject_ar": "تغيير موعد الجلسة الافتتاحية",
        "subject_en": "Opening session moved",
        "body_ar": "تبدأ الجلسة الافتتاحية الساعة العاشرة صباحاً.",
        "body_en": "The opening session starts at 10:00.",
    } | overrides
    return {key: value for key, value in body.items() if value is not None}


def bearer(role: str = "admin", events=None) -> dict:
    token = issue_api_token(
        SECRET, subject=f"test-{role}", role=role, events=events, token_id=new_token_id()
    )
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer("admin")


def problem(response, status: int) -> dict:
    """Assert a problem+json answer with `status` and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == f"urn:hudoor:problem:{body['code']}"
    assert body["title"]
    return body


def field_errors(body: dict) -> dict[str, tuple[str, str]]:
    """{field: (code, message)} of a validation problem."""
    return {error["field"]: (error["code"], error["message"]) for error in body["errors"]}


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()]
