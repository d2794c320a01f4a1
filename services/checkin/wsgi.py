"""WSGI entry point of the checkin service (gunicorn services.checkin.wsgi:app)."""

from services.checkin.app import create_app
from shared.logs import configure_logging

configure_logging("checkin")
app = create_app()
