"""Registration's audit log: every staff view or change of delegates' data is recorded, and
organizers read it back by action, agency, delegate and page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.audit_models import AuditEntry
from services.registration.models import Registration
from tests.services.registration.conftest import nth_delegate, row_count
from tests.services.registration.test_account_views import DELEGATION, log_in
from tests.services.registration.test_views import csrf_token

pytestmark = pytest.mark.usefixtures("demo_event")
EVENT = "/api/v1/events/wli-gbv-2023"
AUDIT = f"{EVENT}/audit"


@pytest.fixture
def iwed(make_account, bearer):
    """The Authorization header of IWED's focal point."""
    return bearer(make_account("focal_point", agency="IWED"))


def _register(client, auth, n: int, agency="IWED") -> int:
    payload = nth_delegate(n)
    payload.pop("agency")
    answer = client.post(f"{EVENT}/agencies/{agency}/registrations", json=payload, headers=auth)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def _log(client, auth, query: str = "") -> list[dict]:
    answer = client.get(f"{AUDIT}{query}", headers=auth)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _actions(entries: list[dict]) -> list[str]:
    return [entry["action"] for entry in entries]


def test_focal_point_registering_and_reading_is_recorded_with_who_and_what(client, auth, iwed):
    mine = _register(client, iwed, 1)
    client.get(f"{EVENT}/agencies/IWED/delegation", headers=iwed)
    client.get(f"/api/v1/registrations/{mine}", headers=iwed)
    viewed, listed, created = _log(client, auth)
    assert _actions([viewed, listed, created]) == [
        "registration.viewed",
        "delegation.viewed",
        "registration.created",
    ]
    assert {e["role"] for e in (viewed, listed, created)} == {"focal_point"}
    assert viewed["registration_id"] == created["registration_id"] == mine
    assert listed["detail"] == {"people": 1} and listed["agency_id"] == viewed["agency_id"]


def test_self_registration_by_a_delegate_is_not_an_access_by_staff(client, auth, session):
    answer = client.post(f"{EVENT}/registrations", json=nth_delegate(1))
    assert answer.status_code == 201
    assert row_count(session, AuditEntry) == 0


def test_cancel_and_reissue_record_the_reason(client, auth, upcoming_event):
    mine = client.post(f"{EVENT}/registrations", json=nth_delegate(1), headers=auth)
    number = mine.get_json()["id"]
    client.post(f"/api/v1/registrations/{number}/reissue", json={"reason": "lost"}, headers=auth)
    client.post(f"/api/v1/registrations/{number}/cancel", json={"reason": "ill"}, headers=auth)
    cancelled, reissued, created = _log(client, auth)
    assert (cancelled["action"], cancelled["detail"]) == (
        "registration.cancelled",
        {"reason": "ill"},
    )
    assert (reissued["action"], reissued["detail"]) == ("badge.reissued", {"reason": "lost"})
    assert (created["action"], created["actor"], created["role"]) == (
        "registration.created",
        "test organizer",
        "organizer",
    )


def test_taking_a_badge_qr_is_recorded_as_a_badge_viewed(client, auth, registered):
    for form in ("png", "svg"):
        client.get(f"/api/v1/registrations/{registered.id}/badge.{form}", headers=auth)
    entries = _log(client, auth, "?action=badge.viewed")
    assert [e["detail"]["format"] for e in entries] == ["svg", "png"]
    assert {e["registration_id"] for e in entries} == {registered.id}


def test_substitution_names_the_new_delegate(client, auth, iwed, upcoming_event):
    old = _register(client, iwed, 1)
    new = client.post(f"/api/v1/registrations/{old}/substitute", json=nth_delegate(2), headers=iwed)
    [entry] = _log(client, auth, "?action=registration.substituted")
    assert entry["registration_id"] == old
    assert entry["detail"] == {"substitute_id": new.get_json()["id"]}


def test_a_refused_change_leaves_no_entry(client, auth, iwed, session):
    old = _register(client, iwed, 1)
    taken = nth_delegate(1)
    answer = client.post(f"/api/v1/registrations/{old}/substitute", json=taken, headers=iwed)
    assert answer.status_code == 409
    assert _actions(_log(client, auth)) == ["registration.created"]


def test_the_log_narrows_by_agency_delegate_and_action(client, auth, iwed, make_account, bearer):
    kirkuk = bearer(make_account("focal_point", agency="WED-KRK"))
    ours, theirs = _register(client, iwed, 1), _register(client, kirkuk, 2, agency="WED-KRK")
    assert [e["registration_id"] for e in _log(client, auth, "?agency=wed-krk")] == [theirs]
    assert [e["registration_id"] for e in _log(client, auth, f"?registration={ours}")] == [ours]
    assert _log(client, auth, "?action=delegation.imported") == []


def test_the_log_pages_back_from_an_entry(client, auth, iwed):
    for n in range(5):
        _register(client, iwed, n)
    first_page = _log(client, auth, "?limit=2")
    second_page = _log(client, auth, f"?limit=2&before={first_page[-1]['id']}")
    everything = _log(client, auth)
    assert [e["id"] for e in first_page + second_page] == [e["id"] for e in everything[:4]]


@pytest.mark.parametrize(
    "query, field",
    [("?limit=0", "limit"), ("?action=deleted.everything", "action"), ("?before=x", "before")],
)
def test_bad_log_queries_name_the_field(client, auth, query, field):
    answer = client.get(f"{AUDIT}{query}", headers=auth)
    assert answer.status_code == 422
    assert field in str(answer.get_json())


def test_an_unknown_agency_in_the_log_query_is_404(client, auth):
    assert client.get(f"{AUDIT}?agency=NOPE", headers=auth).status_code == 404


def test_focal_points_and_viewers_cannot_read_the_log(client, iwed, make_account, bearer):
    viewer = bearer(make_account("viewer"))
    assert client.get(AUDIT, headers=iwed).status_code == 403
    assert client.get(AUDIT, headers=viewer).status_code == 403


def test_the_delegation_page_and_its_withdraw_form_are_recorded(
    client, make_account, session, auth, upcoming_event
):
    make_account("focal_point", email="noor@example.org", agency="IWED")
    assert log_in(client, "noor@example.org").status_code == 303
    page = client.get(DELEGATION).get_data(as_text=True)
    payload = {**nth_delegate(1), "action": "register", "csrf_token": csrf_token(page)}
    payload.pop("agency")
    assert client.post(DELEGATION, data=payload).status_code == 200
    mine = session.scalar(select(Registration.id))
    withdraw = {"action": "withdraw", "registration": mine, "csrf_token": csrf_token(page)}
    assert client.post(DELEGATION, data=withdraw).status_code == 200
    actions = _actions(_log(client, auth))
    assert actions == [
        "delegation.viewed",
        "registration.cancelled",
        "delegation.viewed",
        "registration.created",
        "delegation.viewed",
    ]


def test_purged_events_keep_who_did_what_but_lose_the_details(
    app, client, auth, session, registered
):
    client.post(
        f"/api/v1/registrations/{registered.id}/cancel", json={"reason": "Yusra: ill"}, headers=auth
    )
    result = app.test_cli_runner().invoke(args=["purge-personal-data"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    [entry] = session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.actor, entry.detail) == (
        "registration.cancelled",
        "test organizer",
        {},
    )
