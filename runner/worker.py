"""The embedded runner's single worker: every service's tasks, all queues."""

from services.notifications.worker import celery  # noqa: F401  (the one Celery app)
