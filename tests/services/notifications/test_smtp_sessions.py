"""A worker keeps its SMTP connection across messages and opens a new one when it dropped."""

from __future__ import annotations

import email
import email.policy

import pytest

from services.notifications.senders import SendError, SmtpMailSender
from tests.services.notifications.test_senders import arabic_message


@pytest.fixture
def sender(smtp_server):
    sender = SmtpMailSender(smtp_server.url())
    yield sender
    sender.close()


def test_messages_share_one_connection(smtp_server, sender):
    for n in range(3):
        sender.send(arabic_message(f"delegate{n}@example.iq"))

    assert [m.rcpt_tos for m in smtp_server.messages] == [
        [f"delegate{n}@example.iq"] for n in range(3)
    ]
    assert len({m.peer for m in smtp_server.messages}) == 1


def test_a_connection_the_server_dropped_is_replaced_without_losing_the_message(
    smtp_server, sender
):
    sender.send(arabic_message("first@example.iq"))
    smtp_server.stop()
    smtp_server.start()

    sender.send(arabic_message("second@example.iq"))

    assert [m.rcpt_tos for m in smtp_server.messages] == [
        ["first@example.iq"],
        ["second@example.iq"],
    ]
    assert smtp_server.messages[0].peer != smtp_server.messages[1].peer


def test_a_server_still_down_is_a_transient_error_after_one_new_attempt(smtp_server, sender):
    sender.send(arabic_message("first@example.iq"))
    smtp_server.stop()

    with pytest.raises(SendError) as caught:
        sender.send(arabic_message("second@example.iq"))

    assert caught.value.transient
    smtp_server.start()
    sender.send(arabic_message("third@example.iq"))
    assert [m.rcpt_tos for m in smtp_server.messages][-1] == ["third@example.iq"]


def test_a_refused_recipient_leaves_the_next_message_unharmed(smtp_server, sender):
    smtp_server.refuse("nobody@example.iq", "550 5.1.1 No such user")

    with pytest.raises(SendError) as caught:
        sender.send(arabic_message("nobody@example.iq"))
    sender.send(arabic_message("somebody@example.iq"))

    assert not caught.value.transient
    [mail] = smtp_server.messages
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert mail.rcpt_tos == ["somebody@example.iq"] and parsed["To"] == "somebody@example.iq"


def test_a_reply_slower_than_the_timeout_is_not_sent_again_at_once(smtp_server):
    """A timed-out reply is not a dropped connection: the server may have the message, so the
    sender reports a transient timeout (the delivery retries later) instead of sending again."""
    sender = SmtpMailSender(smtp_server.url(query="timeout=1"))
    sender.send(arabic_message("first@example.iq"))
    smtp_server.slow_down(0, {"stalled@example.iq": [3.0]})
    try:
        with pytest.raises(SendError) as caught:
            sender.send(arabic_message("stalled@example.iq"))
        assert (caught.value.reason, caught.value.transient) == ("timeout", True)
        sender.send(arabic_message("next@example.iq"))
    finally:
        sender.close()
    # The server dropped the stalled session when the sender gave up on it (aiosmtpd does).
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        ["first@example.iq"],
        ["next@example.iq"],
    ]
