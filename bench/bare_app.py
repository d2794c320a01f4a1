"""WSGI app of the benchmark server: `/bare` is a constant Flask endpoint, the rest registration.

Serve it with `gunicorn "bench.bare_app:build()"`; the registration app reads its usual
environment. Nothing is built on import.

`/floor` (POST) is the least any recorded request must do: a bare Flask endpoint that inserts
one row with a unique key into `bench_floor` in the service's database and commits, through the
project's engine settings. Its rate is a ceiling for registrations and scans, which do more.
"""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, insert

from services.registration.app import create_app
from shared.config import database_url
from shared.db import create_db_engine

BARE_PATH = "/bare"
FLOOR_PATH = "/floor"
FLOOR = Table(
    "bench_floor",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("nonce", String(32), nullable=False, unique=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_floor_table(service: str, environ: dict[str, str]) -> None:
    """Create the floor endpoint's table (before the server starts: workers would race)."""
    engine = create_db_engine(database_url(service, environ))
    FLOOR.create(engine, checkfirst=True)
    engine.dispose()


def create_bare_app(floor_service: str | None = None) -> Flask:
    """Return a minimal Flask app: a constant document, and the floor on a service's database."""
    bare = Flask(__name__)

    @bare.get(BARE_PATH)
    def constant():
        """Return the same small JSON document every time."""
        return {"status": "ok"}

    if floor_service:
        engine = create_db_engine(database_url(floor_service))

        @bare.post(FLOOR_PATH)
        def floor():
            """Insert one row with a fresh unique key and commit."""
            with engine.begin() as connection:
                connection.execute(insert(FLOOR), {"nonce": uuid.uuid4().hex})
            return {"status": "ok"}

    return bare


class Dispatcher:
    """Send `/bare` and `/floor` to the bare app and every other path to the service's app."""

    def __init__(self, bare, main) -> None:
        self.bare = bare
        self.main = main

    def __call__(self, environ, start_response):
        """Dispatch one WSGI request on its exact path."""
        bare = environ.get("PATH_INFO") in (BARE_PATH, FLOOR_PATH)
        return (self.bare if bare else self.main)(environ, start_response)


def build() -> Dispatcher:
    """Return the benchmark server's WSGI app (gunicorn factory)."""
    return Dispatcher(create_bare_app("registration"), create_app())
