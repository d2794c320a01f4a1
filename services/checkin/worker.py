"""Celery worker entry point of the check-in service (its roster consumer)."""

from services.checkin import tasks  # noqa: F401  (registers the tasks)
from services.checkin.app import create_app

celery = create_app().extensions["celery"]
