"""WSGI entry point of the checkin service (gunicorn services.checkin.wsgi:app)."""

from services.checkin.app import create_app
from shared.logs import configure_logging
from shared.web import freeze_startup_heap

configure_logging("checkin")
app = create_app()
freeze_startup_heap()
