"""Celery worker entry point of the registration service (its outbox relay)."""

from services.registration import printing_tasks, tasks  # noqa: F401  (registers the tasks)
from services.registration.app import create_app
from shared.logs import configure_logging

configure_logging("registration")
celery = create_app().extensions["celery"]
