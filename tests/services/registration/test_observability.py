"""Registration's /readyz and /metrics: the outbox depth and Celery's queues, read live."""

from __future__ import annotations

import dataclasses

import pytest

from services.registration.app import create_app
from shared.health import broker_client, broker_key_prefix
from tests.services.checkin.test_observability import metric
from tests.services.registration.conftest import delegate

REGISTER = "/api/v1/events/wli-gbv-2023/registrations"


@pytest.fixture
def live_app(config, session_factory, redis_url):
    """The registration app on a reachable Redis."""
    return create_app(dataclasses.replace(config, redis_url=redis_url), session_factory)


def test_readyz_is_ready_with_database_and_broker(live_app):
    assert live_app.test_client().get("/readyz").get_json() == {"status": "ready"}


def test_outbox_rows_left_while_the_broker_is_down_are_counted(client, demo_event):
    before = metric(client, "hudoor_registration_outbox_pending")
    assert client.post(REGISTER, json=delegate()).status_code == 201
    assert metric(client, "hudoor_registration_outbox_pending") > before
    assert metric(client, "hudoor_metrics_source_up", source="celery_queues") == 0
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()["down"]) == (503, ["broker"])


def test_celery_queue_length_is_read_from_redis(live_app):
    client, celery = live_app.test_client(), live_app.extensions["celery"]
    before = metric(client, "hudoor_celery_queue_length", queue="registration")
    celery.send_task("registration.metrics_probe", retry=False)
    try:
        assert metric(client, "hudoor_celery_queue_length", queue="registration") == before + 1
    finally:
        broker_client(live_app).lpop(broker_key_prefix(live_app) + "registration")
