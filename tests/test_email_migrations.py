"""Each service's migration rewrites e-mail addresses stored before fd7109f (IDN domain in Unicode)
in the ASCII form normalise_email returns now; addresses it refuses or that would break a unique
index stay as stored."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from email_validator import validate_email
from sqlalchemy import select, text

from shared.badge_tokens import BadgeKeyring
from shared.db import make_sessionmaker, migrate, utcnow
from tests.conftest import ServiceDatabase

TYPED = "amal@وزارة.عراق"
ASCII = "amal@xn--mgbexc3i.xn--mgbtx2b"
PUNYCODE = "ali@xn--mgbaam3c7b.xn--mgbtx2b"
LOCAL_NOT_ASCII = "عمر@example.org"
PLAIN = "zaid@example.org"
TAKEN_UNICODE, TAKEN_ASCII = "sara@bücher.de", "sara@xn--bcher-kva.de"
KEYRING = BadgeKeyring.generate(key_id=1)


def stored_before(raw: str) -> str:
    """What normalise_email stored before fd7109f: the domain in Unicode, lowercased."""
    return validate_email(raw, check_deliverability=False).normalized.lower()


@pytest.fixture
def database(request, tmp_path):
    """A database of its own for the service named by the test's parameter, migrated later."""
    created = ServiceDatabase(f"{request.param}_emails", tmp_path)
    yield created
    created.drop()


def set_email(session, table: str, key: str, row_id: int, email: str) -> None:
    """Store an address directly, as the code before fd7109f stored it."""
    session.execute(
        text(f"UPDATE {table} SET email = :e WHERE {key} = :id"), {"e": email, "id": row_id}
    )


def emails(database, table: str, key: str = "id") -> dict[int, str]:
    """The addresses of a table's rows as stored now, by key."""
    with database.engine.connect() as connection:
        return dict(connection.execute(text(f"SELECT {key}, email FROM {table}")).all())


def emails_by_label(database, table: str, ids: dict[str, int]) -> dict[str, str]:
    """The addresses stored now of the rows a test labelled."""
    stored = emails(database, table)
    return {label: stored[row_id] for label, row_id in ids.items()}


# --- registration --------------------------------------------------------------------------------


def registration_app(database):
    from services.registration.app import create_app
    from services.registration.config import RegistrationConfig
    from tests.services.registration.conftest import BASE_URL, SECRET

    config = RegistrationConfig(
        database_url=database.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        keyring=KEYRING,
        public_base_url=BASE_URL,
        default_language="ar",
        max_body_bytes=64 * 1024,
    )
    app = create_app(config, session_factory=make_sessionmaker(database.engine))
    app.config["TESTING"] = True
    return app


def old_registrations(session) -> dict[str, int]:
    """Active delegates of the demo event stored before fd7109f, and one cancelled; ids by label."""
    from services.registration.demo import load_demo
    from services.registration.operations import Context, register_delegate
    from services.registration.schemas import RegistrationSchema
    from tests.services.registration.conftest import BASE_URL, SECRET, nth_delegate

    event, ctx = load_demo(session), Context(KEYRING, SECRET, BASE_URL)
    stored = {"typed": TYPED, "punycode": stored_before(PUNYCODE), "plain": PLAIN}
    stored |= {"local": LOCAL_NOT_ASCII, "taken": TAKEN_UNICODE, "owner": TAKEN_ASCII}
    ids = {}
    for n, (label, email) in enumerate(stored.items(), start=1):
        data = RegistrationSchema().load(nth_delegate(n))
        ids[label] = register_delegate(session, ctx, event, data, privileged=True).id
        set_email(session, "registrations", "id", ids[label], email)
    data = RegistrationSchema().load(nth_delegate(len(stored) + 1))
    ids["cancelled"] = register_delegate(session, ctx, event, data, privileged=True).id
    session.execute(
        text("UPDATE registrations SET status = 'cancelled' WHERE id = :id"),
        {"id": ids["cancelled"]},
    )
    set_email(session, "registrations", "id", ids["cancelled"], TAKEN_UNICODE)
    return ids


