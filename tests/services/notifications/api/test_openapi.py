"""The notifications OpenAPI document and the health check."""

from __future__ import annotations

# --- OpenAPI and health --------------------------------------------------------------------------


def test_openapi_lists_the_api_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["info"]["title"] == "Hudoor notifications"
    paths = spec["paths"]
    assert set(paths) == {
        "/api/v1/deliveries",
        "/api/v1/deliveries/{delivery_id}",
        "/api/v1/deliveries/{delivery_id}/resend",
        "/api/v1/events/{event_id}/broadcasts",
    }
    assert set(paths["/api/v1/deliveries"]) >= {"get"}
    listed = {p["name"] for p in paths["/api/v1/deliveries"]["get"]["parameters"]}
    assert listed == {"event_id", "status", "channel", "kind", "badge_id", "before_id", "limit"}
    assert "202" in paths["/api/v1/deliveries/{delivery_id}/resend"]["post"]["responses"]
    assert "202" in paths["/api/v1/events/{event_id}/broadcasts"]["post"]["responses"]
    assert "/webhooks/sms" not in paths


def test_healthz_is_200_without_a_token(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
