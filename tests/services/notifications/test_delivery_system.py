"""Confirmations end to end: registration API → outbox → Redis → real worker → SMTP / SMS API."""

from __future__ import annotations

import re

from services.notifications.dispatch import RECEIPTS_PATH
from tests.qr_codes import qr_text_of_png
from tests.services.notifications.sms_provider import signature
from tests.services.notifications.system import BASE_URL
from tests.worker_process import wait_until


def _decode_qr(data: bytes) -> str:
    return qr_text_of_png(data)


def test_confirmation_email_arrives_in_arabic_with_qr_and_calendar(system):
    registered = system.register(1)
    [mail] = wait_until(lambda: system.mails_to("delegate1@example.org"), 30, message="email")
    assert mail["Subject"] and any("\u0600" <= c <= "\u06ff" for c in mail["Subject"])
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert _decode_qr(parts["badge.png"].get_content()) == registered["badge"]["token"]
    assert "BEGIN:VEVENT" in parts["event.ics"].get_content()
    html = mail.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html and registered["self_service_url"] in html
    assert wait_until(lambda: [d.status for d in system.deliveries()] == ["sent"], 10)


def test_sms_confirmation_is_sent_and_its_receipt_marks_it_delivered(system):
    registered = system.register(2, channel="sms")
    [sms] = wait_until(lambda: system.sms.messages, 30, message="sms")
    assert sms["To"] == "+9647700000002" and registered["self_service_url"] in sms["Body"]
    [delivery] = wait_until(lambda: [d for d in system.deliveries() if d.status == "sent"], 10)
    params = {"MessageSid": delivery.provider_id, "MessageStatus": "delivered"}
    signed = signature(system.sms.auth_token, BASE_URL + RECEIPTS_PATH, params)
    response = system.notifications.post(
        "/webhooks/sms", data=params, headers={"X-Twilio-Signature": signed}
    )
    assert response.status_code == 200
    forged = system.notifications.post(
        "/webhooks/sms", data=params, headers={"X-Twilio-Signature": "forged"}
    )
    assert forged.status_code == 403
    assert system.deliveries()[0].status == "delivered"


def _move_event_ahead(system) -> None:
    """The demo event took place in 2023; delegates may cancel only before it starts."""
    from datetime import date, timedelta

    from services.registration.models import EventDay
    from shared.db import transaction

    factory = system.registration.application.extensions["hudoor_sessions"]
    with transaction(factory) as session:
        for offset, day in enumerate(session.query(EventDay).order_by(EventDay.day)):
            day.day = date.today() + timedelta(days=30 + offset)


def test_cancellation_sends_a_cancellation_message(system):
    registered = system.register(3)
    wait_until(lambda: system.mails_to("delegate3@example.org"), 30)
    _move_event_ahead(system)
    token = registered["self_service_url"].rsplit("/", 1)[-1]
    page = system.registration.get(f"/r/{token}").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    system.registration.post(
        f"/r/{token}", data={"csrf_token": csrf, "action": "cancel", "confirm": "yes"}
    )
    mails = wait_until(
        lambda: (
            len(system.mails_to("delegate3@example.org")) == 2
            and system.mails_to("delegate3@example.org")
        ),
        30,
        message="cancellation",
    )
    assert "badge.png" not in [p.get_filename() for p in mails[1].iter_attachments()]
    assert [d.kind for d in system.deliveries()] == ["confirmation", "cancellation"]


def _correct_contact(system, self_service_url: str, **fields):
    """Post the self-service correction form of a private link, as the delegate's browser does."""
    path = self_service_url.removeprefix(BASE_URL)
    page = system.registration.get(path).get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return system.registration.post(path, data={"csrf_token": csrf, "action": "update", **fields})


def _private_link(text: str) -> str:
    return re.search(rf"{re.escape(BASE_URL)}/r/\S+", text).group(0)


def _opens(system, url: str) -> int:
    return system.registration.get(url.removeprefix(BASE_URL)).status_code


