"""The door devices page: an organizer enrols a door phone by its QR and revokes a lost one."""

from __future__ import annotations

import base64
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from services.checkin import operations
from services.checkin.models import Device
from shared.identity import issue_session
from tests.qr_codes import qr_text_of_png
from tests.services.checkin.conftest import EVENT_ID, SECRET, bearer, nonce, roster_event, token

PAGE = f"/events/{EVENT_ID}/devices"


def sign_in(client, role: str = "organizer", events=(EVENT_ID,)) -> None:
    cookie = issue_session(
        SECRET, subject=f"{role}@example.org", role=role, events=list(events), token_id=role
    )
    client.set_cookie("hudoor_session", cookie)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)


def post_form(client, data: dict, lang: str = "ar"):
    csrf = csrf_of(client.get(PAGE).get_data(as_text=True))
    return client.post(f"{PAGE}?lang={lang}", data={"csrf_token": csrf, **data})


def device_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Device))


def enrolment_link(html: str) -> str:
    data_url = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    return qr_text_of_png(base64.b64decode(data_url))


def scan_with(client, device_token: str, list_id: int):
    body = {"token": token(1), "list_id": list_id, "gate": "north", "nonce": nonce()}
    return client.post(
        "/api/v1/scans", json=body, headers={"Authorization": f"Bearer {device_token}"}
    )


@pytest.fixture
def organizer(client, roster):
    sign_in(client)
    return client


def test_the_page_is_arabic_right_to_left_and_says_when_there_is_no_device(organizer):
    response = organizer.get(PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert "لا توجد أجهزة أبواب بعد." in html
    assert response.headers["Cache-Control"] == "no-store"


def test_an_enrolled_device_s_qr_opens_the_scanner_with_a_token_that_scans(organizer, today_list):
    response = post_form(organizer, {"name": "Door phone 1", "gate": "north"}, lang="en")
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    link = enrolment_link(html)
    assert link.startswith("http://localhost/scan#token=")
    assert f'readonly value="{link}"' in unescape(html)
    device_token = link.split("#token=", 1)[1]
    answer = scan_with(organizer, device_token, today_list.id)
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok"


def test_the_list_shows_devices_but_never_a_token_again(organizer, session):
    link = enrolment_link(post_form(organizer, {"name": "Door phone 1", "gate": "north"}).text)
    html = organizer.get(PAGE).get_data(as_text=True)
    assert "Door phone 1" in html and "north" in html and "يعمل" in html
    assert link.split("#token=", 1)[1] not in html
    assert device_count(session) == 1


def test_a_missing_gate_is_named_in_the_request_s_language_and_nothing_is_enrolled(
    organizer, session
):
    arabic = post_form(organizer, {"name": "Door phone 1", "gate": " "})
    english = post_form(organizer, {"name": "", "gate": "north"}, lang="en")
    assert arabic.status_code == english.status_code == 422
    assert re.search(r'id="gate-error" role="alert">[^<]*[\u0600-\u06FF]', arabic.text)
    assert 'id="name" name="name"' in english.text and 'id="name-error"' in english.text
    assert 'value="north"' in english.text  # what was typed is kept
    assert device_count(session) == 0


def test_a_form_without_the_session_s_csrf_token_is_refused(organizer, session):
    response = organizer.post(PAGE, data={"name": "Door", "gate": "north", "csrf_token": "0" * 32})
    assert response.status_code == 403
    assert device_count(session) == 0


def test_revoking_from_the_page_stops_the_device_at_once(organizer, today_list):
    link = enrolment_link(post_form(organizer, {"name": "Lost phone", "gate": "north"}).text)
    device_token = link.split("#token=", 1)[1]
    (device_id,) = re.findall(r'name="revoke" value="([0-9a-f]+)"', organizer.get(PAGE).text)
    response = post_form(organizer, {"revoke": device_id}, lang="en")
    assert response.status_code == 200
    assert "The device was revoked" in response.text and "Revoked 20" in response.text
    assert 'name="revoke"' not in response.text
    assert scan_with(organizer, device_token, today_list.id).status_code == 401


def test_a_device_of_another_event_cannot_be_revoked_from_this_page(organizer, session):
    other = bearer("organizer", events=(2,))

    operations.apply_roster_event(session, roster_event(50, event_id=2))
    created = organizer.post(
        "/api/v1/events/2/devices", json={"gate": "g", "name": "n"}, headers=other
    ).get_json()
    response = post_form(organizer, {"revoke": created["id"]})
    assert response.status_code == 404
    assert session.get(Device, created["id"]).revoked_at is None


@pytest.mark.parametrize("role", ["viewer", "focal_point"])
def test_roles_that_do_not_manage_doors_may_not_open_the_page(client, roster, role):
    sign_in(client, role)
    assert client.get(PAGE).status_code == 403


def test_an_organizer_of_another_event_may_not_open_the_page(client, roster):
    sign_in(client, events=(2,))
    assert client.get(PAGE).status_code == 403


def test_the_dashboard_links_organizers_to_the_page_but_not_viewers(client, roster):
    sign_in(client)
    assert f'href="{PAGE}"' in client.get(f"/events/{EVENT_ID}/dashboard").text
    sign_in(client, "viewer")
    assert f'href="{PAGE}"' not in client.get(f"/events/{EVENT_ID}/dashboard").text


def test_the_api_lists_devices_working_first_without_tokens(client, roster):
    organizer = bearer("organizer")
    url = f"/api/v1/events/{EVENT_ID}/devices"
    first = client.post(url, json={"gate": "north", "name": "A"}, headers=organizer).get_json()
    client.post(url, json={"gate": "south", "name": "B"}, headers=organizer)
    client.post(f"/api/v1/devices/{first['id']}/revoke", headers=organizer)
    listed = client.get(url, headers=organizer).get_json()
    assert [(d["name"], d["revoked_at"] is None) for d in listed] == [("B", True), ("A", False)]
    assert all("token" not in d and "enrol_url" not in d for d in listed)


def test_the_list_shows_how_many_scans_each_device_sent_and_when_it_last_did(organizer, today_list):
    link = enrolment_link(post_form(organizer, {"name": "Door phone 1", "gate": "north"}).text)
    post_form(organizer, {"name": "Idle phone", "gate": "south"})
    for _ in range(2):
        scan_with(organizer, link.split("#token=", 1)[1], today_list.id)
    rows = re.findall(r"<tr>(.*?)</tr>", organizer.get(f"{PAGE}?lang=en").text, re.S)
    cells = {re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[0]: row for row in rows[1:]}
    busy = re.findall(r'<td class="num[^"]*">([^<]*)</td>', cells["Door phone 1"])
    idle = re.findall(r'<td class="num[^"]*">([^<]*)</td>', cells["Idle phone"])
    assert busy[1] == "2" and busy[2].startswith("20")
    assert idle[1:] == ["0", "—"]
