"""Replicated token revocations: recorded once, bad messages dropped."""

import pytest

from services.notifications.models import RevokedToken
from shared.revocations import apply_revocation_event, is_revoked
from tests.conftest import rollback_factory


@pytest.fixture
def session(notifications_db):
    factory, close = rollback_factory(notifications_db.engine)
    with factory() as session:
        yield session
    close()


def event(**overrides) -> dict:
    return {
        "schema_version": 1,
        "topic": "token.revoked",
        "message_id": "m1",
        "token_id": "tok-1",
        "revoked_at": "2026-11-28T09:00:00+00:00",
        **overrides,
    }


def test_a_revocation_is_recorded_once_even_when_redelivered(session):
    assert apply_revocation_event(session, RevokedToken, event())
    assert apply_revocation_event(session, RevokedToken, event())
    assert is_revoked(session, RevokedToken, "tok-1")
    assert not is_revoked(session, RevokedToken, "tok-2")


@pytest.mark.parametrize(
    "bad", [{"topic": "delegate.registered"}, {"token_id": ""}, {"schema_version": 2}, {"extra": 1}]
)
def test_a_message_breaking_the_contract_is_dropped(session, bad):
    assert not apply_revocation_event(session, RevokedToken, event(**bad))
    assert not is_revoked(session, RevokedToken, "tok-1")
