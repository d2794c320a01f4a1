"""Celery tasks of the registration service."""

from __future__ import annotations

from celery import current_app, shared_task

from services.registration.operations import outbox
from shared.web import db_session

# Rows younger than this are left to the request that wrote them, which publishes after commit.
SWEEP_AFTER_SECONDS = 5


@shared_task(name="registration.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Publish outbox messages left behind (broker down, process killed after commit)."""
    return outbox.relay(db_session(), send_task, older_than=SWEEP_AFTER_SECONDS)


def send_task(name: str, payload: dict, task_id: str) -> None:
    """Hand one message to the broker now, failing fast if it is down."""
    current_app.send_task(name, args=[payload], task_id=task_id, retry=False)
