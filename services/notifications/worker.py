"""Celery worker entry point (celery -A services.notifications.worker worker)."""

from services.notifications import tasks  # noqa: F401  (registers the tasks)
from services.notifications.config import NotificationsConfig
from shared.celery_app import create_celery

celery = create_celery(NotificationsConfig.from_env().redis_url)
