"""Rendered e-mails and SMS, read back the way a mail client or phone would."""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import re
from datetime import date
from email.header import decode_header, make_header

import pytest

from services.notifications import sms_segments
from services.notifications.compose import (
    KINDS,
    SMS_MAX_SEGMENTS,
    format_date,
    format_days,
    render_email,
    render_sms,
)
from tests.qr_codes import qr_text_of_png

SENDER = "Hudoor <noreply@hudoor.example.org>"
TOKEN = base64.b32encode(bytes(range(76))).decode("ascii").rstrip("=")
URL = "https://hudoor.example.org/r/12~abcdEFGH1234." + "Sig0-_" * 4 + "Abc"  # 72 chars
LONG_URL = "https://registration.hudoor.example.gov.iq/r/1234~abcdEFGH1234." + "S" * 27  # 90
BROADCAST = {"subject": "تغيير القاعة / Hall change", "body": "القاعة B بدلاً من A.\n\nHall B."}
LANGS = ("ar", "en")
WITH_QR = {"confirmation", "badge_reissued", "contact_changed", "reminder"}
WITH_BADGE = {"confirmation", "badge_reissued", "contact_changed"}
WITH_ICS = {"confirmation", "reminder"}


def make_payload(lang: str = "ar", **delegate) -> dict:
    """A delegate event as registration emits it; override delegate fields by keyword."""
    return {
        "schema_version": 1,
        "topic": "delegate.registered",
        "message_id": "5f1c0de",
        "occurred_at": "2026-11-28T09:00:00+00:00",
        "event": {
            "id": 1,
            "slug": "wli-gbv-2023",
            "name_ar": "مؤتمر مناهضة العنف القائم على النوع الاجتماعي ودعم تعافي الناجيات",
            "name_en": "Conference to Combat Gender-Based Violence and Support the Recovery "
            "of Survivors",
            "venue_ar": "دار الضيافة، بغداد",
            "venue_en": "Government Guesthouse, Baghdad",
            "timezone": "Asia/Baghdad",
            "days": ["2023-02-12"],
        },
        "delegate": {
            "badge_id": 7,
            "generation": 1,
            "version": 1,
            "status": "active",
            "full_name_ar": "د. يسرى كريم محسن العلاق",
            "full_name_en": "Dr. Yusra Karim Mohsen Al-Alaq",
            "job_title": "Director General",
            "gender": "female",
            "language": lang,
            "channel": "both",
            "email": "yusra@example.org",
            "phone": "+9647701234567",
            "agency": {
                "id": 1,
                "code": "IWED",
                "name_ar": "دائرة تمكين المرأة العراقية / الأمانة العامة لمجلس الوزراء",
                "name_en": "Iraqi Women Empowerment Department / General Secretariat of the "
                "Council of Ministers",
            },
            "category": {
                "code": "DELEGATE",
                "name_ar": "مندوب",
                "name_en": "Delegate",
                "color": "#1f6feb",
            },
            **delegate,
        },
        "badge_token": TOKEN,
        "self_service_url": URL,
        "reason": None,
    }


def extra_for(kind: str) -> dict | None:
    return BROADCAST if kind == "broadcast" else None


def round_trip(kind: str, lang: str, payload: dict | None = None):
    """Render, serialise for SMTP and parse back with the standard library."""
    msg = render_email(
        kind,
        payload or make_payload(lang),
        sender=SENDER,
        message_id=f"{kind}.7",
        extra=extra_for(kind),
    )
    wire = msg.as_bytes()
    return wire, email.message_from_bytes(wire, policy=email.policy.default)


def text(part) -> str:
    return part.get_content().replace("\r\n", "\n")


def attachments(parsed) -> dict:
    return {part.get_filename(): part for part in parsed.iter_attachments()}


def ics_properties(ics: str) -> dict[str, str]:
    unfolded = re.sub(r"\r\n[ \t]", "", ics)
    return dict(line.split(":", 1) for line in unfolded.split("\r\n") if ":" in line)


def decode_qr(png: bytes) -> str:
    return qr_text_of_png(png)


EVERY_MESSAGE = pytest.mark.parametrize(("kind", "lang"), [(k, g) for k in KINDS for g in LANGS])


@EVERY_MESSAGE
def test_headers(kind, lang):
    _, parsed = round_trip(kind, lang)
    assert parsed["From"] == SENDER
    assert parsed["To"].addresses[0].addr_spec == "yusra@example.org"
    expected_name = make_payload()["delegate"][f"full_name_{lang}"]
    assert parsed["To"].addresses[0].display_name == expected_name
    assert parsed["Message-ID"] == f"<{kind}.7@hudoor>"
    assert parsed["Date"].datetime is not None
    assert parsed["Content-Language"] == lang
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Subject"].strip()


