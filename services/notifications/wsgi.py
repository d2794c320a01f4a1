"""WSGI entry point of the notifications service (gunicorn services.notifications.wsgi:app)."""

from services.notifications.app import create_app
from shared.logs import configure_logging
from shared.web import freeze_startup_heap

configure_logging("notifications")
app = create_app()
freeze_startup_heap()
