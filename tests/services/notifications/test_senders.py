"""Senders against real servers on 127.0.0.1: aiosmtpd for SMTP, the Twilio stand-in for SMS."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from email.message import EmailMessage
from urllib.parse import quote

import pytest

from services.notifications.receipts import (
    receipt_status,
    twilio_signature,
    verify_receipt_signature,
)
from services.notifications.senders import (
    FileMailSender,
    FileSmsSender,
    HttpSmsSender,
    SendError,
    SmtpMailSender,
    mail_sender_from_url,
    sms_auth_token,
    sms_sender_from_url,
)
from tests.services.notifications.conftest import SMTP_PASSWORD, SMTP_USER, free_port
from tests.services.notifications.sms_provider import send_receipt

SUBJECT = "تأكيد التسجيل في المؤتمر"
BODY = "مرحباً أحمد، تم تسجيلك. رمز الشارة مرفق.\n"
LOGIN = f"{SMTP_USER}:{quote(SMTP_PASSWORD, safe='')}"
CALLBACK = "https://hudoor.example/notifications/sms/receipts"


def arabic_message(to: str = "delegate@example.iq") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Hudoor <noreply@hudoor.example>"
    message["To"] = to
    message["Subject"] = SUBJECT
    message["Message-ID"] = "<confirm-42@hudoor.example>"
    message.set_content(BODY)
    message.add_alternative(f"<p dir='rtl'>{BODY}</p>", subtype="html")
    return message


def parse(content: bytes) -> EmailMessage:
    return email.message_from_bytes(content, policy=email.policy.default)


def assert_intact(received: EmailMessage) -> None:
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == "<confirm-42@hudoor.example>"
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == BODY
    assert "أحمد" in received.get_body(("html",)).get_content()


def send_error(sender, *args) -> SendError:
    with pytest.raises(SendError) as caught:
        sender.send(*args)
    return caught.value


def test_smtp_delivers_an_arabic_message_intact(smtp_server):
    sender = mail_sender_from_url(smtp_server.url(), var_dir=None)

    assert isinstance(sender, SmtpMailSender)
    assert sender.send(arabic_message()) == "<confirm-42@hudoor.example>"
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["delegate@example.iq"]
    assert mail.mail_from == "noreply@hudoor.example"
    assert (mail.tls, mail.login) == (False, None)
    assert_intact(parse(mail.content))


def test_starttls_and_login(make_smtp_server, server_tls_context):
    server = make_smtp_server(tls_context=server_tls_context)
    sender = SmtpMailSender(server.url(credentials=LOGIN, query="starttls=1&verify=0"))

    sender.send(arabic_message())

    [mail] = server.messages
    assert (mail.tls, mail.login) == (True, SMTP_USER)
    assert_intact(parse(mail.content))


# aiosmtpd counts only STARTTLS as TLS, so AUTH on an SMTPS socket makes it warn.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls_and_login(make_smtp_server, server_tls_context):
    server = make_smtp_server(tls_context=server_tls_context, implicit_tls=True)
    sender = SmtpMailSender(server.url("smtps", credentials=LOGIN, query="verify=0"))

    sender.send(arabic_message())

    assert_intact(parse(server.messages[0].content))


def test_certificates_are_verified_unless_turned_off(make_smtp_server, server_tls_context):
    server = make_smtp_server(tls_context=server_tls_context)
    error = send_error(SmtpMailSender(server.url(query="starttls=1")), arabic_message())

    assert (error.reason, error.transient) == ("tls_verify_failed", False)
    assert server.messages == []


def test_a_wrong_password_fails_permanently_without_showing_it(
    make_smtp_server, server_tls_context
):
    server = make_smtp_server(tls_context=server_tls_context)
    url = server.url(credentials="hudoor:not-the-password", query="starttls=1&verify=0")

    error = send_error(SmtpMailSender(url), arabic_message())

    assert (error.reason, error.transient) == ("auth_failed", False)
    assert "not-the-password" not in f"{error} {error.detail} {SmtpMailSender(url)!r}"


def test_starttls_is_never_skipped_when_the_server_lacks_it(smtp_server):
    error = send_error(SmtpMailSender(smtp_server.url(query="starttls=1")), arabic_message())

    assert (error.reason, error.transient) == ("smtp_unsupported", False)
    assert smtp_server.messages == []


def test_a_server_that_is_down_is_a_transient_error(smtp_server):
    sender = SmtpMailSender(smtp_server.url())
    smtp_server.stop()

    error = send_error(sender, arabic_message())

    assert (error.reason, error.transient) == ("connection_refused", True)
    smtp_server.start()
    sender.send(arabic_message())
    assert len(smtp_server.messages) == 1


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        sender = SmtpMailSender(f"smtp://127.0.0.1:{silent.getsockname()[1]}?timeout=1")

        error = send_error(sender, arabic_message())

    assert (error.reason, error.transient) == ("timeout", True)


@pytest.mark.parametrize(
    ("reply", "reason", "transient"),
    [
        ("451 4.3.0 Mailbox temporarily unavailable", "smtp_451", True),
        ("550 5.1.1 No such user here", "recipient_refused", False),
        ("553 5.1.3 Bad recipient address syntax", "recipient_refused", False),
    ],
)
def test_refused_recipients(smtp_server, reply, reason, transient):
    smtp_server.refuse("nobody@example.iq", reply)

    error = send_error(SmtpMailSender(smtp_server.url()), arabic_message("nobody@example.iq"))

    assert (error.reason, error.transient) == (reason, transient)
    assert "nobody@example.iq" in error.detail
    assert smtp_server.messages == []


def test_file_mail_sender_writes_an_eml_a_mail_client_opens(tmp_path):
    sender = mail_sender_from_url(None, tmp_path)

    assert isinstance(sender, FileMailSender)
    assert sender.send(arabic_message()) == "<confirm-42@hudoor.example>"
    [path] = (tmp_path / "mail").iterdir()
    assert path.name.endswith("-confirm-42_hudoor.example.eml")
    content = path.read_bytes()
    assert b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")
    assert_intact(parse(content))


def test_a_message_without_message_id_gets_one(tmp_path):
    message = arabic_message()
    del message["Message-ID"]

    message_id = FileMailSender(tmp_path).send(message)

    assert message_id.endswith("@hudoor.example>")
    assert parse(next(tmp_path.iterdir()).read_bytes())["Message-ID"] == message_id


# --- SMS over HTTP (Twilio Messages API shape) -------------------------------------------------


def test_sms_is_posted_with_basic_auth_and_answers_the_sid(sms_provider):
    sender = sms_sender_from_url(sms_provider.url(), var_dir=None)

    sid = sender.send("+9647701234567", "رمز الدخول: 4821", CALLBACK)

    assert isinstance(sender, HttpSmsSender)
    assert sid.startswith("SM") and len(sid) == 34
    expected = {"To": "+9647701234567", "From": "+9647700000000", "Body": "رمز الدخول: 4821"}
    assert sms_provider.messages == [{**expected, "StatusCallback": CALLBACK}]


def test_sms_through_a_messaging_service(sms_provider):
    url = sms_provider.url().split("?")[0] + "?messaging_service_sid=MG0123"

    HttpSmsSender(url).send("+9647701234567", "hello")

    assert sms_provider.messages[0]["MessagingServiceSid"] == "MG0123"
    assert "From" not in sms_provider.messages[0]


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_bad_numbers_fail_permanently(sms_provider, code):
    sms_provider.fail_with_code("+9647700000001", code)

    error = send_error(HttpSmsSender(sms_provider.url()), "+9647700000001", "hello")

    assert (error.reason, error.transient) == (f"sms_{code}", False)
    assert error.detail
    assert sms_provider.messages == []


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (500, None), (429, 1.0)])
def test_throttling_and_server_errors_are_transient(sms_provider, status, retry_after):
    sender = HttpSmsSender(sms_provider.url())
    sms_provider.fail_next(1, status=status)

    error = send_error(sender, "+9647701234567", "hello")

    assert (error.reason, error.transient) == (f"http_{status}", True)
    assert error.retry_after == retry_after
    assert sender.send("+9647701234567", "hello").startswith("SM")


def test_an_unreachable_provider_is_transient():
    url = f"http://AC1:token@127.0.0.1:{free_port()}/2010-04-01/Accounts/AC1/Messages.json?from=X"

    error = send_error(HttpSmsSender(url), "+9647701234567", "hello")

    assert (error.reason, error.transient) == ("connection_refused", True)


def test_the_auth_token_never_shows(sms_provider):
    token = "wrong-token-0123456789"
    sender = HttpSmsSender(sms_provider.url(token=token))
    errors = [send_error(sender, "+9647701234567", "hello")]
    sms_provider.fail_next(1, status=503)
    errors.append(send_error(HttpSmsSender(sms_provider.url()), "+9647701234567", "hello"))
    sms_provider.stop()
    errors.append(send_error(sender, "+9647701234567", "hello"))

    assert [error.reason for error in errors] == ["sms_20003", "http_503", "connection_refused"]
    for error in errors:
        text = f"{error} {error.detail} {error.args} {error!r} {sender!r}"
        assert token not in text and sms_provider.auth_token not in text


def test_file_sms_sender_writes_json(tmp_path):
    sender = sms_sender_from_url("", tmp_path)

    message_id = sender.send("+9647701234567", "مرحباً", "https://hudoor.example/r")

    assert isinstance(sender, FileSmsSender) and message_id.startswith("file-")
    [path] = (tmp_path / "sms").iterdir()
    record = json.loads(path.read_text("utf-8"))
    assert path.name.endswith(f"-{message_id}.json")
    assert record["id"] == message_id
    assert (record["to"], record["body"]) == ("+9647701234567", "مرحباً")
    assert record["status_callback"] == "https://hudoor.example/r"
    assert record["created_at"].endswith("+00:00")
    assert [p.name for p in (tmp_path / "sms").iterdir()] == [path.name]  # no temp files left


# --- delivery receipts -------------------------------------------------------------------------

TWILIO_EXAMPLE = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def test_signature_matches_twilios_published_example():
    assert twilio_signature("12345", TWILIO_URL, TWILIO_EXAMPLE) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert verify_receipt_signature(
        "12345", TWILIO_URL, TWILIO_EXAMPLE, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    port_443 = TWILIO_URL.replace(".com/", ".com:443/")
    assert verify_receipt_signature(
        "12345", port_443, TWILIO_EXAMPLE, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def test_a_signed_receipt_is_accepted_and_a_tampered_one_refused(sms_provider, receipt_endpoint):
    url, received = receipt_endpoint
    token = sms_auth_token(sms_provider.url())

    status = send_receipt(url, "SM" + "a" * 32, "undelivered", sms_provider.auth_token, "30003")

    assert status == 204 and token == sms_provider.auth_token
    [(headers, form)] = received
    signature = headers["X-Twilio-Signature"]
    assert verify_receipt_signature(token, url, form, signature)
    assert receipt_status(form) == ("SM" + "a" * 32, "failed", "30003")
    assert not verify_receipt_signature(
        token, url, {**form, "MessageStatus": "delivered"}, signature
    )
    assert not verify_receipt_signature(token, url + "?x=1", form, signature)
    assert not verify_receipt_signature("other-token", url, form, signature)
    assert not verify_receipt_signature(token, url, form, "")


@pytest.mark.parametrize(
    ("twilio_status", "ours", "error_code"),
    [
        ("queued", "sent", None),
        ("sending", "sent", None),
        ("sent", "sent", None),
        ("delivered", "delivered", None),
        ("undelivered", "failed", "30005"),
        ("failed", "failed", "30008"),
    ],
)
def test_receipt_status_mapping(twilio_status, ours, error_code):
    params = {"MessageSid": "SM1", "MessageStatus": twilio_status, "ErrorCode": error_code or ""}

    assert receipt_status(params) == ("SM1", ours, error_code)


def test_receipt_status_rejects_what_is_not_a_receipt():
    with pytest.raises(ValueError):
        receipt_status({"MessageSid": "SM1", "MessageStatus": "exploded"})
    with pytest.raises(ValueError):
        receipt_status({"MessageStatus": "sent"})


def test_mail_urls_choose_the_transport():
    starttls = SmtpMailSender("smtp://u:p%40ss@mail.example.iq?starttls=1&timeout=10")
    implicit = SmtpMailSender("smtps://u:p@mail.example.iq")
    plain = SmtpMailSender("smtp://relay.example.iq")

    assert (starttls.port, starttls.starttls, starttls.timeout) == (587, True, 10.0)
    assert (starttls.username, starttls._password, starttls.verify_tls) == ("u", "p@ss", True)
    assert (implicit.port, implicit.implicit_tls) == (465, True)
    assert (plain.port, plain.username) == (25, None)
    assert not plain.starttls and not plain.implicit_tls


def test_sms_url_parts():
    sender = HttpSmsSender(
        "https://AC9:t%2Fk@api.twilio.com/2010-04-01/Accounts/AC9/Messages.json?from=%2B9647700000000"
    )

    assert sender.endpoint == "https://api.twilio.com/2010-04-01/Accounts/AC9/Messages.json"
    assert (sender.account_sid, sender.sender) == ("AC9", {"From": "+9647700000000"})
    assert sms_auth_token(None) is None
    assert sms_auth_token("https://AC9:t%2Fk@api.twilio.com/x?from=X") == "t/k"


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.iq",
        "smtp://",
        "smtp://u:secret-pw@mail.example.iq:99999",
        "smtp://u:secret-pw@mail.example.iq",
        "smtps://u:secret-pw@mail.example.iq?starttls=1",
        "smtp://mail.example.iq?starttls=yes",
        "smtp://mail.example.iq?timeout=0",
        "smtp://mail.example.iq?from=x@example.iq",
        "smtps://u:secret-pw-é@mail.example.iq",
    ],
)
def test_bad_mail_urls_name_the_variable(url):
    with pytest.raises(ValueError, match="MAIL_URL") as caught:
        mail_sender_from_url(url, var_dir=None)
    assert "secret-pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://AC1:secret-pw@example.iq/Messages.json?from=X",
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?from=X",
        "https://AC1:secret-pw@api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
        "https://AC1:secret-pw@api.twilio.com/x.json?from=X&messaging_service_sid=MG1",
        "https://AC1:secret-pw@api.twilio.com?from=X",
        "http://AC1:secret-pw@sms.example.iq/Messages.json?from=X",
        "https://AC1:secret-pw@api.twilio.com:0x/Messages.json?from=X",
    ],
)
def test_bad_sms_urls_name_the_variable(url):
    with pytest.raises(ValueError, match="SMS_URL") as caught:
        sms_sender_from_url(url, var_dir=None)
    assert "secret-pw" not in str(caught.value)


def test_a_partly_refused_message_is_logged_without_the_addresses(smtp_server, caplog):
    smtp_server.refuse("nobody@example.iq", "550 5.1.1 No such user here")
    message = arabic_message("delegate@example.iq")
    message["Cc"] = "nobody@example.iq"

    SmtpMailSender(smtp_server.url()).send(message)

    assert "refused 1 of the recipients" in caplog.text
    assert "nobody@example.iq" not in caplog.text
