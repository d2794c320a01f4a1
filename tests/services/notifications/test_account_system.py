"""Account e-mails end to end: registration's outbox → relay → Redis → real worker → SMTP."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from services.registration import tasks as registration_tasks
from services.registration.models import OutboxMessage
from services.registration.operations import outbox
from services.registration.operations.announcements import send_account_email
from shared.db import make_sessionmaker, transaction, utcnow
from shared.identity import issue_api_token
from tests.services.notifications.system import SECRET
from tests.worker_process import wait_until

INVITE_LINK = "http://hudoor.test/invitations/" + "Inv1te-S3cret_" * 5
RESET_LINK = "http://hudoor.test/password/reset/" + "Res3t-S3cret_" * 5
ADMIN = {
    "Authorization": "Bearer "
    + issue_api_token(SECRET, subject="a", role="admin", token_id="t-admin")
}


def post_account_email(system, registration_db, **fields) -> list[int]:
    """Write the outbox row as registration does, then relay it as its publisher would."""
    factory = make_sessionmaker(registration_db.engine)
    with transaction(factory) as session:
        send_account_email(session, utcnow(), expires_at=utcnow() + timedelta(days=7), **fields)
        ids = session.info["outbox_pending"]
    celery = system.registration.application.extensions["celery"]
    with factory() as session, registration_tasks.sender(celery) as (send, flush):
        assert outbox.relay(session, send, flush=flush, ids=ids) == 1
    return ids


def invite(system, registration_db, email: str) -> list[int]:
    return post_account_email(
        system,
        registration_db,
        kind="invitation",
        email=email,
        name="هناء عبد الله",
        language="ar",
        link=INVITE_LINK,
        event_id=1,
        event={"name_ar": "مؤتمر بغداد", "name_en": "Baghdad conference"},
        agency={"name_ar": "وزارة التربية", "name_en": "Ministry of Education"},
    )


def test_an_invitation_arrives_with_its_link_which_no_listing_or_log_shows(system, registration_db):
    invite(system, registration_db, "focal@example.org")
    [mail] = wait_until(lambda: system.mails_to("focal@example.org"), 30, message="invitation")
    assert "وزارة التربية" in mail["Subject"] and "مؤتمر بغداد" in mail["Subject"]
    html = mail.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html and f'href="{INVITE_LINK}"' in html
    assert INVITE_LINK in mail.get_body(("plain",)).get_content()
    assert list(mail.iter_attachments()) == []
    wait_until(lambda: [d.status for d in system.deliveries()] == ["sent"], 10, message="sent")
    [delivery] = system.deliveries()
    assert (delivery.kind, delivery.event_id, delivery.badge_id) == ("invitation", 1, 0)
    for path in ("/api/v1/deliveries", f"/api/v1/deliveries/{delivery.id}"):
        response = system.notifications.get(path, headers=ADMIN)
        assert response.status_code == 200 and "S3cret_" not in response.get_data(as_text=True)
    resend = system.notifications.post(f"/api/v1/deliveries/{delivery.id}/resend", headers=ADMIN)
    assert resend.status_code == 409
    assert "S3cret_" not in system.worker.log.read_text(errors="replace")


def test_the_same_message_relayed_twice_is_sent_once(system, registration_db):
    factory = make_sessionmaker(registration_db.engine)
    ids = invite(system, registration_db, "twice@example.org")
    with transaction(factory) as session:  # as if the relay died before marking it published
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=None)
        )
    celery = system.registration.application.extensions["celery"]
    with factory() as session, registration_tasks.sender(celery) as (send, flush):
        assert outbox.relay(session, send, flush=flush, ids=ids) == 1
    wait_until(lambda: handled(system) == 2, 30, message="both copies handled")
    wait_until(lambda: [d.status for d in system.deliveries()] == ["sent"], 10, message="sent")
    assert len(system.mails_to("twice@example.org")) == 1


def handled(system) -> int:
    """How many account messages the worker has finished handling."""
    lines = system.worker.log.read_text(errors="replace").splitlines()
    return sum("handle_account_message[" in line and "succeeded" in line for line in lines)


def test_a_reset_that_cannot_be_sent_now_is_sent_when_smtp_returns(system, registration_db):
    system.smtp.stop()
    post_account_email(
        system,
        registration_db,
        kind="password_reset",
        email="admin@example.org",
        name=None,
        language="en",
        link=RESET_LINK,
    )
    wait_until(
        lambda: [d for d in system.deliveries() if d.attempts >= 2],
        30,
        message="two failed attempts",
    )
    system.smtp.start()
    [mail] = wait_until(lambda: system.mails_to("admin@example.org"), 60, message="reset")
    assert mail["Subject"] == "Reset your Hudoor password"
    assert RESET_LINK in mail.get_body(("plain",)).get_content()
    assert "S3cret_" not in system.worker.log.read_text(errors="replace")
