"""Fixtures of the check-in tests: app, sessions, keys, a roster built from delegate events."""

from __future__ import annotations

import uuid

import pytest

from services.checkin import operations
from services.checkin.app import create_app
from services.checkin.config import CheckinConfig
from services.checkin.domain import local_date
from services.checkin.models import Base, CheckinList
from shared.badge_tokens import BadgeKeyring
from shared.db import make_sessionmaker, utcnow
from shared.identity import issue_api_token
from tests.conftest import rollback_factory
from tests.services.notifications.payloads import delegate_event

SECRET = "checkin-test-secret-key-0123456789-abcdefgh"
KEYRING = BadgeKeyring.generate(key_id=1)
EVENT_ID = 1


@pytest.fixture
def session_factory(checkin_db):
    factory, close = rollback_factory(checkin_db.engine)
    yield factory
    close()


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def committing_factory(checkin_db):
    """Sessions that commit for real (for tests of concurrent doors); every row deleted after."""
    yield make_sessionmaker(checkin_db.engine)
    checkin_db.truncate(Base.metadata)


@pytest.fixture
def keys():
    return KEYRING.public_keys()


def roster_event(
    badge_id: int,
    *,
    version: int = 1,
    generation: int = 1,
    status="active",
    category="DELEGATE",
    name_ar="د. يسرى كريم محسن العلاق",
    name_en="Dr. Yusra Karim Mohsen Al-Alaq",
    phone=None,
    email=None,
    agency="IWED",
    event_id=EVENT_ID,
    days=("2023-02-12",),
) -> dict:
    """A delegate event for the roster; phone and email default to distinct values."""
    payload = delegate_event(
        "delegate.updated",
        badge_id=badge_id,
        version=version,
        status=status,
        category=category,
        agency=agency,
        days=days,
        event_id=event_id,
        email=email or f"d{badge_id}@example.org",
        phone=phone or f"+96477{badge_id:08d}",
    )
    payload["delegate"].update(generation=generation, full_name_ar=name_ar, full_name_en=name_en)
    payload["badge_token"] = KEYRING.sign(event_id, badge_id, generation)
    return payload


def token(badge_id: int, generation: int = 1, event_id: int = EVENT_ID) -> str:
    return KEYRING.sign(event_id, badge_id, generation)


@pytest.fixture
def roster(session):
    """Three delegates on the roster of event 1."""
    operations.apply_roster_event(session, roster_event(1))
    operations.apply_roster_event(
        session,
        roster_event(2, name_ar="إسراء عبد الله", name_en="Israa Abdullah", phone="+9647701234567"),
    )
    operations.apply_roster_event(
        session,
        roster_event(3, name_ar="يسري حسن", name_en="Yusri", category="PRESS", agency="MOE"),
    )
    return session


@pytest.fixture
def today_list(roster):
    """A list for today admitting every category (the demo event's day list is in 2023)."""
    checkin_list = CheckinList(
        event_id=EVENT_ID,
        name_ar="اليوم",
        name_en="Today",
        day=local_date(utcnow(), "Asia/Baghdad"),
        categories=None,
        created_at=utcnow(),
    )
    roster.add(checkin_list)
    roster.commit()
    return checkin_list


def nonce() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def config(checkin_db):
    return CheckinConfig(
        database_url=checkin_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        default_language="ar",
        public_key_document=KEYRING.public_key_document(),
    )


@pytest.fixture
def client(config, session_factory):
    app = create_app(config, session_factory=session_factory)
    app.config["TESTING"] = True
    return app.test_client()


def bearer(role: str, events=(EVENT_ID,), token_id: str | None = None) -> dict:
    """An Authorization header for a role scoped to events."""
    value = issue_api_token(
        SECRET,
        subject=f"test-{role}",
        role=role,
        events=list(events) if events else None,
        token_id=token_id or uuid.uuid4().hex[:12],
    )
    return {"Authorization": f"Bearer {value}"}
