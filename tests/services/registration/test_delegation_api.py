"""Focal points manage their own agency's delegation; invitations; substitution keeps the seat."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.checkin import operations as door
from services.checkin.models import CheckinList, RosterEntry
from services.checkin.operations.scanning import ScanRequest
from services.registration.account_models import Account
from services.registration.models import Agency, OutboxMessage, Registration
from shared.db import utcnow
from tests.conftest import rollback_factory
from tests.services.registration.conftest import nth_delegate

pytestmark = pytest.mark.usefixtures("demo_event")
EVENT = "/api/v1/events/wli-gbv-2023"


@pytest.fixture
def iwed(make_account, bearer):
    """The Authorization header of IWED's focal point."""
    return bearer(make_account("focal_point", agency="IWED"))


def _register(client, auth, n: int, agency="IWED"):
    payload = nth_delegate(n)
    payload.pop("agency")
    return client.post(f"{EVENT}/agencies/{agency}/registrations", json=payload, headers=auth)


def _outbox(session, topic: str) -> list[dict]:
    query = select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
    return [row.payload for row in session.scalars(query)]


def test_focal_point_registers_a_delegate_of_their_agency(client, iwed):
    answer = _register(client, iwed, 1)
    assert answer.status_code == 201
    assert answer.get_json()["agency"]["code"] == "IWED"


def test_focal_point_sees_their_delegation_and_quota(client, iwed):
    _register(client, iwed, 1)
    delegation = client.get(f"{EVENT}/agencies/IWED/delegation", headers=iwed).get_json()
    assert delegation["agency"]["registered_count"] == 1
    assert [r["full_name_en"] for r in delegation["registrations"]] == ["Delegate 1"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", f"{EVENT}/agencies/WED-KRK/delegation"),
        ("post", f"{EVENT}/agencies/WED-KRK/registrations"),
        ("post", f"{EVENT}/agencies/WED-KRK/invitations"),
        ("get", f"{EVENT}/invitations"),
    ],
)
def test_focal_point_of_one_agency_cannot_touch_another(client, iwed, method, path):
    answer = getattr(client, method)(path, json=nth_delegate(1), headers=iwed)
    assert answer.status_code == 403


def test_focal_point_cannot_read_or_cancel_another_agencys_delegate(
    client, make_account, bearer, iwed
):
    kirkuk = bearer(make_account("focal_point", agency="WED-KRK"))
    theirs = _register(client, kirkuk, 2, agency="WED-KRK").get_json()["id"]
    assert client.get(f"/api/v1/registrations/{theirs}", headers=iwed).status_code == 403
    cancel = client.post(f"/api/v1/registrations/{theirs}/cancel", json={}, headers=iwed)
    assert cancel.status_code == 403


def test_focal_point_withdraws_their_own_delegate(client, iwed, upcoming_event):
    mine = _register(client, iwed, 1).get_json()["id"]
    answer = client.post(f"/api/v1/registrations/{mine}/cancel", json={}, headers=iwed)
    assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"


def test_focal_point_never_receives_a_delegate_s_private_link(client, iwed, upcoming_event):
    # The link changes the delegate's contact details: it goes to the delegate's own address.
    registered = _register(client, iwed, 1).get_json()
    mine = registered["id"]
    answers = [
        registered,
        client.get(f"{EVENT}/agencies/IWED/delegation", headers=iwed).get_json(),
        client.get(f"/api/v1/registrations/{mine}", headers=iwed).get_json(),
        client.post(f"/api/v1/registrations/{mine}/reissue", json={}, headers=iwed).get_json(),
        client.post(
            f"/api/v1/registrations/{mine}/substitute", json=nth_delegate(2), headers=iwed
        ).get_json(),
    ]
    assert all(answer and "/r/" not in str(answer) for answer in answers)
    assert all("self_service_url" not in str(answer) for answer in answers)


