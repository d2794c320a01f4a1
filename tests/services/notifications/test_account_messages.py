"""Account holders' e-mails (password reset, invitation): composing, logging, the consumer task."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from services.notifications import compose, domain, operations, tasks
from services.notifications.app import create_app
from services.notifications.config import NotificationsConfig
from services.notifications.models import Delivery
from shared.contracts import AccountMessageSchema
from shared.problems import DomainError
from tests.conftest import rollback_factory
from tests.services.notifications.payloads import INVITE_LINK, RESET_LINK, account_message

SENDER = "Hudoor <noreply@hudoor.example.org>"
KINDS_AND_LANGS = [(k, g) for k in ("password_reset", "invitation") for g in ("ar", "en")]
EVERY_ACCOUNT_MESSAGE = pytest.mark.parametrize(("kind", "lang"), KINDS_AND_LANGS)
STALE = timedelta(minutes=10)


def render(kind: str, lang: str, **overrides):
    """Render, serialise for SMTP and parse back as a mail client would."""
    payload = account_message(kind, language=lang, **overrides)
    msg = compose.render_email(kind, payload, sender=SENDER, message_id=f"{kind}.1")
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def bodies(parsed) -> tuple[str, str]:
    plain = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return plain, parsed.get_body(("html",)).get_content()


def test_the_test_payloads_keep_the_contract():
    for kind, lang in KINDS_AND_LANGS:
        assert AccountMessageSchema().validate(account_message(kind, language=lang)) == {}


# --- composing -----------------------------------------------------------------------------------


@EVERY_ACCOUNT_MESSAGE
def test_each_kind_renders_in_each_language_with_the_link_and_no_badge(kind, lang):
    parsed = render(kind, lang)
    plain, html = bodies(parsed)
    link = INVITE_LINK if kind == "invitation" else RESET_LINK
    assert parsed["To"].addresses[0].addr_spec == "focal@example.org"
    assert parsed["Content-Language"] == lang
    assert link in plain and f'href="{link}"' in html
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html
    assert ("text-align:right" in html) == (lang == "ar")
    assert list(parsed.iter_attachments()) == [] and "cid:" not in html


@EVERY_ACCOUNT_MESSAGE
def test_subjects_are_in_the_recipients_language(kind, lang):
    subject = str(render(kind, lang)["Subject"])
    assert bool(re.search("[\u0600-\u06ff]", subject)) == (lang == "ar")
    expected = {
        ("password_reset", "ar"): "إعادة تعيين كلمة المرور",
        ("password_reset", "en"): "Reset your Hudoor password",
        ("invitation", "ar"): "دعوة لإدارة وفد وزارة التربية",
        ("invitation", "en"): "Invitation to manage the delegation of Ministry of Education",
    }
    assert expected[kind, lang] in subject


@pytest.mark.parametrize(
    ("lang", "event", "agency", "expiry"),
    [
        (
            "ar",
            "مؤتمر مناهضة العنف القائم على النوع الاجتماعي",
            "وزارة التربية",
            "الخميس 5 فبراير 2099 الساعة 14:30 بتوقيت بغداد (UTC+3)",
        ),
        (
            "en",
            "Conference to Combat Gender-Based Violence",
            "Ministry of Education",
            "Thursday 5 February 2099 at 14:30 Baghdad time (UTC+3)",
        ),
    ],
)
def test_an_invitation_names_the_agency_the_event_and_when_the_link_expires(
    lang, event, agency, expiry
):
    for body in bodies(render("invitation", lang)):
        assert event in body and agency in body and expiry in body


@pytest.mark.parametrize(("lang", "ignore"), [("ar", "فتجاهل هذه الرسالة"), ("en", "ignore this")])
def test_a_reset_says_to_ignore_it_if_not_requested_and_needs_no_event(lang, ignore):
    plain, html = bodies(render("password_reset", lang))
    assert ignore in plain and ignore in html
    assert "Hudoor" in plain or "«حضور»" in plain  # the footer stands without an event name


@pytest.mark.parametrize(("lang", "hello"), [("ar", "مرحباً،"), ("en", "Hello,")])
def test_an_account_without_a_name_is_greeted_plainly(lang, hello):
    plain, html = bodies(render("password_reset", lang, name=None))
    assert plain.startswith(hello) and hello in html


def test_the_html_escapes_names_from_the_payload():
    agency = {"name_ar": "<b>x</b>", "name_en": "<script>alert(1)</script>"}
    _, html = bodies(render("invitation", "en", agency=agency))
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_an_invitation_without_its_agency_cannot_be_rendered():
    with pytest.raises(ValueError, match="agency"):
        compose.render_email(
            "invitation", account_message(agency=None), sender=SENDER, message_id="x"
        )


def test_link_expiry_is_shown_in_baghdad_time_with_its_offset():
    moment = datetime(2023, 2, 12, 11, 30, tzinfo=UTC)
    assert compose.format_moment(moment, "en") == (
        "Sunday 12 February 2023 at 14:30 Baghdad time (UTC+3)"
    )
    assert compose.format_moment(moment, "ar") == (
        "الأحد 12 فبراير 2023 الساعة 14:30 بتوقيت بغداد (UTC+3)"
    )


def test_an_expired_link_is_recognised_but_never_a_delegate_message():
    now = datetime(2099, 2, 5, 11, 30, tzinfo=UTC)
    assert domain.link_expired(account_message(), now)
    assert not domain.link_expired(account_message(), now - timedelta(seconds=1))
    assert not domain.link_expired({"topic": "delegate.registered"}, now)


# --- logging the delivery ------------------------------------------------------------------------


@pytest.fixture
def session_factory(notifications_db):
    factory, close = rollback_factory(notifications_db.engine)
    yield factory
    close()


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def deliveries(session) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))


@pytest.mark.parametrize(("kind", "event_id"), [("invitation", 1), ("password_reset", 0)])
def test_an_account_message_is_one_queued_email_delivery(session, kind, event_id):
    ids = operations.record_account_message(session, account_message(kind, language="en"))
    [delivery] = deliveries(session)
    assert ids == [delivery.id]
    assert (delivery.kind, delivery.channel, delivery.recipient, delivery.status) == (
        kind,
        "email",
        "focal@example.org",
        "queued",
    )
    assert (delivery.event_id, delivery.badge_id, delivery.language) == (event_id, 0, "en")


def test_the_same_message_id_is_logged_once_and_not_sent_again(session):
    message = account_message()
    [first] = operations.record_account_message(session, message)
    assert operations.record_account_message(session, message) == [first]
    operations.finish_attempt(session, operations.start_attempt(session, first, STALE), "m-1")
    assert operations.record_account_message(session, message) == []
    assert len(deliveries(session)) == 1


def test_an_account_message_is_never_resent_from_the_log(session):
    [delivery_id] = operations.record_account_message(session, account_message())
    with pytest.raises(DomainError) as refused:
        operations.resend(session, delivery_id)
    assert (refused.value.code, refused.value.status) == ("account_message_not_resendable", 409)
    assert len(deliveries(session)) == 1


# --- the consumer task ---------------------------------------------------------------------------


@pytest.fixture
def worker_app(tmp_path, redis_url, session_factory, monkeypatch):
    """The notifications app as the worker runs it; queued sends are collected, not sent."""
    config = NotificationsConfig(
        database_url="sqlite://",
        redis_url=redis_url,
        secret_key="account-messages-test-secret-0123456789-abcdef",
        default_language="ar",
        public_base_url="http://hudoor.test",
        var_dir=tmp_path / "var",
        mail_url=None,
        mail_from=SENDER,
        sms_url=None,
        sms_per_second=100.0,
    )
    app = create_app(config, session_factory=session_factory)
    queued: list[int] = []
    monkeypatch.setattr(tasks, "queue_sends", queued.extend)
    with app.app_context():
        yield queued


def test_the_task_logs_the_message_and_queues_its_send(worker_app, session):
    assert tasks.handle_account_message(account_message()) == 1
    assert worker_app == [d.id for d in deliveries(session)]


@pytest.mark.parametrize(
    "payload",
    [
        account_message(kind="welcome"),
        account_message(link=None),
        account_message(surprise="field"),
        account_message(topic="delegate.registered"),
        account_message(agency=None),  # an invitation must name its agency
        "not a message",
    ],
    ids=["kind", "no-link", "unknown-field", "topic", "invitation-without-agency", "text"],
)
def test_an_invalid_message_is_dropped_and_logged_without_its_link(
    worker_app, session, caplog, payload
):
    with caplog.at_level(logging.ERROR, logger=tasks.__name__):
        assert tasks.handle_account_message(payload) == 0
    assert deliveries(session) == [] and worker_app == []
    assert "rejected account message" in caplog.text
    assert "Secret_" not in caplog.text


def test_a_database_failure_is_retried_without_quoting_the_link(worker_app, monkeypatch):
    def fail(session, payload):
        raise OperationalError("INSERT ...", {"payload": str(payload)}, Exception("gone"))

    monkeypatch.setattr(operations, "record_account_message", fail)
    with pytest.raises(tasks.StoreUnavailable) as raised:
        tasks.handle_account_message.run(account_message())
    assert "Secret_" not in repr(raised.value) and raised.value.__suppress_context__


def test_a_link_that_expired_before_it_could_be_sent_fails_the_delivery(worker_app, session):
    expired = account_message(expires_at="2020-01-01T00:00:00+00:00")
    [delivery_id] = operations.record_account_message(session, expired)
    assert tasks.send_delivery.run(delivery_id) == "failed"
    [delivery] = deliveries(session)
    assert (delivery.status, delivery.last_error) == ("failed", "link_expired: not sent in time")
