"""Fixtures of the registration tests: app, sessions, demo event, tokens and payloads."""

from __future__ import annotations

import pytest

from services.registration.app import create_app
from services.registration.config import RegistrationConfig
from services.registration.demo import load_demo
from services.registration.models import Base
from services.registration.operations import Context
from services.registration.tokens import create_api_token
from shared.badge_tokens import BadgeKeyring
from tests.conftest import rollback_factory

SECRET = "test-secret-key-that-is-long-enough-0123456789"
BASE_URL = "http://hudoor.test"


@pytest.fixture(scope="session")
def keyring():
    return BadgeKeyring.generate(key_id=1)


@pytest.fixture
def config(registration_db, keyring):
    return RegistrationConfig(
        database_url=registration_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        keyring=keyring,
        public_base_url=BASE_URL,
        default_language="ar",
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def session_factory(registration_db):
    factory, close = rollback_factory(registration_db.engine)
    yield factory
    close()


@pytest.fixture
def committed_factory(registration_db):
    """Real commits on separate connections (concurrency tests); rows deleted afterwards."""
    from shared.db import make_sessionmaker

    yield make_sessionmaker(registration_db.engine)
    registration_db.truncate(Base.metadata)


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def ctx(keyring):
    return Context(keyring, SECRET, BASE_URL)


@pytest.fixture
def demo_event(session):
    event = load_demo(session)
    session.commit()
    return event


@pytest.fixture
def upcoming_event(session, demo_event):
    """The demo event moved a month ahead: focal points and delegates may still change it."""
    from datetime import date, timedelta

    start = date.today() + timedelta(days=30)
    for offset, day in enumerate(demo_event.days):
        day.day = start + timedelta(days=offset)
    session.commit()
    return demo_event


@pytest.fixture
def app(config, session_factory):
    app = create_app(config, session_factory=session_factory)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def organizer_token(session):
    token = create_api_token(session, SECRET, label="test organizer", role="organizer")
    session.commit()
    return token


@pytest.fixture
def auth(organizer_token):
    return {"Authorization": f"Bearer {organizer_token}"}


def delegate(**overrides) -> dict:
    """A valid registration payload for the demo event; override any field."""
    payload = {
        "full_name_ar": "د. يسرى كريم محسن العلاق",
        "full_name_en": "Dr. Yusra Karim Mohsen Al-Alaq",
        "job_title": "Director General",
        "agency": "IWED",
        "email": "yusra@example.org",
        "phone": "0770 123 4567",
        "gender": "female",
        "language": "ar",
        "channel": "both",
        "consent": True,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def nth_delegate(n: int, **overrides) -> dict:
    """A distinct valid delegate (unique email and phone) number `n`."""
    return delegate(
        full_name_ar=f"مشارك {n}",
        full_name_en=f"Delegate {n}",
        email=f"delegate{n}@example.org",
        phone=f"+96477{n:08d}",
        **overrides,
    )


# --- Shared by the api/ tests and test_views.py -------------------------------------------------


@pytest.fixture
def web(app):
    """A client of the app that answers unexpected errors with its 500 problem, as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app.test_client()


@pytest.fixture
def registered(session, ctx, demo_event):
    """An active IWED delegate of the demo event (the default `delegate()`), via the use case."""
    from services.registration.operations import register_delegate
    from services.registration.schemas import RegistrationSchema

    data = RegistrationSchema().load(delegate())
    registration = register_delegate(session, ctx, demo_event, data)
    session.commit()
    return registration


def decode_qr(png: bytes, size: int | None = None) -> str:
    """The text of the QR code in a PNG, optionally downscaled (greyscale, LANCZOS) first."""
    import io

    from PIL import Image

    from tests.qr_codes import read_qr_codes

    image = Image.open(io.BytesIO(png))
    if size is not None:
        image = image.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    results = read_qr_codes(image)
    assert results, "no QR code found in the image"
    return results[0].text


def send_requested_resets(session, ctx) -> None:
    """Do the registration worker's part of each reset request not done yet: look up, email."""
    from sqlalchemy import select

    from services.registration.models import OutboxMessage
    from services.registration.operations import accounts

    query = select(OutboxMessage).where(OutboxMessage.topic == "account.reset_requested")
    for row in session.scalars(query.where(OutboxMessage.published_at.is_(None))).all():
        email, language = row.payload["email"], row.payload["language"]
        accounts.send_password_reset(session, ctx, email, language, request_id=row.message_id)
        row.published_at = ctx.clock()  # the relay's mark: this request is done
    session.commit()


def row_count(session, model) -> int:
    """The number of rows of `model` as the database sees it now."""
    from sqlalchemy import func, select

    return session.scalar(select(func.count()).select_from(model))


def delegate_messages(session) -> int:
    """Outbox messages about delegates (set-up changes announce `event.changed` besides)."""
    from sqlalchemy import func, select

    from services.registration.models import OutboxMessage
    from shared.contracts import DELEGATE_TOPICS

    query = select(func.count()).where(OutboxMessage.topic.in_(DELEGATE_TOPICS))
    return session.scalar(query)


# --- Accounts ------------------------------------------------------------------------------------

PASSWORD = "kahramana-1958-baghdad"


@pytest.fixture
def make_account(session, ctx):
    """Create an account: `make_account("focal_point", agency="IWED")`, `make_account("admin")`."""
    from services.registration.operations import accounts, get_agency, get_event

    def make(role: str, *, email: str | None = None, event="wli-gbv-2023", agency=None):
        scopes = []
        if role != "admin":
            found = get_event(session, event)
            agency_id = get_agency(session, found, agency).id if agency else None
            scopes = [(found.id, agency_id)]
        data = {"email": email or f"{role}-{agency or 'all'}@example.org".lower(), "name": role}
        data |= {"role": role, "password": PASSWORD}
        account = accounts.create_account(session, ctx, data, scopes)
        session.commit()
        return account

    return make


@pytest.fixture
def bearer(session, ctx):
    """The Authorization header of a fresh API token of an account."""
    from services.registration.operations import accounts

    def header(account) -> dict:
        _, token = accounts.issue_token(session, ctx, account, "test")
        session.commit()
        return {"Authorization": f"Bearer {token}"}

    return header