def test_focal_point_cannot_use_organizer_only_categories(client, iwed):
    payload = nth_delegate(1, category="SPEAKER")
    payload.pop("agency")
    answer = client.post(f"{EVENT}/agencies/IWED/registrations", json=payload, headers=iwed)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["code"] == "category_not_allowed"


def test_a_focal_points_wrong_payload_gets_every_error_in_one_answer(client, iwed):
    payload = {"category": "NOPE", "email": "not-an-email", "gender": "x", "consent": False}
    answer = client.post(f"{EVENT}/agencies/IWED/registrations", json=payload, headers=iwed)
    assert answer.status_code == 422
    errors = {e["field"]: e["code"] for e in answer.get_json()["errors"]}
    assert errors == {
        "full_name_ar": "name_required",
        "category": "unknown_category",
        "email": "email_invalid",
        "gender": "one_of",
        "consent": "consent_required",
    }


def test_substitution_keeps_the_seat_and_tells_both(client, session, iwed, upcoming_event):
    old = _register(client, iwed, 1).get_json()["id"]
    seats = session.scalar(select(Agency.registered_count).where(Agency.code == "IWED"))
    answer = client.post(
        f"/api/v1/registrations/{old}/substitute", json=nth_delegate(2), headers=iwed
    )
    assert answer.status_code == 201
    session.expire_all()
    assert session.scalar(select(Agency.registered_count).where(Agency.code == "IWED")) == seats
    assert session.get(Registration, old).status == "cancelled"
    [cancelled] = _outbox(session, "delegate.cancelled")
    assert (cancelled["delegate"]["badge_id"], cancelled["reason"]) == (old, "substituted")
    registered = _outbox(session, "delegate.registered")
    assert registered[-1]["delegate"]["badge_id"] == answer.get_json()["id"]


def test_substituting_a_withdrawn_delegate_is_refused(client, iwed):
    old = _register(client, iwed, 1).get_json()["id"]
    client.post(f"/api/v1/registrations/{old}/cancel", json={}, headers=iwed)
    answer = client.post(
        f"/api/v1/registrations/{old}/substitute", json=nth_delegate(2), headers=iwed
    )
    assert answer.status_code == 409


def test_substitute_already_registered_is_refused_and_nothing_changes(client, session, iwed):
    old = _register(client, iwed, 1).get_json()["id"]
    _register(client, iwed, 2)
    answer = client.post(
        f"/api/v1/registrations/{old}/substitute", json=nth_delegate(2), headers=iwed
    )
    assert answer.status_code == 409
    session.expire_all()
    assert session.get(Registration, old).status == "active"


def test_substituted_badge_is_revoked_at_the_door(
    client, session, iwed, checkin_db, keyring, upcoming_event
):
    old = _register(client, iwed, 1).get_json()
    client.post(f"/api/v1/registrations/{old['id']}/substitute", json=nth_delegate(2), headers=iwed)
    factory, close = rollback_factory(checkin_db.engine)
    with factory() as door_session:
        for payload in _outbox(session, "delegate.registered") + _outbox(
            session, "delegate.cancelled"
        ):
            door.apply_roster_event(door_session, payload)
        answer = door.scan(door_session, keyring.public_keys(), _door_scan(door_session, old))
    close()
    assert answer["status"] == "revoked"


def _door_scan(door_session, registration: dict) -> ScanRequest:
    """A scan of the registration's badge at a door list admitting every day and category."""
    any_day = CheckinList(
        event_id=door_session.scalar(select(RosterEntry.event_id).limit(1)),
        name_ar="الكل",
        name_en="All",
        day=None,
        categories=None,
        created_at=utcnow(),
    )
    door_session.add(any_day)
    door_session.commit()
    token = registration["badge"]["token"]
    return ScanRequest(list_id=any_day.id, nonce=uuid.uuid4().hex, gate="A", token=token)