def test_a_corrected_email_gets_a_new_link_and_badge_there_in_english(system):
    registered = system.register(7, language="en", email="delegat7@example.org")  # mistyped
    old_url = registered["self_service_url"]
    wait_until(lambda: system.mails_to("delegat7@example.org"), 30, message="confirmation")
    fields = {"email": "delegate7@example.org", "phone": "+9647700000007", "channel": "email"}
    page = _correct_contact(system, old_url, **fields).get_data(as_text=True)
    assert "delegate7@example.org" not in page and "/r/" not in page
    [mail] = wait_until(lambda: system.mails_to("delegate7@example.org"), 30, message="new link")
    assert mail["Content-Language"] == "en" and "new private link" in mail["Subject"]
    new_url = _private_link(mail.get_body(("plain",)).get_content())
    assert new_url != old_url and new_url in mail.get_body(("html",)).get_content()
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert _decode_qr(parts["badge.png"].get_content()) != registered["badge"]["token"]
    assert (_opens(system, old_url), _opens(system, new_url)) == (404, 200)
    # The mistyped address only hears that the details changed: no new link, no new address.
    notices = wait_until(lambda: system.mails_to("delegat7@example.org")[1:], 30, message="notice")
    wire = notices[0].as_string()
    assert "/r/" not in wire and "delegate7@example.org" not in wire
    assert not list(notices[0].iter_attachments())
    sent = [
        ("confirmation", "delegat7@example.org"),
        ("contact_changed", "delegate7@example.org"),
        ("contact_changed_notice", "delegat7@example.org"),
    ]
    assert wait_until(
        lambda: (
            sorted((d.kind, d.recipient) for d in system.deliveries() if d.status == "sent") == sent
        ),
        10,
    )


def test_a_corrected_phone_gets_a_new_link_by_sms_in_arabic(system):
    registered = system.register(8, channel="sms", phone="+9647700000099")  # mistyped
    old_url = registered["self_service_url"]
    wait_until(lambda: system.sms.messages, 30, message="sms confirmation")
    fields = {"email": "delegate8@example.org", "phone": "+9647700000008", "channel": "sms"}
    assert _correct_contact(system, old_url, **fields).status_code == 200
    sms = wait_until(lambda: system.sms.messages[1:], 30, message="sms with the new link")
    assert sms[0]["To"] == "+9647700000008" and "تغيّرت بياناتك" in sms[0]["Body"]
    new_url = _private_link(sms[0]["Body"])
    assert new_url != old_url
    assert (_opens(system, old_url), _opens(system, new_url)) == (404, 200)


def test_refused_address_fails_once_without_retry_and_others_still_arrive(system):
    system.smtp.refuse("refused@example.org", "550 5.1.1 No such user")
    system.register(4, email="refused@example.org")
    system.register(5)
    wait_until(lambda: system.mails_to("delegate5@example.org"), 30)
    failed = wait_until(lambda: [d for d in system.deliveries() if d.status == "failed"], 10)
    assert failed[0].attempts == 1 and "recipient_refused" in failed[0].last_error


def test_smtp_down_for_a_while_then_messages_arrive_after_retries(system):
    system.smtp.stop()
    system.register(6)
    wait_until(
        lambda: [d for d in system.deliveries() if d.attempts >= 2],
        30,
        message="two failed attempts",
    )
    system.smtp.start()
    wait_until(lambda: system.mails_to("delegate6@example.org"), 60, message="email after retry")
    [delivery] = wait_until(lambda: [d for d in system.deliveries() if d.status == "sent"], 10)
    assert delivery.attempts >= 2


def test_registration_reaches_the_door_roster_through_the_worker(system):
    from shared.identity import issue_api_token
    from tests.services.notifications.system import SECRET

    registered = system.register(7)
    token = issue_api_token(SECRET, subject="organizer", role="organizer", token_id="t-organizer")
    headers = {"Authorization": f"Bearer {token}"}
    event_id = system.registration.get("/api/v1/events/wli-gbv-2023").get_json()["id"]
    lists_url = f"/api/v1/events/{event_id}/lists"
    lists = wait_until(
        lambda: system.checkin.get(lists_url, headers=headers).status_code == 200,
        30,
        message="roster event applied",
    )
    wait_until(lambda: _on_roster(system, registered["id"]), 30, message="badge on the roster")
    created = system.checkin.post(
        lists_url, headers=headers, json={"name_ar": "كل الأيام", "name_en": "Any day"}
    )
    body = {
        "token": registered["badge"]["token"],
        "list_id": created.get_json()["id"],
        "nonce": "door-scan-0001",
    }
    answer = system.checkin.post("/api/v1/scans", json=body, headers=headers).get_json()
    assert lists and answer["status"] == "ok"
    assert answer["badge"]["full_name_ar"] == "مشاركة 7"


