"""Bearer tokens on the API: missing, forged, revoked, by role and by event scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.models import Event
from services.registration.tokens import create_api_token, revoke_api_token
from shared.identity import issue_api_token, verify_api_token
from tests.services.registration.api.calls import new_event, problem
from tests.services.registration.conftest import SECRET


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


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
