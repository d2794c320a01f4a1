"""WSGI entry point of the registration service (gunicorn services.registration.wsgi:app)."""

from services.registration.app import create_app

app = create_app()
