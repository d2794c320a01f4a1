"""Door searches and check-ins by badge id are limited per device (real Redis): a door finds a
delegate, it does not walk the roster."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from services.checkin.app import create_app
from shared.limits import LimitSettings
from tests.conftest import RUN_ID
from tests.services.checkin.conftest import EVENT_ID, bearer, nonce

SEARCH = f"/api/v1/events/{EVENT_ID}/search"


@pytest.fixture
def limited(config, session_factory, redis_url, roster):
    """The check-in app on the run's Redis, two searches a minute, keys no other test shares."""
    prefix = f"hudoor-test-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    limits = LimitSettings(search="2/minute", key_prefix=prefix)
    app = create_app(
        dataclasses.replace(config, redis_url=redis_url, limits=limits),
        session_factory=session_factory,
    )
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    return app.test_client()


def device(client) -> dict:
    """A new door device's Authorization header."""
    body = {"gate": "north", "name": f"Door {uuid.uuid4().hex[:4]}"}
    enrolled = client.post(
        f"/api/v1/events/{EVENT_ID}/devices", json=body, headers=bearer("organizer")
    )
    return {"Authorization": f"Bearer {enrolled.get_json()['token']}"}


def test_a_device_over_its_search_limit_gets_429_and_another_device_still_searches(limited):
    first, second = device(limited), device(limited)
    for query in ("اسراء", "يسرى"):  # a refused short query would count as well
        assert limited.post(SEARCH, json={"q": query}, headers=first).status_code == 200
    response = limited.post(SEARCH, json={"q": "كريم"}, headers=first)
    assert (response.status_code, response.mimetype) == (429, "application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
    assert limited.post(SEARCH, json={"q": "كريم"}, headers=second).status_code == 200


def test_check_ins_by_badge_id_count_with_searches_so_badge_ids_cannot_walk_the_roster(
    limited, today_list
):
    door = device(limited)
    assert limited.post(SEARCH, json={"q": "اسراء"}, headers=door).status_code == 200
    answers = [
        limited.post(
            "/api/v1/checkins",
            json={"badge_id": badge_id, "list_id": today_list.id, "nonce": nonce()},
            headers=door,
        )
        for badge_id in (2, 3)
    ]
    assert answers[0].status_code == 200 and answers[0].get_json()["status"] == "ok"
    assert answers[1].status_code == 429
    assert "يسري" not in answers[1].get_data(as_text=True)