@pytest.mark.parametrize("kind", KINDS)
def test_arabic_subject_and_name_are_rfc2047_encoded_and_round_trip(kind):
    wire, parsed = round_trip(kind, "ar")
    assert wire.isascii()
    assert b"=?utf-8?" in wire
    msg = render_email(
        kind, make_payload("ar"), sender=SENDER, message_id="x", extra=extra_for(kind)
    )
    assert parsed["Subject"] == msg["Subject"]
    assert re.search("[\u0600-\u06ff]", str(parsed["Subject"]))


def test_confirmation_subjects():
    assert "تأكيد" in round_trip("confirmation", "ar")[1]["Subject"]
    assert "confirmed" in round_trip("confirmation", "en")[1]["Subject"]
    assert round_trip("broadcast", "en")[1]["Subject"] == BROADCAST["subject"]


@EVERY_MESSAGE
def test_text_and_html_bodies(kind, lang):
    _, parsed = round_trip(kind, lang)
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert parsed.get_content_type() in ("multipart/alternative", "multipart/mixed")
    assert URL in text(plain)
    assert f'href="{URL}"' in html.get_content()
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html.get_content()
    name = make_payload()["delegate"][f"full_name_{lang}"]
    assert name in text(plain)
    assert name in html.get_content()


@EVERY_MESSAGE
def test_html_is_self_contained(kind, lang):
    html = round_trip(kind, lang)[1].get_body(("html",)).get_content()
    assert "<link" not in html
    assert "<script" not in html
    assert "<style" not in html
    assert "url(" not in html
    assert not re.search(r'src="(?!cid:)', html)


@EVERY_MESSAGE
def test_inline_qr_is_referenced_by_the_html(kind, lang):
    _, parsed = round_trip(kind, lang)
    html = parsed.get_body(("html",)).get_content()
    images = [p for p in parsed.walk() if p["Content-ID"]]
    if kind not in WITH_QR:
        assert not images
        assert "cid:" not in html
        return
    (image,) = images
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert decode_qr(image.get_content()) == TOKEN


@EVERY_MESSAGE
def test_attachments(kind, lang):
    files = attachments(round_trip(kind, lang)[1])
    expected = {"badge.png"} if kind in WITH_BADGE else set()
    expected |= {"event.ics"} if kind in WITH_ICS else set()
    assert set(files) == expected


@pytest.mark.parametrize("lang", LANGS)
def test_notice_to_a_former_address_has_no_link_nor_badge_in_the_language(lang):
    # As notifications logs it: the delegate as the former address knew them, the link blanked.
    notice = make_payload(lang) | {"self_service_url": "", "badge_token": ""}
    msg = render_email("contact_changed_notice", notice, sender=SENDER, message_id="n.1")
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    same_message(msg)
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "/r/" not in text + html and "cid:" not in html
    assert not attachments(parsed) and not [p for p in parsed.walk() if p["Content-ID"]]
    direction = "rtl" if lang == "ar" else "ltr"
    assert parsed["Content-Language"] == lang and f'dir="{direction}"' in html
    assert bool(re.search("[\u0600-\u06ff]", parsed["Subject"])) == (lang == "ar")
    assert parsed["To"].addresses[0].addr_spec == notice["delegate"]["email"]


@pytest.mark.parametrize("kind", sorted(WITH_BADGE))
def test_attached_badge_decodes_to_the_token(kind):
    badge = attachments(round_trip(kind, "ar")[1])["badge.png"]
    assert badge.get_content_type() == "image/png"
    assert decode_qr(badge.get_content()) == TOKEN


@pytest.mark.parametrize(("kind", "lang"), [(k, g) for k in sorted(WITH_ICS) for g in LANGS])
def test_attached_calendar_parses(kind, lang):
    part = attachments(round_trip(kind, lang)[1])["event.ics"]
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "PUBLISH"
    ics = part.get_payload(decode=True).decode("utf-8")
    assert ics.startswith("BEGIN:VCALENDAR\r\n")
    assert "\r\nBEGIN:VEVENT\r\n" in ics
    props = ics_properties(ics)
    assert props["DTSTART;VALUE=DATE"] == "20230212"
    assert props["UID"] == "wli-gbv-2023-7@hudoor"


def test_arabic_html_reads_right_to_left_with_arabic_dates():
    _, parsed = round_trip("confirmation", "ar")
    html = parsed.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html
    assert "text-align:right" in html
    assert "الأحد 12 فبراير 2023" in html
    assert "الأحد 12 فبراير 2023" in text(parsed.get_body(("plain",)))
    assert "المحترمة" in html  # the delegate is addressed in the feminine