def old_accounts(session) -> dict[str, int]:
    """Accounts created before fd7109f, one whose ASCII form another account has; ids by label."""
    from services.registration.operations import Context, accounts
    from tests.services.registration.conftest import BASE_URL, PASSWORD, SECRET

    ctx, ids = Context(KEYRING, SECRET, BASE_URL), {}
    stored = {"typed": TYPED, "punycode": stored_before(PUNYCODE), "plain": PLAIN}
    stored |= {"local": LOCAL_NOT_ASCII, "taken": TAKEN_UNICODE, "owner": TAKEN_ASCII}
    for n, (label, email) in enumerate(stored.items(), start=1):
        data = {"email": f"account{n}@example.org", "name": label, "role": "admin"}
        ids[label] = accounts.create_account(session, ctx, data | {"password": PASSWORD}, []).id
        set_email(session, "accounts", "id", ids[label], email)
    return ids


def old_invitations(session) -> dict[str, int]:
    """Pending invitations of an agency stored before fd7109f, and a withdrawn one; ids by label."""
    from services.registration.account_models import Invitation
    from services.registration.models import Agency

    agency, now = session.scalars(select(Agency).order_by(Agency.id)).first(), utcnow()
    stored = {"typed": TYPED, "local": LOCAL_NOT_ASCII, "taken": TAKEN_UNICODE}
    stored |= {"owner": TAKEN_ASCII, "withdrawn": TAKEN_UNICODE}
    rows = {
        label: Invitation(
            event_id=agency.event_id,
            agency_id=agency.id,
            email=email,
            name=label,
            language="en",
            nonce=label,
            invited_by="account:1",
            created_at=now,
            expires_at=now + timedelta(days=7),
            revoked_at=now if label == "withdrawn" else None,
        )
        for label, email in stored.items()
    }
    session.add_all(rows.values())
    session.flush()
    return {label: row.id for label, row in rows.items()}


@pytest.mark.parametrize("database", ["registration"], indirect=True)
def test_registration_addresses_are_rewritten_in_ascii(database, caplog):
    from services.registration.app import MIGRATIONS

    migrate(database.engine, MIGRATIONS, "0015_outbox_settled")
    with make_sessionmaker(database.engine)() as session:
        registrations, accounts = old_registrations(session), old_accounts(session)
        invitations = old_invitations(session)
        session.commit()
    with caplog.at_level(logging.WARNING):
        migrate(database.engine, MIGRATIONS)
    assert emails_by_label(database, "registrations", registrations) == {
        "typed": ASCII, "punycode": PUNYCODE, "plain": PLAIN, "local": LOCAL_NOT_ASCII,
        "taken": TAKEN_UNICODE, "owner": TAKEN_ASCII, "cancelled": TAKEN_ASCII,
    }  # fmt: skip
    assert emails_by_label(database, "accounts", accounts) == {
        "typed": ASCII, "punycode": PUNYCODE, "plain": PLAIN, "local": LOCAL_NOT_ASCII,
        "taken": TAKEN_UNICODE, "owner": TAKEN_ASCII,
    }  # fmt: skip
    assert emails_by_label(database, "invitations", invitations) == {
        "typed": ASCII, "local": LOCAL_NOT_ASCII, "taken": TAKEN_UNICODE, "owner": TAKEN_ASCII,
        "withdrawn": TAKEN_ASCII,
    }  # fmt: skip
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(warnings) == [
        f"{table}: e-mail addresses left as stored: 1 that normalise_email refuses, "
        "1 whose ASCII form another row already has (unique index)"
        for table in ("accounts", "invitations", "registrations")
    ]
    assert not any("@" in warning for warning in warnings)  # never an address in the log


@pytest.mark.parametrize("database", ["registration"], indirect=True)
@pytest.mark.parametrize("typed", [TYPED, ASCII, PUNYCODE, "Ali@XN--MGBAAM3C7B.xn--mgbtx2b"])
def test_account_stored_before_logs_in_with_the_address_as_typed_after_the_upgrade(database, typed):
    from services.registration.app import MIGRATIONS
    from tests.services.registration.conftest import PASSWORD

    migrate(database.engine, MIGRATIONS, "0015_outbox_settled")
    with make_sessionmaker(database.engine)() as session:
        old_accounts(session)
        session.commit()
    migrate(database.engine, MIGRATIONS)
    client = registration_app(database).test_client()
    answer = client.post("/api/v1/auth/tokens", json={"email": typed, "password": PASSWORD})
    assert answer.status_code == 201, answer.get_json()


