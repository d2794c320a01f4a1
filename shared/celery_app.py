"""The one Celery app: Redis broker, queues routed by the service prefix of task names."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

QUEUES = ("registration", "notifications", "checkin")


def create_celery(broker_url: str) -> Celery:
    """Create the Celery app every service and worker uses."""
    app = Celery("hudoor", broker=broker_url, set_as_current=True)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(name) for name in QUEUES],
        task_routes=(_route_by_prefix,),
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        enable_utc=True,
    )
    return app


def _route_by_prefix(name, args, kwargs, options, task=None, **kw):
    """Route `notifications.send_x` to the `notifications` queue, and so on."""
    prefix = name.split(".", 1)[0]
    return {"queue": prefix} if prefix in QUEUES else None
