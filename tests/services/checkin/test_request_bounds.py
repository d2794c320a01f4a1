"""Hostile requests: ids beyond the database range, bodies over MAX_BODY_BYTES."""

from __future__ import annotations

import pytest

from tests.services.checkin.conftest import bearer, nonce, token

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


@pytest.mark.parametrize(
    "scanned_at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2100-01-01T00:00:00Z"]
)
def test_an_offline_scan_timed_outside_the_service_years_is_a_422_on_scanned_at(
    client, today_list, scanned_at
):
    # A door with a broken clock replaying its queue got 500s before.
    body = {
        "token": token(1),
        "list_id": today_list.id,
        "nonce": nonce(),
        "offline": True,
        "scanned_at": scanned_at,
    }
    response = client.post("/api/v1/scans", json=body, headers=bearer("organizer"))
    assert response.status_code == 422, response.get_data(as_text=True)
    (error,) = response.get_json()["errors"]
    assert (error["field"], error["code"]) == ("scanned_at", "year_out_of_range")


def test_a_list_dated_outside_the_service_years_is_a_422_on_day(client, roster):
    body = {"name_ar": "يوم", "name_en": "Day", "day": "9999-12-31"}
    response = client.post("/api/v1/events/1/lists", json=body, headers=bearer("organizer"))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"][0]["field"] == "day"
