"""The check-in API: scanning from a real badge image, and who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.checkin import operations
from services.checkin.models import Checkin
from services.checkin.schemas import ScanAnswerSchema
from shared import qr
from tests.qr_codes import qr_text_of_png
from tests.services.checkin.conftest import EVENT_ID, bearer, nonce, roster_event, token


def scan(client, headers, list_id, badge_token, **extra):
    body = {"token": badge_token, "list_id": list_id, "gate": "north", "nonce": nonce(), **extra}
    return client.post("/api/v1/scans", json=body, headers=headers)


@pytest.fixture
def device(client, roster):
    """A door device enrolled by an organizer; its token as an Authorization header."""
    response = client.post(
        f"/api/v1/events/{EVENT_ID}/devices",
        json={"gate": "north", "name": "Door 1"},
        headers=bearer("organizer"),
    )
    assert response.status_code == 201
    body = response.get_json()
    return body, {"Authorization": f"Bearer {body['token']}"}


def test_a_badge_png_decoded_by_a_scanner_checks_in_once(client, device, today_list):
    png = qr.qr_png(token(1))
    decoded = qr_text_of_png(png)
    _, headers = device
    first = scan(client, headers, today_list.id, decoded)
    assert first.status_code == 200 and first.get_json()["status"] == "ok"
    assert first.get_json()["badge"]["agency_code"] == "IWED"
    assert scan(client, headers, today_list.id, decoded).get_json()["status"] == (
        "already_checked_in"
    )


def test_reissued_cancelled_and_forged_badges_are_refused(client, device, roster, today_list):
    _, headers = device
    operations.apply_roster_event(roster, roster_event(1, version=2, generation=2))
    operations.apply_roster_event(roster, roster_event(2, version=2, status="cancelled"))
    from shared.badge_tokens import BadgeKeyring

    forged = BadgeKeyring.generate(1).sign(EVENT_ID, 3, 1)
    statuses = [
        scan(client, headers, today_list.id, t).get_json()["status"]
        for t in (token(1, generation=1), token(2), forged)
    ]
    assert statuses == ["revoked", "cancelled", "invalid"]


def test_enrolment_gives_a_token_and_a_qr_to_scan_with_the_phone(device):
    body, _ = device
    assert body["enrol_url"].endswith("#token=" + body["token"])
    assert body["enrol_qr_png"].startswith("data:image/png;base64,")


def test_a_device_cannot_enrol_devices_or_act_on_another_event(client, device, roster):
    _, headers = device
    created = client.post(
        f"/api/v1/events/{EVENT_ID}/devices", json={"gate": "x", "name": "y"}, headers=headers
    )
    assert created.status_code == 403
    operations.apply_roster_event(roster, roster_event(50, event_id=2))
    assert (
        client.post("/api/v1/events/2/search", json={"q": "x"}, headers=headers).status_code == 403
    )
    other_list = operations.lists_of(roster, 2)[0]
    assert scan(client, headers, other_list.id, token(50, event_id=2)).status_code == 404


def test_a_revoked_device_is_refused_at_once(client, device, today_list):
    body, headers = device
    revoked = client.post(f"/api/v1/devices/{body['id']}/revoke", headers=bearer("organizer"))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert scan(client, headers, today_list.id, token(1)).status_code == 401


@pytest.mark.parametrize(
    "role,expected", [("viewer", 403), ("focal_point", 403), ("delegate", 403)]
)
def test_roles_without_door_rights_cannot_scan(client, roster, today_list, role, expected):
    assert scan(client, bearer(role), today_list.id, token(1)).status_code == expected


def test_no_token_is_unauthorized(client, today_list):
    assert scan(client, {}, today_list.id, token(1)).status_code == 401


def test_search_finds_arabic_variants_without_contact_details(client, device):
    _, headers = device
    found = client.post(
        f"/api/v1/events/{EVENT_ID}/search", json={"q": "اسراء"}, headers=headers
    ).get_json()
    assert [f["id"] for f in found] == [2]
    assert "phone" not in found[0] and "email" not in found[0]


@pytest.mark.parametrize(
    "lang,message",
    [
        ("en", "Type at least 3 letters of a name, a full phone number or e-mail address, or an"),
        ("ar", "اكتب 3 أحرف على الأقل من الاسم"),
    ],
)
def test_a_device_searching_one_letter_is_told_why_in_its_language(client, device, lang, message):
    _, headers = device
    response = client.post(
        f"/api/v1/events/{EVENT_ID}/search?lang={lang}", json={"q": "يُـ"}, headers=headers
    )
    assert (response.status_code, response.mimetype) == (422, "application/problem+json")
    body = response.get_json()
    assert body["code"] == "search_too_short" and body["title"].startswith(message)
    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("q", "search_too_short")
    assert error["message"].startswith(message)


def test_manual_check_in_and_undo_with_a_reason(client, device, roster, today_list):
    _, headers = device
    answer = client.post(
        "/api/v1/checkins",
        json={"badge_id": 2, "list_id": today_list.id, "nonce": nonce()},
        headers=headers,
    )
    assert answer.get_json()["status"] == "ok"
    checkin_id = roster.scalar(select(Checkin.id))
    refused = client.post(
        f"/api/v1/checkins/{checkin_id}/undo", json={"reason": "door"}, headers=headers
    )
    assert refused.status_code == 403  # a lost door phone cannot rewrite attendance
    organizer = bearer("organizer")
    missing = client.post(f"/api/v1/checkins/{checkin_id}/undo", json={}, headers=organizer)
    assert missing.status_code == 422
    undone = client.post(
        f"/api/v1/checkins/{checkin_id}/undo", json={"reason": "wrong person"}, headers=organizer
    )
    assert undone.status_code == 200 and undone.get_json()["undo_reason"] == "wrong person"


def test_live_counts_per_list_and_gate(client, device, today_list):
    _, headers = device
    scan(client, headers, today_list.id, token(1))
    south = bearer("organizer")  # organizers choose the gate; devices scan at their own
    scan(client, south, today_list.id, token(2), gate="south")
    scan(client, south, today_list.id, token(2), gate="south", direction="exit")
    counts = client.get(f"/api/v1/events/{EVENT_ID}/counts", headers=headers).get_json()
    by_gate = {c["gate"]: c for c in counts}
    assert by_gate["north"] == {
        "list_id": today_list.id,
        "gate": "north",
        "checked_in": 1,
        "inside": 1,
        "last_15_minutes": 1,
    }
    assert by_gate["south"]["inside"] == 0


def test_organizers_add_a_session_list_admitting_chosen_categories(client, roster, device):
    _, headers = device
    created = client.post(
        f"/api/v1/events/{EVENT_ID}/lists",
        headers=bearer("organizer"),
        json={"name_ar": "الجلسة الأولى", "name_en": "Session 1", "categories": ["SPEAKER"]},
    )
    assert created.status_code == 201
    session_list = created.get_json()
    answer = scan(client, headers, session_list["id"], token(1)).get_json()
    assert (answer["status"], answer["reason"]) == ("not_on_this_list", "category_not_admitted")


@pytest.mark.parametrize(
    "body,field",
    [
        ({"list_id": 1, "nonce": "n" * 10}, "token"),
        ({"token": "X", "nonce": "n" * 10}, "list_id"),
        ({"token": "X", "list_id": 1}, "nonce"),
        ({"token": "X", "list_id": 1, "nonce": "bad nonce!"}, "nonce"),
        ({"token": "X", "list_id": 1, "nonce": "n" * 10, "direction": "sideways"}, "direction"),
        ({"token": "X", "list_id": "1", "nonce": "n" * 10}, "list_id"),
    ],
)
def test_bad_scans_name_the_field(client, device, body, field):
    _, headers = device
    response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_scan_answers_are_sent_as_their_schema_dumps_them(client, device, today_list):
    _, headers = device
    first = scan(client, headers, today_list.id, token(1), nonce="same-nonce-1")
    answers = [
        first.get_json(),
        scan(client, headers, today_list.id, token(1)).get_json(),  # already checked in
        scan(client, headers, today_list.id, "A" * 122).get_json(),  # invalid: no badge
        scan(client, headers, today_list.id, token(1), nonce="same-nonce-1").get_json(),  # replay
    ]
    assert [a["status"] for a in answers] == ["ok", "already_checked_in", "invalid", "ok"]
    assert answers[1]["first_checkin"] and answers[0]["badge"] and not answers[2]["badge"]
    for answer in answers:
        assert ScanAnswerSchema().dump(answer) == answer


def test_public_keys_are_served_for_offline_verification(client):
    document = client.get("/api/v1/badge-keys").get_json()
    assert document[0]["alg"] == "Ed25519" and "public_key" in document[0]


def test_a_device_scans_at_the_gate_it_was_enrolled_for(client, device, today_list):
    _, headers = device
    answer = scan(client, headers, today_list.id, token(1), gate="VIP-gate").get_json()
    assert answer["gate"] == "north"
