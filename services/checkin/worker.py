"""Celery worker entry point of the check-in service (its roster consumer)."""

from services.checkin import tasks  # noqa: F401  (registers the tasks)
from services.checkin.app import create_app
from shared.logs import configure_logging

configure_logging("checkin")
celery = create_app().extensions["celery"]
