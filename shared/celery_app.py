"""The one Celery app: Redis broker, queues by service prefix, tasks run in their service's app."""

from __future__ import annotations

import os
from datetime import timedelta

from celery import Celery, Task
from flask import Flask
from kombu import Queue

from shared.broker_transport import BrokerAMQP
from shared.outbox_receipts import confirm

QUEUES = ("registration", "notifications", "checkin")
_apps: dict[str, Flask] = {}
_celery: Celery | None = None


def beat_schedule() -> dict:
    """Periodic safety nets: outbox relay, lost-delivery sweep, day-before reminders."""
    return {
        "relay-outbox": {
            "task": "registration.relay_outbox",
            "schedule": _every("OUTBOX_SWEEP_SECONDS", 10),
        },
        "sweep-deliveries": {
            "task": "notifications.sweep_deliveries",
            "schedule": _every("DELIVERY_SWEEP_SECONDS", 30),
        },
        "send-reminders": {
            "task": "notifications.send_reminders",
            "schedule": _every("REMINDER_SWEEP_SECONDS", 600),
        },
    }


def _every(variable: str, default_seconds: float) -> timedelta:
    return timedelta(seconds=float(os.environ.get(variable, default_seconds)))


class ServiceTask(Task):
    """Runs a task inside the Flask app of the service that owns it (by task-name prefix)."""

    def __call__(self, *args, **kwargs):
        app = _apps.get(self.name.split(".", 1)[0])
        if app is None:
            raise RuntimeError(f"no app is registered in this worker for task {self.name}")
        with app.app_context():
            result = self.run(*args, **kwargs)
            confirm(app, self.request.id)
            return result


def celery_app(broker_url: str) -> Celery:
    """Return this process's Celery app, creating it on first use."""
    global _celery
    if _celery is None or _celery.conf.broker_url != broker_url:
        _celery = _create(broker_url)
    return _celery


def init_celery(app: Flask, service: str, broker_url: str) -> Celery:
    """Register a service's Flask app for its tasks and expose the Celery app on it."""
    celery = celery_app(broker_url)
    _apps[service] = app
    app.extensions["celery"] = celery
    return celery


def _create(broker_url: str) -> Celery:
    app = Celery(
        "hudoor", broker=broker_url, task_cls=ServiceTask, amqp=BrokerAMQP, set_as_current=True
    )
    visibility = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900"))
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(name) for name in QUEUES],
        task_routes=(_route_by_prefix,),
        task_default_queue="notifications",
        broker_connection_retry_on_startup=True,
        # Publishing fails fast when the broker is down: the outbox sweep retries later.
        broker_transport_options={
            # A task whose worker died is handed out again after this many seconds...
            "visibility_timeout": visibility,
            # ...by a scan this often (kombu's default scans only every ~100 s).
            "unacked_restore_interval": max(1, min(10, visibility // 4)),
            "unacked_restore_throttle": 1,
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.1,
            "interval_max": 0.2,
            # Lets test runs (and several deployments) share one Redis without seeing each other.
            "global_keyprefix": os.environ.get("CELERY_KEY_PREFIX", ""),
        },
        beat_schedule=beat_schedule(),
        enable_utc=True,
        worker_hijack_root_logger=False,
    )
    return app


def _route_by_prefix(name, args, kwargs, options, task=None, **kw):
    """Route `notifications.send_x` to the `notifications` queue, and so on."""
    prefix = name.split(".", 1)[0]
    return {"queue": prefix} if prefix in QUEUES else None
