"""WSGI entry point of the notifications service (gunicorn services.notifications.wsgi:app)."""

from services.notifications.app import create_app
from shared.logs import configure_logging

configure_logging("notifications")
app = create_app()
