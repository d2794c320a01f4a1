"""WSGI entry point of the registration service (gunicorn services.registration.wsgi:app)."""

from services.registration.app import create_app
from shared.logs import configure_logging
from shared.web import freeze_startup_heap

configure_logging("registration")
app = create_app()
freeze_startup_heap()
