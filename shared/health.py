"""Readiness: `/readyz` answers 200 only while the service reaches its database and its broker.

`/healthz` (shared/web.py) stays a liveness check that touches nothing.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, current_app, g, jsonify
from sqlalchemy import text

from shared.problems import PROBLEM_MEDIA_TYPE, problem_body

BROKER_TIMEOUT_SECONDS = 2
log = logging.getLogger(__name__)


def init_readiness(app: Flask) -> None:
    """Serve /readyz (declared in shared.access.INFRASTRUCTURE: anyone may ask)."""
    app.add_url_rule("/readyz", "readyz", readyz)


def broker_client(app: Flask) -> redis.Redis:
    """A Redis client on the app's broker (Celery's), with short timeouts, kept per app."""
    client = app.extensions.get("hudoor_broker_client")
    if client is None:
        url = app.extensions["celery"].conf.broker_url
        client = redis.Redis.from_url(
            url.replace("redis+socket://", "unix://", 1),
            socket_timeout=BROKER_TIMEOUT_SECONDS,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        )
        app.extensions["hudoor_broker_client"] = client
    return client


def broker_key_prefix(app: Flask) -> str:
    """The prefix Celery puts before its Redis keys (CELERY_KEY_PREFIX)."""
    options = app.extensions["celery"].conf.broker_transport_options or {}
    return options.get("global_keyprefix", "")


def queue_length(app: Flask, queue: str) -> int:
    """How many tasks wait in a Celery queue (Redis list) of the app's broker."""
    return broker_client(app).llen(broker_key_prefix(app) + queue)


def readyz():
    """200 `{"status": "ready"}`, or 503 problem+json listing what is down."""
    down = [name for name, check in (("database", _database), ("broker", _broker)) if not check()]
    if not down:
        return {"status": "ready"}
    catalog = current_app.extensions["hudoor_catalog"]
    body = problem_body(catalog, g.get("lang", "ar"), 503, "service_unavailable", ())
    response = jsonify(body | {"down": down})
    response.status_code = 503
    response.mimetype = PROBLEM_MEDIA_TYPE
    response.headers["Retry-After"] = "5"
    return response


def _database() -> bool:
    try:
        with current_app.extensions["hudoor_sessions"]() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception as error:  # any failure means "not ready"
        log.warning("readyz: database unreachable (%s)", type(error).__name__)
        return False


def _broker() -> bool:
    try:
        return bool(broker_client(current_app).ping())
    except Exception as error:
        log.warning("readyz: broker unreachable (%s)", type(error).__name__)
        return False
