"""WSGI app of the benchmark server: `/bare` is a constant Flask endpoint, the rest registration.

Serve it with `gunicorn "bench.bare_app:build()"`; the registration app reads its usual
environment. Nothing is built on import.
"""

from __future__ import annotations

from flask import Flask

from services.registration.app import create_app

BARE_PATH = "/bare"


def create_bare_app() -> Flask:
    """Return a minimal Flask app whose only endpoint returns a constant JSON document."""
    bare = Flask(__name__)

    @bare.get(BARE_PATH)
    def constant():
        """Return the same small JSON document every time."""
        return {"status": "ok"}

    return bare


class Dispatcher:
    """Send `/bare` to the bare app and every other path to the registration app."""

    def __init__(self, bare, main) -> None:
        self.bare = bare
        self.main = main

    def __call__(self, environ, start_response):
        """Dispatch one WSGI request on its exact path."""
        target = self.bare if environ.get("PATH_INFO") == BARE_PATH else self.main
        return target(environ, start_response)


def build() -> Dispatcher:
    """Return the benchmark server's WSGI app (gunicorn factory)."""
    return Dispatcher(create_bare_app(), create_app())
