"""Hostile requests: ids beyond the database range, bodies over MAX_BODY_BYTES."""

from __future__ import annotations

import pytest

from tests.services.checkin.conftest import bearer

HUGE = "9" * 20


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", f"/api/v1/events/{HUGE}/counts"),
        ("GET", f"/api/v1/events/{HUGE}/lists"),
        ("POST", f"/api/v1/checkins/{HUGE}/undo"),
    ],
)
def test_an_id_beyond_the_database_range_is_a_404_problem(client, method, path):
    body = {"reason": "wrong person"} if method == "POST" else None
    response = client.open(path, method=method, headers=bearer("organizer"), json=body)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


def test_a_body_over_the_limit_is_a_413_problem(client):
    body = '{"token": "' + "A" * (65 * 1024) + '"}'
    response = client.post(
        "/api/v1/scans", data=body, content_type="application/json", headers=bearer("organizer")
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "payload_too_large"