def test_english_dates():
    _, parsed = round_trip("reminder", "en")
    assert "Sunday 12 February 2023" in parsed.get_body(("html",)).get_content()


@pytest.mark.parametrize("lang", LANGS)
def test_a_script_in_a_name_is_escaped_in_html(lang):
    xss = "<script>alert(1)</script>"
    payload = make_payload(lang, full_name_ar=xss, full_name_en=xss)
    _, parsed = round_trip("confirmation", lang, payload)
    html = parsed.get_body(("html",)).get_content()
    assert xss not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert xss in text(parsed.get_body(("plain",)))


def test_broadcast_body_is_escaped_plain_text():
    extra = {"subject": "Note", "body": "<b>Hall B</b> & lunch\nat 1pm\n\nSee you"}
    msg = render_email("broadcast", make_payload("en"), sender=SENDER, message_id="b", extra=extra)
    html = msg.get_body(("html",)).get_content()
    assert "&lt;b&gt;Hall B&lt;/b&gt; &amp; lunch<br>\nat 1pm</p>" in html
    assert "See you</p>" in html


def test_a_css_injecting_category_colour_is_replaced():
    category = make_payload()["delegate"]["category"] | {"color": "red;background:url(x)"}
    _, parsed = round_trip("confirmation", "en", make_payload("en", category=category))
    assert "url(" not in parsed.get_body(("html",)).get_content()


def test_cancellation_reason_is_shown():
    payload = make_payload("en") | {"reason": "Duplicate registration"}
    _, parsed = round_trip("cancellation", "en", payload)
    assert "Reason: Duplicate registration" in text(parsed.get_body(("plain",)))


@pytest.mark.parametrize(
    "lang, words",
    [("en", "given your seat to another member"), ("ar", "منحت جهتك مقعدك لعضو آخر")],
)
def test_a_substituted_delegate_is_told_in_words_not_a_code(lang, words):
    payload = make_payload(lang) | {"reason": "substituted"}
    _, parsed = round_trip("cancellation", lang, payload)
    body = text(parsed.get_body(("plain",)))
    assert words in body and "substituted" not in body


def test_a_name_missing_in_the_language_falls_back_to_the_other():
    _, parsed = round_trip("confirmation", "en", make_payload("en", full_name_en=None))
    assert parsed["To"].addresses[0].display_name == "د. يسرى كريم محسن العلاق"


def test_refusals():
    with pytest.raises(ValueError, match="unknown message kind"):
        render_email("welcome", make_payload(), sender=SENDER, message_id="x")
    with pytest.raises(ValueError, match="body"):
        render_sms("broadcast", make_payload(), {"subject": "only a subject"})
    with pytest.raises(ValueError, match="e-mail"):
        render_email("confirmation", make_payload(email=None), sender=SENDER, message_id="x")


def test_date_formatting():
    assert format_date(date(2023, 2, 12), "ar") == "الأحد 12 فبراير 2023"
    assert format_date(date(2023, 2, 12), "en") == "Sunday 12 February 2023"
    assert format_date(date(2023, 2, 12), "en", year=False) == "Sunday 12 February"
    days = [date(2023, 2, 13), date(2023, 2, 12)]
    assert format_days(days, "en") == "from Sunday 12 February 2023 to Monday 13 February 2023"
    assert format_days(days, "ar") == "من الأحد 12 فبراير 2023 إلى الاثنين 13 فبراير 2023"
    apart = [date(2023, 2, 12), date(2023, 2, 14)]
    assert format_days(apart, "en") == "Sunday 12 February 2023, Tuesday 14 February 2023"


@EVERY_MESSAGE
def test_sms_fits_two_parts_and_carries_the_link(kind, lang):
    sms = render_sms(kind, make_payload(lang), extra_for(kind))
    assert URL in sms
    assert sms_segments.segments(sms) <= SMS_MAX_SEGMENTS


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "broadcast"])
@pytest.mark.parametrize("lang", LANGS)
def test_sms_fits_with_an_80_character_link(kind, lang):
    base = "https://hudoor.example.org/r/1234~abcdEFGH1234."
    url = base + "S" * (80 - len(base))
    sms = render_sms(kind, make_payload(lang) | {"self_service_url": url})
    assert sms.endswith(url)
    assert sms_segments.fits(sms, SMS_MAX_SEGMENTS)


@pytest.mark.parametrize("lang", LANGS)
def test_sms_is_in_the_delegates_language(lang):
    sms = render_sms("confirmation", make_payload(lang))
    has_arabic = bool(re.search("[\u0600-\u06ff]", sms))
    assert has_arabic == (lang == "ar")


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "broadcast"])
def test_english_sms_with_a_latin_name_is_gsm7(kind):
    assert sms_segments.encoding(render_sms(kind, make_payload("en"))) == "GSM-7"


