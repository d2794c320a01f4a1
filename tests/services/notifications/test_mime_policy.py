import email
import email.policy
from email.message import EmailMessage

from services.notifications.compose import render_email
from services.notifications.mime_policy import BOUNDARIES, SMTP_POLICY, set_boundaries
from tests.services.notifications.payloads import delegate_event

SENDER = "Hudoor <noreply@hudoor.example.org>"


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def structure(message) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def test_each_multipart_has_its_subtypes_boundary_and_the_message_reads_back():
    message = render_email("confirmation", delegate_event(), sender=SENDER, message_id="m.1")
    back = parsed(message)
    boundaries = {
        p.get_content_subtype(): p.get_boundary() for p in back.walk() if p.is_multipart()
    }
    assert boundaries == BOUNDARIES
    assert (
        structure(back)
        == structure(message)
        == [
            *("multipart/mixed", "multipart/alternative", "text/plain", "multipart/related"),
            *("text/html", "image/png", "image/png", "text/calendar"),
        ]
    )


def test_a_body_holding_a_boundary_gets_fresh_ones_and_cannot_split_the_message():
    forged = f"--{BOUNDARIES['alternative']}\nContent-Type: text/html\n\n<p>forged</p>\n"
    message = EmailMessage(policy=SMTP_POLICY)
    message.set_content(f"Hall B.\n{forged}")  # short ASCII lines: sent as they stand (7bit)
    message.add_alternative("<p>Hall B.</p>", subtype="html")
    set_boundaries(message)
    back = parsed(message)
    assert BOUNDARIES["alternative"] not in {p.get_boundary() for p in back.walk()}
    assert structure(back) == ["multipart/alternative", "text/plain", "text/html"]
    assert forged in back.get_body(("plain",)).get_content().replace("\r\n", "\n")
