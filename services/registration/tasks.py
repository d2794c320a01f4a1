"""Celery tasks of the registration service."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from celery import Celery, shared_task
from flask import current_app
from kombu.exceptions import BatchPublishError
from redis import RedisError

from services.registration.operations import accounts, outbox
from services.registration.scopes import context
from shared.contracts import ResetRequestSchema
from shared.outbox_receipts import confirmed, consumer_busy
from shared.web import db_session

log = logging.getLogger(__name__)

# Rows younger than this are left to the request that wrote them, which publishes after commit.
SWEEP_AFTER_SECONDS = 5
# A relay batch (every consumer of every pending row) goes to Redis in one pipeline.
_PIPELINE_COMMANDS = 4 * outbox.PENDING_LIMIT


@shared_task(name="registration.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Publish outbox messages left behind (broker down, process killed after commit), then
    re-send published ones a consumer has not confirmed (lost by the broker)."""
    with sender(current_app.extensions["celery"]) as (send, flush):
        published = outbox.relay(db_session(), send, flush=flush, older_than=SWEEP_AFTER_SECONDS)
    return published + resend_unconfirmed()


def resend_unconfirmed() -> int:
    """Re-send messages some consumer left unconfirmed for OUTBOX_CONFIRM_SECONDS."""
    wait = timedelta(seconds=float(os.environ.get("OUTBOX_CONFIRM_SECONDS", "120")))
    app = current_app._get_current_object()
    try:
        with sender(app.extensions["celery"]) as (send, flush):
            return outbox.resend_unconfirmed(
                db_session(),
                send,
                lambda ids: confirmed(app, ids),
                older_than=wait,
                flush=flush,
                busy=lambda consumer: consumer_busy(app, consumer),
            )
    except RedisError as error:  # receipts unreadable: nothing is settled or re-sent now
        db_session().rollback()
        log.warning("outbox: receipts unreadable (%s); checked again at the next sweep", error)
        return 0


@contextmanager
def sender(celery: Celery) -> Iterator[tuple[outbox.Send, outbox.Flush]]:
    """Yield send and flush functions on one producer of this app's broker (failing fast)."""
    # The app is passed in: Celery's `current_app` is per thread, and in threads that did not
    # create the app (gunicorn's gthread pool, background publishers) it is Celery's default
    # app, which publishes to amqp://localhost instead of the configured broker.
    with celery.producer_or_acquire() as producer:
        try:
            # Buffered (one Redis pipeline per flush) where the transport supports it.
            with producer.batch(max_size=_PIPELINE_COMMANDS) as batch:
                yield _send_on(celery, producer), batch.flush
        except BatchPublishError:
            pass  # the failed flush was reported to the relay, which marked nothing published


def _send_on(celery: Celery, producer) -> outbox.Send:
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

    return send


@shared_task(name="registration.send_password_reset", ignore_result=True)
def send_password_reset(payload: dict) -> None:
    """Email a reset link for a requested address if it has an account (else nothing)."""
    request = ResetRequestSchema().load(payload)
    session = db_session()
    email, language, request_id = request["email"], request["language"], request["message_id"]
    accounts.send_password_reset(session, context(), email, language, request_id=request_id)
    session.commit()
    publish_committed(session)


def publish_committed(session) -> None:
    """Hand this task's committed outbox rows to the broker now, not at the next sweep."""
    ids = session.info.pop("outbox_committed", None)
    if ids:
        relay_rows(current_app.extensions["celery"], session, ids)


def relay_rows(celery: Celery, session, ids: list[int]) -> None:
    """Publish these outbox rows on one producer of the app's broker."""
    with sender(celery) as (send, flush):
        outbox.relay(session, send, flush=flush, ids=ids)
