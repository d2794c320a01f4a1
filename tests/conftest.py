"""Test infrastructure: real databases (SQLite or a PostgreSQL schema per run), rollback."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from shared.db import create_db_engine, migrate

# Set to a PostgreSQL URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run on PostgreSQL.
POSTGRES_URL = os.environ.get("HUDOOR_TEST_POSTGRES_URL", "").strip()
RUN_ID = uuid.uuid4().hex[:10]


def pytest_report_header(config):
    return f"hudoor database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite files'}"


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


class ServiceDatabase:
    """One service's database for this test run: a PostgreSQL schema or a SQLite file."""

    def __init__(self, service: str, tmp_dir: Path):
        self.schema = f"t_{RUN_ID}_{service}"
        if POSTGRES_URL:
            self.url = _psycopg(POSTGRES_URL) + f"?options=-csearch_path%3D{self.schema}"
            self._admin(f"CREATE SCHEMA {self.schema}")
        else:
            self.url = f"sqlite:///{tmp_dir / service}.db"
        self.engine = create_db_engine(self.url)

    def _admin(self, statement: str) -> None:
        admin = create_engine(_psycopg(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(statement))
        admin.dispose()

    def drop(self) -> None:
        self.engine.dispose()
        if POSTGRES_URL:
            self._admin(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def truncate(self, metadata) -> None:
        """Delete every row (for tests that commit for real)."""
        with self.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture(scope="session")
def registration_db(tmp_path_factory):
    from services.registration.app import MIGRATIONS

    database = ServiceDatabase("registration", tmp_path_factory.mktemp("db"))
    migrate(database.engine, MIGRATIONS)
    yield database
    database.drop()


def rollback_factory(engine):
    """A session factory bound to one connection whose outer transaction is rolled back."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return factory, lambda: (outer.rollback(), connection.close())


# Set to a Redis URL (e.g. redis://127.0.0.1:6379/0) to run on that server; else the bundled one.
REDIS_URL = os.environ.get("HUDOOR_TEST_REDIS_URL", "").strip()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis for the run: the given server, or the bundled one on a unix socket."""
    if REDIS_URL:
        yield REDIS_URL
        return
    from runner.redis_server import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def notifications_db(tmp_path_factory):
    from services.notifications.app import MIGRATIONS

    database = ServiceDatabase("notifications", tmp_path_factory.mktemp("db"))
    migrate(database.engine, MIGRATIONS)
    yield database
    database.drop()


# Celery keys of this run are prefixed, so runs sharing one Redis never see each other's tasks.
os.environ.setdefault("CELERY_KEY_PREFIX", f"hudoor-test-{RUN_ID}:")
# Rate limits of this run: keys of its own, and high enough for the suite's many registrations from
# 127.0.0.1 (tests of the limits themselves build apps with low ones).
os.environ.setdefault("RATE_LIMIT_KEY_PREFIX", f"hudoor-test-{RUN_ID}-limits")
os.environ.setdefault("RATE_LIMIT_REGISTRATION", "100000/minute")
os.environ.setdefault("RATE_LIMIT_LOGIN", "100000/minute")
os.environ.setdefault("RATE_LIMIT_LOGIN_ACCOUNT", "100000/minute")


@pytest.fixture(scope="session")
def checkin_db(tmp_path_factory):
    from services.checkin.app import MIGRATIONS

    database = ServiceDatabase("checkin", tmp_path_factory.mktemp("db"))
    migrate(database.engine, MIGRATIONS)
    yield database
    database.drop()
