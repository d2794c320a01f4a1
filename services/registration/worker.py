"""Celery worker entry point of the registration service (its outbox relay)."""

from services.registration import tasks  # noqa: F401  (registers the tasks)
from services.registration.app import create_app

celery = create_app().extensions["celery"]