def test_a_token_revoked_in_registration_is_refused_by_every_service(system, registration_db):
    from services.registration.tokens import create_api_token, revoke_api_token
    from shared.db import make_sessionmaker, transaction
    from tests.services.notifications.system import SECRET

    factory = make_sessionmaker(registration_db.engine)
    with transaction(factory) as session:
        token = create_api_token(session, SECRET, label="leaked", role="organizer")
    headers = {"Authorization": f"Bearer {token}"}
    assert system.notifications.get("/api/v1/deliveries", headers=headers).status_code == 200
    from shared.identity import verify_api_token

    token_id = verify_api_token(SECRET, token, max_age=60).token_id
    with transaction(factory) as session:
        assert revoke_api_token(session, token_id)
    wait_until(
        lambda: system.notifications.get("/api/v1/deliveries", headers=headers).status_code == 401,
        30,
        message="notifications refuses the revoked token",
    )
    wait_until(
        lambda: system.checkin.get("/api/v1/events/1/counts", headers=headers).status_code == 401,
        30,
        message="check-in refuses the revoked token",
    )


def test_both_consumers_confirm_a_registration_so_the_relay_settles_it_unrepeated(system):
    from sqlalchemy import select

    from services.registration.models import OutboxMessage

    system.register(3)
    wait_until(lambda: system.mails_to("delegate3@example.org"), 30, message="email")
    factory = system.registration.application.extensions["hudoor_sessions"]

    def settled():
        with factory() as session:
            query = select(OutboxMessage).where(OutboxMessage.topic == "delegate.registered")
            return [(m.settled_at is not None, m.attempts) for m in session.scalars(query)]

    # OUTBOX_CONFIRM_SECONDS is 5 here: the next sweeps read both receipts instead of re-sending.
    assert wait_until(lambda: settled() == [(True, 1)], 30, message="settled once sent")


def _on_roster(system, badge_id: int) -> bool:
    """Whether the worker has applied the badge's registration to check-in's roster."""
    from services.checkin.models import RosterEntry

    with system.checkin.application.extensions["hudoor_sessions"]() as session:
        return session.get(RosterEntry, badge_id) is not None


def test_a_reset_link_reaches_an_account_holder_through_the_workers_and_no_one_else(system):
    from services.registration.operations import accounts
    from shared.db import transaction

    app = system.registration.application
    with transaction(app.extensions["hudoor_sessions"]) as session:
        data = {"email": "amal@example.org", "name": "Amal", "role": "admin"}
        context = app.extensions["registration_context"]
        accounts.create_account(session, context, data | {"password": "Tigris-and-Euphrates-9"})
    for address in ("amal@example.org", "ghost@example.org"):
        response = system.registration.post("/api/v1/password-resets", json={"email": address})
        assert response.status_code == 202
    [mail] = wait_until(lambda: system.mails_to("amal@example.org"), 30, message="reset email")
    assert "/password/reset/" in mail.get_body(("plain",)).get_content()
    wait_until(lambda: _handled(app, "ghost@example.org"), 30, message="the ghost's request")
    assert not system.mails_to("ghost@example.org")
    assert [d.recipient for d in system.deliveries()] == ["amal@example.org"]


def _handled(app, address: str) -> bool:
    """Whether registration's worker finished the reset request for `address`."""
    from sqlalchemy import select

    from services.registration.models import OutboxMessage
    from shared.contracts import RESET_REQUEST_CONSUMERS
    from shared.outbox_receipts import confirmed, outbox_task_id

    with app.extensions["hudoor_sessions"]() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic.like("%reset%")))
        ids = [r.message_id for r in rows if r.payload["email"] == address]
    tasks = [outbox_task_id(i, RESET_REQUEST_CONSUMERS[0]) for i in ids]
    with app.app_context():
        return bool(tasks) and confirmed(app, tasks) == set(tasks)
