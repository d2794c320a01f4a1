"""Celery tasks of the registration service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery, shared_task
from flask import current_app

from services.registration.operations import outbox
from shared.web import db_session

# Rows younger than this are left to the request that wrote them, which publishes after commit.
SWEEP_AFTER_SECONDS = 5


@shared_task(name="registration.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Publish outbox messages left behind (broker down, process killed after commit)."""
    with sender(current_app.extensions["celery"]) as send:
        return outbox.relay(db_session(), send, older_than=SWEEP_AFTER_SECONDS)


@contextmanager
def sender(celery: Celery) -> Iterator[outbox.Send]:
    """Yield a send function on one producer of this app's broker, failing fast if it is down."""
    # The app is passed in: Celery's `current_app` is per thread, and in threads that did not
    # create the app (gunicorn's gthread pool, background publishers) it is Celery's default
    # app, which publishes to amqp://localhost instead of the configured broker.
    with celery.producer_or_acquire() as producer:

        def send(name: str, payload: dict, task_id: str) -> None:
            # Short reprs: Celery would otherwise saferepr the whole payload into the headers.
            celery.send_task(
                name,
                args=[payload],
                task_id=task_id,
                retry=False,
                producer=producer,
                argsrepr=f"[{payload.get('topic')} {payload.get('message_id')}]",
                kwargsrepr="{}",
            )

        yield send
