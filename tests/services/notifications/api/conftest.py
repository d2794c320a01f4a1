"""Fixtures of the notifications HTTP app tests (api.py, webhooks.py), on a real database and Redis.

The app is built per test on a rollback session factory; the send tasks it queues land in the
run's Redis, where `sends` reads them back (nothing consumes them here) and clears them.
These `session_factory`/`session` fixtures apply inside this package only.
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from services.notifications.app import create_app
from services.notifications.config import NotificationsConfig
from tests.conftest import rollback_factory
from tests.services.notifications.api.calls import BASE_URL, SECRET
from tests.services.notifications.api.delivery_log import mark_failed, mark_sent, record


@pytest.fixture
def session_factory(notifications_db):
    factory, close = rollback_factory(notifications_db.engine)
    yield factory
    close()


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def make_app(tmp_path, redis_url, session_factory):
    """Build the notifications app on this test's rollback factory."""

    def make(*, sms_url: str | None = None, redis: str = redis_url):
        config = NotificationsConfig(
            database_url="sqlite://",  # unused: the session factory is given
            redis_url=redis,
            secret_key=SECRET,
            default_language="ar",
            public_base_url=BASE_URL,
            var_dir=tmp_path / "var",
            mail_url=None,
            mail_from="Hudoor <no-reply@hudoor.invalid>",
            sms_url=sms_url,
            sms_per_second=100.0,
        )
        app = create_app(config, session_factory=session_factory)
        # Unexpected errors answer the app's 500 problem, as in production.
        app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sends(app):
    """Read (and remove) the send tasks queued in Redis: their delivery ids, oldest first."""
    celery = app.extensions["celery"]

    def drain() -> list[int]:
        ids = []
        with celery.connection_for_read() as connection:
            redis = connection.default_channel.client  # applies the run's key prefix
            while (raw := redis.rpop("notifications")) is not None:
                task = json.loads(raw)
                assert task["headers"]["task"] == "notifications.send_delivery"
                args, kwargs, _ = json.loads(base64.b64decode(task["body"]))
                assert kwargs == {}
                ids.extend(args)
        return ids

    drain()
    yield drain
    drain()


@pytest.fixture
def log(session):
    """A small delivery log over two events; names map to ids, oldest first."""
    e1_email, e1_sms = record(session, badge_id=11, channel="both")
    mark_sent(session, e1_sms, "SM-e1")
    [e1_cancelled] = record(
        session,
        topic="delegate.cancelled",
        badge_id=12,
        version=2,
        status="cancelled",
        channel="email",
        email="hana@example.org",
        language="en",
    )
    mark_failed(session, e1_cancelled, "recipient_refused: 550 5.1.1 no such user")
    [e2_email] = record(session, badge_id=21, event_id=2, channel="email", email="b@example.org")
    return SimpleNamespace(
        e1_email=e1_email, e1_sms=e1_sms, e1_cancelled=e1_cancelled, e2_email=e2_email
    )


@pytest.fixture
def recipients(session):
    """Active delegates of event 1 in two agencies and categories, one cancelled, one elsewhere."""
    people = [
        dict(badge_id=101, agency="IWED", category="DELEGATE", channel="both", email="a@x.org"),
        dict(badge_id=102, agency="IWED", category="SPEAKER", channel="email", email="b@x.org"),
        dict(
            badge_id=103, agency="MOE", category="DELEGATE", channel="sms", phone="+9647700000103"
        ),
        dict(
            badge_id=104,
            agency="MOE",
            category="DELEGATE",
            channel="both",
            email="d@x.org",
            phone=None,
        ),
        dict(badge_id=106, agency="MOE", category="SPEAKER", channel="sms", phone=None),
    ]
    for person in people:
        record(session, **person)
    record(
        session,
        topic="delegate.cancelled",
        version=2,
        status="cancelled",
        badge_id=105,
        agency="IWED",
        category="DELEGATE",
        channel="both",
        email="e@x.org",
    )
    record(session, badge_id=201, event_id=2, agency="IWED", channel="email", email="f@x.org")
    return {
        101: ["a@x.org", "+9647701234567"],
        102: ["b@x.org"],
        103: ["+9647700000103"],
        104: ["d@x.org"],
    }