def test_organizer_invites_a_focal_point_who_accepts(client, session, auth):
    invite = {"email": "noor@example.org", "name": "نور", "language": "ar"}
    answer = client.post(f"{EVENT}/agencies/IWED/invitations", json=invite, headers=auth)
    assert answer.status_code == 201
    [email] = _outbox(session, "account.message")
    assert email["kind"] == "invitation" and email["agency"]["name_en"].startswith("Iraqi Women")
    token = email["link"].rsplit("/", 1)[1]
    accept = {"password": "Tigris-2023-delegation"}
    assert client.post(f"/api/v1/invitations/{token}/accept", json=accept).status_code == 201
    again = client.post(f"/api/v1/invitations/{token}/accept", json=accept)
    assert again.status_code == 409 and again.get_json()["code"] == "invitation_used"
    account = session.scalar(select(Account).where(Account.email == "noor@example.org"))
    assert account.role == "focal_point" and len(account.agency_ids) == 1


def test_a_new_invitation_replaces_the_pending_one(client, session, auth):
    invite = {"email": "noor@example.org", "name": "Noor"}
    client.post(f"{EVENT}/agencies/IWED/invitations", json=invite, headers=auth)
    client.post(f"{EVENT}/agencies/IWED/invitations", json=invite, headers=auth)
    first, second = (m["link"].rsplit("/", 1)[1] for m in _outbox(session, "account.message"))
    accept = {"password": "Tigris-2023-delegation"}
    assert client.post(f"/api/v1/invitations/{first}/accept", json=accept).status_code == 404
    assert client.post(f"/api/v1/invitations/{second}/accept", json=accept).status_code == 201


def test_invited_focal_point_of_two_agencies_acts_for_both(client, session, auth):
    accept = {"password": "Tigris-2023-delegation"}
    for agency in ("IWED", "WED-KRK"):
        invite = {"email": "noor@example.org", "name": "Noor"}
        client.post(f"{EVENT}/agencies/{agency}/invitations", json=invite, headers=auth)
        token = _outbox(session, "account.message")[-1]["link"].rsplit("/", 1)[1]
        assert client.post(f"/api/v1/invitations/{token}/accept", json=accept).status_code == 201
    account = session.scalar(select(Account).where(Account.email == "noor@example.org"))
    assert len(account.agency_ids) == 2


def test_an_organizer_cannot_be_turned_into_a_focal_point(client, session, auth, make_account):
    make_account("organizer", email="amal@example.org")
    invite = {"email": "amal@example.org", "name": "Amal"}
    client.post(f"{EVENT}/agencies/IWED/invitations", json=invite, headers=auth)
    token = _outbox(session, "account.message")[-1]["link"].rsplit("/", 1)[1]
    answer = client.post(f"/api/v1/invitations/{token}/accept", json={"password": "x" * 12})
    assert answer.status_code == 409 and answer.get_json()["code"] == "account_role_conflict"


def test_forged_invitation_link_is_not_found(client):
    answer = client.post("/api/v1/invitations/1~abc.forged/accept", json={"password": "y" * 12})
    assert answer.status_code == 404


def test_a_focal_points_substitute_for_a_speaker_gets_a_delegate_badge(
    client, session, ctx, iwed, upcoming_event
):
    from services.registration.operations import register_delegate
    from services.registration.schemas import RegistrationSchema

    speaker = register_delegate(
        session,
        ctx,
        upcoming_event,
        RegistrationSchema().load(nth_delegate(7, category="SPEAKER")),
        privileged=True,
    )
    session.commit()
    answer = client.post(
        f"/api/v1/registrations/{speaker.id}/substitute", json=nth_delegate(8), headers=iwed
    )
    assert answer.status_code == 201 and answer.get_json()["category"]["code"] == "DELEGATE"


def test_accepting_for_an_existing_account_needs_its_password(client, session, auth):
    accept = {"password": "Tigris-2023-delegation"}
    for agency, password in (("IWED", accept["password"]), ("WED-KRK", "someone-elses-pass")):
        invite = {"email": "noor@example.org", "name": "Noor"}
        client.post(f"{EVENT}/agencies/{agency}/invitations", json=invite, headers=auth)
        token = _outbox(session, "account.message")[-1]["link"].rsplit("/", 1)[1]
        answer = client.post(f"/api/v1/invitations/{token}/accept", json={"password": password})
    assert answer.status_code == 401
    account = session.scalar(select(Account).where(Account.email == "noor@example.org"))
    assert len(account.agency_ids) == 1