# --- check-in ------------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["checkin"], indirect=True)
def test_roster_addresses_are_rewritten_in_ascii_and_found_at_the_desk(database, caplog):
    from services.checkin import operations
    from services.checkin.app import MIGRATIONS
    from services.checkin.operations.desk import search
    from tests.services.checkin.conftest import roster_event

    migrate(database.engine, MIGRATIONS, "0006_attendance_tallies")
    stored = {1: TYPED, 2: stored_before(PUNYCODE), 3: PLAIN, 4: LOCAL_NOT_ASCII}
    with make_sessionmaker(database.engine)() as session:
        for badge_id, email in stored.items():
            operations.apply_roster_event(session, roster_event(badge_id))
            set_email(session, "roster", "badge_id", badge_id, email)
        session.commit()
    with caplog.at_level(logging.WARNING):
        migrate(database.engine, MIGRATIONS)
    assert emails(database, "roster", "badge_id") == {
        1: ASCII,
        2: PUNYCODE,
        3: PLAIN,
        4: LOCAL_NOT_ASCII,
    }
    with make_sessionmaker(database.engine)() as session:
        assert [entry.badge_id for entry in search(session, 1, TYPED)] == [1]
        assert [entry.badge_id for entry in search(session, 1, PUNYCODE)] == [2]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["roster: 1 e-mail address(es) that normalise_email refuses left as stored"]


# --- notifications -------------------------------------------------------------------------------


def replica_emails(session) -> dict[int, str]:
    from services.notifications.models import Recipient

    return {r.badge_id: r.payload["delegate"]["email"] for r in session.scalars(select(Recipient))}


@pytest.mark.parametrize("database", ["notifications"], indirect=True)
def test_recipient_addresses_are_rewritten_in_ascii(database, caplog):
    from services.notifications import operations
    from services.notifications.app import MIGRATIONS
    from tests.services.notifications.payloads import delegate_event

    migrate(database.engine, MIGRATIONS, "0002")
    stored = {1: TYPED, 2: stored_before(PUNYCODE), 3: PLAIN, 4: LOCAL_NOT_ASCII}
    with make_sessionmaker(database.engine)() as session:
        for badge_id, email in stored.items():
            operations.record_delegate_event(
                session, delegate_event(badge_id=badge_id, email=email)
            )
    with caplog.at_level(logging.WARNING):
        migrate(database.engine, MIGRATIONS)
    with make_sessionmaker(database.engine)() as session:
        assert replica_emails(session) == {1: ASCII, 2: PUNYCODE, 3: PLAIN, 4: LOCAL_NOT_ASCII}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "recipients: 1 e-mail address(es) that normalise_email refuses left as stored"
    ]


@pytest.mark.parametrize("database", ["notifications"], indirect=True)
def test_a_phone_change_after_the_upgrade_sends_no_notice_to_the_same_address(database):
    from services.notifications import operations
    from services.notifications.app import MIGRATIONS
    from services.notifications.domain import NOTICE
    from services.notifications.models import Delivery
    from shared.contracts import CONTACT_CHANGED
    from tests.services.notifications.payloads import delegate_event

    migrate(database.engine, MIGRATIONS, "0002")
    with make_sessionmaker(database.engine)() as session:
        operations.record_delegate_event(session, delegate_event(email=TYPED))
    migrate(database.engine, MIGRATIONS)
    # Registration, migrated too, now sends the same address in ASCII with the new phone.
    changed = delegate_event("delegate.updated", version=2, email=ASCII, phone="+9647709876543")
    with make_sessionmaker(database.engine)() as session:
        operations.record_delegate_event(session, changed | {"reason": CONTACT_CHANGED})
        assert session.scalars(select(Delivery.kind).where(Delivery.kind == NOTICE)).all() == []
