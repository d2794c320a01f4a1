"""Hostile requests: ids beyond the database range, bodies over MAX_BODY_BYTES."""

from __future__ import annotations

import pytest

from services.notifications.app import create_app
from services.notifications.config import NotificationsConfig
from shared.identity import issue_api_token, new_token_id

SECRET = "notifications-bounds-test-secret-0123456789-abcdef"
HUGE = "9" * 20


@pytest.fixture
def client(notifications_db, tmp_path):
    config = NotificationsConfig(
        database_url=notifications_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        default_language="en",
        public_base_url="http://hudoor.test",
        var_dir=tmp_path,
        mail_url=None,
        mail_from="Hudoor <no-reply@hudoor.invalid>",
        sms_url=None,
        sms_per_second=5.0,
    )
    app = create_app(config)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    return app.test_client()


def admin() -> dict:
    token = issue_api_token(SECRET, subject="admin", role="admin", token_id=new_token_id())
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", f"/api/v1/deliveries/{HUGE}"),
        ("POST", f"/api/v1/deliveries/{HUGE}/resend"),
        ("POST", f"/api/v1/events/{HUGE}/broadcasts"),
    ],
)
def test_an_id_beyond_the_database_range_is_a_404_problem(client, method, path):
    response = client.open(
        path, method=method, headers=admin(), json={} if method == "POST" else None
    )
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


def test_a_body_over_the_limit_is_a_413_problem(client):
    body = '{"body_en": "' + "x" * (65 * 1024) + '"}'
    response = client.post(
        "/api/v1/events/1/broadcasts", data=body, content_type="application/json", headers=admin()
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "payload_too_large"