def test_once_the_event_started_only_organizers_change_a_delegation(client, iwed, auth):
    # The demo event took place in February 2023.
    mine = _register_late(client, auth)
    withdraw = client.post(f"/api/v1/registrations/{mine}/cancel", json={}, headers=iwed)
    assert withdraw.status_code == 409 and withdraw.get_json()["code"] == "event_over"
    swap = client.post(
        f"/api/v1/registrations/{mine}/substitute", json=nth_delegate(5), headers=iwed
    )
    assert swap.status_code == 409
    reissue = client.post(f"/api/v1/registrations/{mine}/reissue", json={}, headers=iwed)
    assert reissue.status_code == 409 and reissue.get_json()["code"] == "event_over"
    assert (
        client.get(f"/api/v1/registrations/{mine}", headers=iwed).get_json()["badge"]["generation"]
        == 1
    )
    assert (
        client.post(f"/api/v1/registrations/{mine}/reissue", json={}, headers=auth).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/registrations/{mine}/cancel", json={}, headers=auth).status_code
        == 200
    )


def _register_late(client, auth) -> int:
    """An organizer may register after the window closes."""
    payload = nth_delegate(4)
    payload.pop("agency")
    answer = client.post(f"{EVENT}/agencies/IWED/registrations", json=payload, headers=auth)
    return answer.get_json()["id"]


def test_a_withdrawn_invitation_link_no_longer_opens(client, session, auth):
    invite = {"email": "typo@example.org", "name": "Noor"}
    created = client.post(f"{EVENT}/agencies/IWED/invitations", json=invite, headers=auth)
    number = created.get_json()["id"]
    answer = client.post(f"{EVENT}/invitations/{number}/withdraw", headers=auth)
    assert answer.status_code == 200 and answer.get_json()["revoked_at"]
    token = _outbox(session, "account.message")[-1]["link"].rsplit("/", 1)[1]
    accept = {"password": "Tigris-2023-delegation"}
    assert client.post(f"/api/v1/invitations/{token}/accept", json=accept).status_code == 404


def _close(session, closes_at) -> None:
    """Close the demo event: at `closes_at`, or (None) by its last day, which was in 2023."""
    from services.registration.models import Event

    event = session.scalar(select(Event).where(Event.slug == "wli-gbv-2023"))
    event.registration_closes_at = closes_at
    session.commit()


CLOSINGS = pytest.mark.parametrize(
    "closes_at", [utcnow() - timedelta(hours=1), None], ids=["closing-time", "last-day"]
)


@CLOSINGS
def test_a_closed_event_refuses_a_focal_point_before_any_field_error(
    client, session, iwed, closes_at
):
    _close(session, closes_at)
    payload = {**nth_delegate(1), "email": "not-an-address", "category": "NOPE"}
    payload.pop("agency")
    answer = client.post(f"{EVENT}/agencies/IWED/registrations", json=payload, headers=iwed)
    assert answer.status_code == 409
    assert answer.get_json()["code"] == "registration_closed"


@CLOSINGS
def test_an_organizer_registers_late_for_an_agency(client, session, auth, closes_at):
    _close(session, closes_at)
    assert _register(client, auth, 1).status_code == 201


def test_a_retry_after_registration_closed_gets_the_stored_answer(client, session, iwed):
    payload = nth_delegate(1)
    payload.pop("agency")
    url, headers = f"{EVENT}/agencies/IWED/registrations", {**iwed, "Idempotency-Key": "k-1"}
    first = client.post(url, json=payload, headers=headers)
    assert first.status_code == 201
    _close(session, utcnow() - timedelta(hours=1))
    again = client.post(url, json=payload, headers=headers)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert client.post(url, json=payload, headers=iwed).status_code == 409
