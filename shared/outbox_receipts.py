"""Receipts of outbox messages: each consumer task confirms, the relay re-sends what nobody did.

Kombu's Redis transport pops a message and records it as unacknowledged in two commands; a
worker that loses Redis between them loses the message (the Redis fault drill caught one). So
the outbox does not take the broker's word alone: a consumer task that finished leaves a receipt
in Redis under its task id (`<message id>:<task name>`), and registration's relay re-sends a
message to each consumer that left none a while after publication. Consumers drop repeats, so a
receipt lost with Redis costs one repeat, never a message.
"""

from __future__ import annotations

import logging
import re

import redis
from flask import Flask

from shared.health import broker_client, broker_key_prefix, queue_length

log = logging.getLogger(__name__)
RECEIPT_SECONDS = 3 * 24 * 3600
_OUTBOX_TASK_ID = re.compile(r"[0-9a-f]{32}:[a-z_]+\.[a-z_]+")


def outbox_task_id(message_id: str, consumer: str) -> str:
    """The id of the task that carries an outbox message to one consumer."""
    return f"{message_id}:{consumer}"


def _key(app: Flask, task_id: str) -> str:
    return f"{broker_key_prefix(app)}outbox-receipt:{task_id}"


def confirm(app: Flask, task_id: str | None) -> None:
    """Leave the receipt of an outbox task that finished (best effort: a miss means a repeat)."""
    if not task_id or not _OUTBOX_TASK_ID.fullmatch(task_id):
        return
    try:
        broker_client(app).set(_key(app, task_id), 1, ex=RECEIPT_SECONDS)
    except redis.RedisError as error:
        log.warning("outbox receipt %s not recorded (%s); the relay will re-send", task_id, error)


def confirmed(app: Flask, task_ids: list[str]) -> set[str]:
    """Which of these outbox tasks left a receipt (raises redis.RedisError if Redis is down)."""
    if not task_ids:
        return set()
    values = broker_client(app).mget([_key(app, task_id) for task_id in task_ids])
    return {task_id for task_id, value in zip(task_ids, values, strict=True) if value is not None}


def consumer_busy(app: Flask, consumer: str) -> bool:
    """Whether tasks wait in the consumer's queue (an unconfirmed message may be among them)."""
    return queue_length(app, consumer.split(".", 1)[0]) > 0
