"""Outbox receipts in Redis: a finished consumer task leaves one, the relay reads them back."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Flask

from shared.celery_app import celery_app
from shared.health import broker_client, broker_key_prefix
from shared.outbox_receipts import RECEIPT_SECONDS, confirm, confirmed, outbox_task_id


@pytest.fixture
def app(redis_url):
    """A Flask app holding the run's Celery app, as each service's does."""
    flask_app = Flask(__name__)
    flask_app.extensions["celery"] = celery_app(redis_url)
    yield flask_app
    flask_app.extensions.pop("hudoor_broker_client", None)  # a test may have broken it
    client = broker_client(flask_app)
    prefix = broker_key_prefix(flask_app)
    for key in client.scan_iter(f"{prefix}outbox-receipt:*"):
        client.delete(key)


def task_id(consumer: str = "notifications.handle_delegate_event") -> str:
    return outbox_task_id(uuid.uuid4().hex, consumer)


def test_a_confirmed_task_is_found_and_an_unconfirmed_one_is_not(app):
    done, lost = task_id(), task_id("checkin.apply_roster_event")
    confirm(app, done)
    assert confirmed(app, [done, lost]) == {done}


def test_a_receipt_expires_after_three_days(app):
    done = task_id()
    confirm(app, done)
    key = f"{broker_key_prefix(app)}outbox-receipt:{done}"
    assert 0 < broker_client(app).ttl(key) <= RECEIPT_SECONDS


@pytest.mark.parametrize("other", [None, str(uuid.uuid4()), "relay-outbox"])
def test_tasks_that_carry_no_outbox_message_leave_no_receipt(app, other):
    confirm(app, other)
    prefix = broker_key_prefix(app)
    assert list(broker_client(app).scan_iter(f"{prefix}outbox-receipt:*")) == []


def test_with_redis_unreachable_a_receipt_is_skipped_not_raised(app, caplog):
    app.extensions["hudoor_broker_client"] = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5
    )
    done = task_id()
    confirm(app, done)
    assert "not recorded" in caplog.text
    with pytest.raises(redis.RedisError):
        confirmed(app, [done])
