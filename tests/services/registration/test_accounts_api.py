"""Accounts through the API: tokens for a password, own tokens, resets, admin-created accounts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.account_models import Account
from services.registration.models import ApiToken, OutboxMessage
from tests.services.registration.conftest import PASSWORD, send_requested_resets

pytestmark = pytest.mark.usefixtures("demo_event")


def _account_emails(session, ctx) -> list[dict]:
    """The account emails queued, once the worker has handled the reset requests."""
    send_requested_resets(session, ctx)
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "account.message"))
    return [row.payload for row in rows]


def test_password_opens_a_token_scoped_like_the_account(client, make_account):
    make_account("organizer", email="amal@example.org")
    answer = client.post(
        "/api/v1/auth/tokens", json={"email": "AMAL@example.org", "password": PASSWORD}
    )
    assert answer.status_code == 201
    token = answer.get_json()["token"]
    me = client.get("/api/v1/account", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["email"] == "amal@example.org"
    assert me.get_json()["role"] == "organizer"


@pytest.mark.parametrize(
    "email,password", [("amal@example.org", "wrong-password-1"), ("nobody@example.org", PASSWORD)]
)
def test_wrong_password_and_unknown_email_get_the_same_answer(
    client, make_account, email, password
):
    make_account("organizer", email="amal@example.org")
    answer = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "invalid_credentials"


def test_disabled_account_cannot_get_a_token(client, session, make_account):
    account = make_account("organizer", email="amal@example.org")
    account.disabled_at = account.created_at
    session.commit()
    answer = client.post(
        "/api/v1/auth/tokens", json={"email": "amal@example.org", "password": PASSWORD}
    )
    assert answer.status_code == 401


def test_account_lists_and_revokes_its_own_tokens(client, make_account, bearer):
    auth = bearer(make_account("viewer"))
    created = client.post("/api/v1/account/tokens", json={"label": "laptop"}, headers=auth)
    assert created.status_code == 201 and created.get_json()["token"].startswith("hdr_")
    listed = client.get("/api/v1/account/tokens", headers=auth).get_json()
    assert {"laptop", "test"} == {t["label"] for t in listed}
    assert all("token" not in t for t in listed)
    token_id = created.get_json()["id"]
    assert client.post(f"/api/v1/account/tokens/{token_id}/revoke", headers=auth).status_code == 204
    revoked = {"Authorization": f"Bearer {created.get_json()['token']}"}
    assert client.get("/api/v1/account", headers=revoked).status_code == 401


def test_an_account_cannot_revoke_another_accounts_token(client, make_account, bearer):
    theirs = bearer(make_account("viewer", email="a@example.org"))
    mine = bearer(make_account("viewer", email="b@example.org"))
    token_id = client.get("/api/v1/account/tokens", headers=theirs).get_json()[0]["id"]
    answer = client.post(f"/api/v1/account/tokens/{token_id}/revoke", headers=mine)
    assert answer.status_code == 404
    assert client.get("/api/v1/account", headers=theirs).status_code == 200


def test_reset_request_answers_the_same_whether_or_not_the_email_exists(
    client, session, ctx, make_account
):
    make_account("organizer", email="amal@example.org")
    known = client.post("/api/v1/password-resets", json={"email": "amal@example.org"})
    unknown = client.post("/api/v1/password-resets", json={"email": "ghost@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    [message] = _account_emails(session, ctx)
    assert message["kind"] == "password_reset" and message["email"] == "amal@example.org"


def test_a_reset_request_does_the_same_work_whether_or_not_the_account_exists(
    client, session, make_account
):
    # Looking the account up in the request made a known address's answer measurably slower.
    make_account("organizer", email="amal@example.org")
    for address in ("amal@example.org", "ghost@example.org"):
        client.post("/api/v1/password-resets", json={"email": address})
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.topic, r.payload["email"]) for r in rows[-2:]] == [
        ("account.reset_requested", "amal@example.org"),
        ("account.reset_requested", "ghost@example.org"),
    ]
    assert not [r for r in rows if r.topic == "account.message"]


def test_a_reset_request_delivered_twice_sends_one_email(client, session, ctx, make_account):
    from services.registration.operations import accounts

    make_account("organizer", email="amal@example.org")
    client.post("/api/v1/password-resets", json={"email": "amal@example.org"})
    [request] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "account.reset_requested")
    )
    for _ in range(2):  # the broker or the relay handing the request out again
        accounts.send_password_reset(
            session, ctx, "amal@example.org", "ar", request_id=request.message_id
        )
        session.commit()
    assert len(_account_emails(session, ctx)) == 1


def test_reset_link_sets_a_new_password_once_and_ends_every_session(
    client, session, ctx, make_account, bearer
):
    auth = bearer(make_account("organizer", email="amal@example.org"))
    client.post("/api/v1/password-resets", json={"email": "amal@example.org"})
    token = _account_emails(session, ctx)[0]["link"].rsplit("/", 1)[1]
    new = {"password": "a-new-longer-password-7"}
    assert client.post(f"/api/v1/password-resets/{token}", json=new).status_code == 204
    assert client.post(f"/api/v1/password-resets/{token}", json=new).status_code == 404
    assert client.get("/api/v1/account", headers=auth).status_code == 401
    login = {"email": "amal@example.org", "password": "a-new-longer-password-7"}
    assert client.post("/api/v1/auth/tokens", json=login).status_code == 201


def test_weak_new_password_is_refused_with_the_field(client, session, ctx, make_account):
    make_account("organizer", email="amal@example.org")
    client.post("/api/v1/password-resets", json={"email": "amal@example.org"})
    token = _account_emails(session, ctx)[0]["link"].rsplit("/", 1)[1]
    answer = client.post(f"/api/v1/password-resets/{token}", json={"password": "short"})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "password"


def test_admin_creates_a_scoped_focal_point_account(client, session, make_account, bearer):
    auth = bearer(make_account("admin"))
    payload = {
        "email": "noor@example.org",
        "name": "نور",
        "role": "focal_point",
        "password": "Dijla-and-Furat-2",
        "scopes": [{"event": "wli-gbv-2023", "agency": "IWED"}],
    }
    answer = client.post("/api/v1/accounts", json=payload, headers=auth)
    assert answer.status_code == 201
    account = session.scalar(select(Account).where(Account.email == "noor@example.org"))
    assert account.role == "focal_point" and len(account.agency_ids) == 1


def test_focal_point_account_without_agency_is_refused(client, make_account, bearer):
    auth = bearer(make_account("admin"))
    payload = {
        "email": "noor@example.org",
        "name": "Noor",
        "role": "focal_point",
        "password": "Dijla-and-Furat-2",
        "scopes": [{"event": "wli-gbv-2023"}],
    }
    answer = client.post("/api/v1/accounts", json=payload, headers=auth)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["code"] == "agency_required"


def test_only_an_admin_creates_accounts(client, make_account, bearer):
    auth = bearer(make_account("organizer"))
    assert client.post("/api/v1/accounts", json={}, headers=auth).status_code == 403


def test_tokens_are_stored_without_their_secret(client, session, make_account):
    make_account("organizer", email="amal@example.org")
    answer = client.post(
        "/api/v1/auth/tokens", json={"email": "amal@example.org", "password": PASSWORD}
    )
    record = session.get(ApiToken, answer.get_json()["id"])
    assert answer.get_json()["token"] not in str(vars(record))


def test_passwords_are_stored_as_argon2_hashes(session, make_account):
    account = make_account("viewer")
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash


def test_an_agency_scope_is_refused_for_roles_that_see_every_agency(client, make_account, bearer):
    auth = bearer(make_account("admin"))
    payload = {
        "email": "viewer@example.org",
        "name": "Viewer",
        "role": "viewer",
        "password": "Dijla-and-Furat-2",
        "scopes": [{"event": "wli-gbv-2023", "agency": "IWED"}],
    }
    answer = client.post("/api/v1/accounts", json=payload, headers=auth)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["code"] == "agency_only_for_focal_points"


def test_an_organizer_limited_to_some_events_cannot_create_events(client, make_account, bearer):
    from tests.services.registration.api.calls import new_event

    scoped = bearer(make_account("organizer"))
    answer = client.post("/api/v1/events", json=new_event(slug="rogue-event"), headers=scoped)
    assert answer.status_code == 403
    admin = bearer(make_account("admin"))
    assert (
        client.post("/api/v1/events", json=new_event(slug="new-one"), headers=admin).status_code
        == 201
    )


def test_logging_in_drops_the_accounts_expired_session_records(session, ctx, make_account):
    from datetime import timedelta

    from services.registration.operations import accounts

    account = make_account("viewer")
    accounts.open_session(session, ctx, account)
    old = session.scalars(select(ApiToken).where(ApiToken.account_id == account.id)).one()
    old.created_at -= timedelta(days=2)
    session.commit()
    accounts.open_session(session, ctx, account)
    session.commit()
    labels = session.scalars(select(ApiToken.id).where(ApiToken.account_id == account.id)).all()
    assert old.id not in labels and len(labels) == 1


def test_a_disabled_account_loses_every_session_and_token_at_once(
    client, session, make_account, bearer
):
    admin = bearer(make_account("admin"))
    leaver = make_account("focal_point", email="leaver@example.org", agency="IWED")
    theirs = bearer(leaver)
    answer = client.post(f"/api/v1/accounts/{leaver.id}/disable", headers=admin)
    assert answer.status_code == 200
    assert client.get("/api/v1/account", headers=theirs).status_code == 401
    login = {"email": "leaver@example.org", "password": PASSWORD}
    assert client.post("/api/v1/auth/tokens", json=login).status_code == 401
    revoked = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "token.revoked")
    ).all()
    assert revoked  # the other services hear of it too


def test_changing_an_accounts_scopes_makes_it_log_in_again(client, make_account, bearer):
    admin = bearer(make_account("admin"))
    focal = make_account("focal_point", email="noor@example.org", agency="IWED")
    old = bearer(focal)
    scopes = {"scopes": [{"event": "wli-gbv-2023", "agency": "WED-KRK"}]}
    answer = client.put(f"/api/v1/accounts/{focal.id}/scopes", json=scopes, headers=admin)
    assert answer.status_code == 200 and len(answer.get_json()["agency_ids"]) == 1
    assert client.get("/api/v1/account", headers=old).status_code == 401


def _scope_rows(session, account_id: int) -> list[tuple]:
    from services.registration.account_models import AccountScope

    query = select(AccountScope.event_id, AccountScope.agency_id)
    return sorted(session.execute(query.where(AccountScope.account_id == account_id)).all())


def test_scopes_replaced_by_ones_the_account_has_keep_them(client, session, make_account, bearer):
    # Found by fuzzing: the same scope again was inserted before the old row went (a 500).
    admin = bearer(make_account("admin"))
    focal = make_account("focal_point", email="noor@example.org", agency="IWED")
    iwed = _scope_rows(session, focal.id)
    scopes = [{"event": "wli-gbv-2023", "agency": code} for code in ("IWED", "WED-KRK", "IWED")]
    answer = client.put(
        f"/api/v1/accounts/{focal.id}/scopes", json={"scopes": scopes}, headers=admin
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    rows = _scope_rows(session, focal.id)
    assert len(rows) == 2 and iwed[0] in rows


def test_a_scope_given_twice_is_one_scope(client, session, make_account, bearer):
    admin = bearer(make_account("admin"))
    scopes = [{"event": "wli-gbv-2023", "agency": "IWED"}] * 2
    body = {"email": "noor@example.org", "name": "Noor", "role": "focal_point"}
    body |= {"password": PASSWORD, "scopes": scopes}
    created = client.post("/api/v1/accounts", json=body, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    organizer = make_account("organizer", email="amal@example.org")
    twice = {"scopes": [{"event": "wli-gbv-2023"}, {"event": "wli-gbv-2023", "agency": None}]}
    replaced = client.put(f"/api/v1/accounts/{organizer.id}/scopes", json=twice, headers=admin)
    assert replaced.status_code == 200
    assert len(_scope_rows(session, created.get_json()["id"])) == 1
    assert len(_scope_rows(session, organizer.id)) == 1


def test_scopes_that_do_not_suit_the_role_are_refused(client, make_account, bearer):
    admin = bearer(make_account("admin"))
    focal = make_account("focal_point", email="noor@example.org", agency="IWED")
    scopes = {"scopes": [{"event": "wli-gbv-2023"}]}
    answer = client.put(f"/api/v1/accounts/{focal.id}/scopes", json=scopes, headers=admin)
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "scopes"


def test_a_disabled_accounts_reset_link_does_not_work(client, session, ctx, make_account):
    from services.registration.operations import accounts

    account = make_account("organizer", email="amal@example.org")
    client.post("/api/v1/password-resets", json={"email": "amal@example.org"})
    token = _account_emails(session, ctx)[0]["link"].rsplit("/", 1)[1]
    accounts.disable_account(session, ctx, account)
    session.commit()
    new = {"password": "a-new-longer-password-7"}
    assert client.post(f"/api/v1/password-resets/{token}", json=new).status_code == 404


def test_a_token_id_with_nul_is_not_found(client, make_account, bearer):
    # Found by fuzzing on PostgreSQL, which refuses NUL in text: a 400 naming nothing.
    auth = bearer(make_account("viewer"))
    answer = client.post("/api/v1/account/tokens/a%00b/revoke", headers=auth)
    assert (answer.status_code, answer.get_json()["code"]) == (404, "token_not_found")
