"""Celery worker entry point (celery -A services.notifications.worker worker)."""

from services.notifications import tasks  # noqa: F401  (registers the tasks)
from services.notifications.app import create_app
from shared.logs import configure_logging

configure_logging("notifications")
celery = create_app().extensions["celery"]