def test_english_sms_names_the_event_when_it_fits():
    sms = render_sms("confirmation", make_payload("en"))
    assert "Conference to Combat Gender-Based Violence" in sms
    assert "Dr. Yusra Karim Mohsen Al-Alaq" in sms


@pytest.mark.parametrize(("lang", "optional"), [("ar", "دار الضيافة"), ("en", "Conference to")])
def test_a_long_link_drops_optional_parts_instead_of_failing(lang, optional):
    assert optional in render_sms("reminder", make_payload(lang))
    sms = render_sms("reminder", make_payload(lang) | {"self_service_url": LONG_URL})
    assert optional not in sms
    assert sms.endswith(LONG_URL)
    assert sms_segments.fits(sms, SMS_MAX_SEGMENTS)


def test_a_link_too_long_for_two_parts_is_still_sent():
    url = "https://hudoor.example.org/r/" + "S" * 300
    sms = render_sms("confirmation", make_payload("ar") | {"self_service_url": url})
    assert sms.endswith(url)
    assert not sms_segments.fits(sms, SMS_MAX_SEGMENTS)


def test_broadcast_sms_is_the_organizers_text_plus_the_link():
    sms = render_sms("broadcast", make_payload("en"), {"body": "Hall B, not A."})
    assert sms == f"Hall B, not A.\n{URL}"


@pytest.mark.parametrize("lang", LANGS)
def test_a_stored_broadcast_is_rendered_in_the_recipients_language(lang):
    stored = {"id": "b1", "subject_ar": "تغيير القاعة", "subject_en": "Hall change"}
    stored |= {"body_ar": "القاعة B.", "body_en": "Hall B."}
    payload = make_payload(lang)
    msg = render_email("broadcast", payload, sender=SENDER, message_id="b", extra=stored)
    assert msg["Subject"] == stored[f"subject_{lang}"]
    assert stored[f"body_{lang}"] in msg.get_body(("plain",)).get_content()
    assert render_sms("broadcast", payload, stored) == f"{stored[f'body_{lang}']}\n{URL}"


ODD_NAMES = (
    'Mary "Mo" O\'Brien, Jr.',
    "Ahmed " * 20,
    "=?utf-8?q?not_encoded?=",
    " Padded ",
    "عبد الرحمن بن محمد بن عبد الله آل " * 4,
)


def decoded_headers(wire: bytes) -> list[tuple[str, str]]:
    """Every header, unfolded and decoded as RFC 2047 says (whitespace between words dropped)."""
    parsed = email.message_from_bytes(wire)  # compat32: raw values
    parts = [parsed, *(p for p in parsed.walk() if p is not parsed)]
    unfold = functools.partial(re.sub, r"\r?\n(?=[ \t])", "")
    return [(k, str(make_header(decode_header(unfold(v))))) for p in parts for k, v in p.items()]


def same_message(msg) -> None:
    """Our policy's wire form reads back as the standard SMTP policy's, a non-ASCII To exactly."""
    ours, standard = msg.as_bytes(), msg.as_bytes(policy=email.policy.SMTP)
    assert all(len(line) <= 78 for line in ours.split(b"\r\n"))
    headers, expected = decoded_headers(ours), decoded_headers(standard)
    to = msg["To"].addresses[0]
    if not to.display_name.isascii():
        # The standard fold loses the spaces between a long name's encoded words (a CPython bug).
        expected = [
            ("To", f"{to.display_name} <{to.addr_spec}>") if k == "To" else (k, v)
            for k, v in expected
        ]
    assert headers == expected
    assert ours.split(b"\r\n\r\n", 1)[1] == standard.split(b"\r\n\r\n", 1)[1]


@EVERY_MESSAGE
def test_wire_form_reads_back_as_the_standard_smtp_policys(kind, lang):
    for name in (None, *ODD_NAMES):
        names = {} if name is None else {f"full_name_{lang}": name}
        payload = make_payload(lang, **names)
        extra = extra_for(kind)
        same_message(render_email(kind, payload, sender=SENDER, message_id="m.1", extra=extra))


@pytest.mark.parametrize("kind", ["invitation", "password_reset"])
@pytest.mark.parametrize("lang", LANGS)
def test_account_wire_form_reads_back_as_the_standard_smtp_policys(kind, lang):
    from tests.services.notifications.payloads import account_message

    payload = account_message(kind, language=lang)
    same_message(render_email(kind, payload, sender=SENDER, message_id="a.1"))
