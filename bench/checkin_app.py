"""WSGI app of the check-in benchmark: `/bare` is a constant Flask endpoint, the rest check-in.

Serve it with `gunicorn "bench.checkin_app:build()"`; the check-in app reads its usual
environment (CHECKIN_DATABASE_URL, SECRET_KEY, BADGE_PUBLIC_KEYS, ...). Nothing is built on import.
"""

from __future__ import annotations

from bench.bare_app import Dispatcher, create_bare_app


def build() -> Dispatcher:
    """Return the benchmark server's WSGI app (gunicorn factory): `/bare`, else check-in."""
    from services.checkin.app import create_app

    return Dispatcher(create_bare_app("checkin"), create_app())
