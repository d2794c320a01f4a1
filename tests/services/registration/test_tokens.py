"""Bearer tokens: revocation is recorded and announced to the other services via the outbox."""

from sqlalchemy import select

from services.registration.models import OutboxMessage
from services.registration.tokens import create_api_token, revoke_api_token, token_revoked
from shared.contracts import TokenRevokedSchema
from shared.identity import verify_api_token
from tests.services.registration.conftest import SECRET


def test_revoking_a_token_refuses_it_here_and_announces_it_once(session, session_factory):
    token = create_api_token(session, SECRET, label="leaked", role="organizer")
    token_id = verify_api_token(SECRET, token, max_age=60).token_id
    assert not token_revoked(session, token_id)
    assert revoke_api_token(session, token_id) and revoke_api_token(session, token_id)
    session.commit()
    assert token_revoked(session, token_id)
    [message] = session.scalars(select(OutboxMessage)).all()
    assert message.topic == "token.revoked"
    assert TokenRevokedSchema().load(message.payload)["token_id"] == token_id


def test_unknown_token_ids_are_refused_and_cannot_be_revoked(session, session_factory):
    assert token_revoked(session, "never-issued")
    assert not revoke_api_token(session, "never-issued")


def test_an_organizer_registers_through_the_api_with_real_connections(config, committed_factory):
    """The revocation check must not wait on the request's own write lock (SQLite)."""
    from services.registration.app import create_app
    from services.registration.demo import load_demo
    from shared.db import transaction
    from tests.services.registration.conftest import delegate

    with transaction(committed_factory) as session:
        load_demo(session)
        token = create_api_token(session, SECRET, label="organizer", role="organizer")
    client = create_app(config, session_factory=committed_factory).test_client()
    response = client.post(
        "/api/v1/events/wli-gbv-2023/registrations",
        json=delegate(category="SPEAKER"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201 and response.get_json()["category"]["code"] == "SPEAKER"


def test_create_token_command_issues_no_door_device_or_delegate_token(app):
    """Door devices are enrolled in check-in (one event and gate, revocable there), not here."""
    runner = app.test_cli_runner()
    for role in ("device", "delegate"):
        refused = runner.invoke(args=["create-token", "--role", role, "--label", "door 1"])
        assert refused.exit_code == 2 and "hdr_" not in refused.output, role
    issued = runner.invoke(args=["create-token", "--role", "viewer", "--label", "reports"])
    assert issued.exit_code == 0 and issued.output.startswith("hdr_")
