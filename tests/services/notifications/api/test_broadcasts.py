"""POST /api/v1/events/<id>/broadcasts: audiences, one message per recipient and channel, refusals.

The `recipients` of event 1 are arranged in conftest.py.
"""

from __future__ import annotations

import json

import pytest

from tests.services.notifications.api.calls import (
    ADMIN,
    bearer,
    broadcasts,
    field_errors,
    message,
    problem,
)
from tests.services.notifications.api.delivery_log import count, fetch

# --- broadcasts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "badges"),
    [
        ({}, [101, 102, 103, 104]),
        ({"agency": "IWED"}, [101, 102]),
        ({"agency": "MOE"}, [103, 104]),
        ({"category": "DELEGATE"}, [101, 103, 104]),
        ({"category": "SPEAKER"}, [102]),
        ({"agency": "MOE", "category": "DELEGATE"}, [103, 104]),
        ({"agency": "IWED", "category": "SPEAKER"}, [102]),
        ({"agency": "NOPE"}, []),
    ],
)
def test_broadcast_queues_one_message_per_active_recipient_and_channel(
    client, session, sends, recipients, audience, badges
):
    sends()
    response = client.post(broadcasts(1), headers=ADMIN, json=message(audience=audience))
    assert response.status_code == 202, response.get_data(as_text=True)
    result = response.get_json()
    assert set(result) == {"id", "queued"}
    assert len(result["id"]) == 32 and int(result["id"], 16) >= 0
    expected = sorted(to for badge in badges for to in recipients[badge])
    assert result["queued"] == len(expected)
    queued = sends()
    assert len(queued) == result["queued"]
    logged = [fetch(session, delivery_id) for delivery_id in queued]
    assert sorted(d.recipient for d in logged) == expected
    assert {(d.kind, d.status, d.event_id) for d in logged} <= {("broadcast", "queued", 1)}
    assert all(d.extra == {"id": result["id"], **message()} for d in logged)
    assert {d.badge_id for d in logged} == set(badges)


def test_a_broadcast_sent_twice_is_two_messages(client, sends, recipients):
    sends()
    first = client.post(broadcasts(1), headers=ADMIN, json=message()).get_json()
    second = client.post(broadcasts(1), headers=ADMIN, json=message()).get_json()
    assert first["id"] != second["id"]
    assert first["queued"] == second["queued"] == 5
    assert len(set(sends())) == 10


def test_an_organizer_of_the_event_may_broadcast(client, sends, recipients):
    sends()
    organizer = bearer("organizer", events=[1])
    response = client.post(broadcasts(1), headers=organizer, json=message())
    assert response.status_code == 202 and response.get_json()["queued"] == 5
    assert len(sends()) == 5


def test_broadcast_to_an_event_without_recipients_queues_nothing(client, sends, recipients):
    sends()
    response = client.post(broadcasts(3), headers=ADMIN, json=message())
    assert (response.status_code, response.get_json()["queued"]) == (202, 0)
    assert sends() == []


def test_broadcast_bodies_of_exactly_the_maximum_length_are_accepted(client, sends, recipients):
    # By e-mail only: as an SMS such a text would be refused (below).
    body = message(
        subject_ar="ع" * 200,
        subject_en="s" * 200,
        body_ar="ن" * 2000,
        body_en="b" * 2000,
        audience={"category": "SPEAKER"},
    )
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    assert response.status_code == 202, response.get_data(as_text=True)


def test_broadcast_bodies_in_paragraphs_are_accepted_with_their_line_breaks(
    client, session, sends, recipients
):
    sends()
    body_ar = "تبدأ الجلسة الساعة العاشرة.\n\nيرجى الحضور مبكراً."
    body = message(body_ar=body_ar, body_en="Starts at 10:00.\r\n\r\nPlease come early.")
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    assert response.status_code == 202, response.get_data(as_text=True)
    extras = [fetch(session, delivery_id).extra for delivery_id in sends()]
    assert extras and {(e["body_ar"], e["body_en"]) for e in extras} == {
        (body_ar, "Starts at 10:00.\n\nPlease come early.")
    }


@pytest.mark.parametrize(
    ("body", "field", "code", "arabic"),
    [
        (message(subject_ar=None), "subject_ar", "required", "هذا الحقل مطلوب."),
        (message(body_en=None), "body_en", "required", "هذا الحقل مطلوب."),
        (message(body_ar="ن" * 2001), "body_ar", "too_long", "الحد الأقصى 2000 حرفاً."),
        (message(body_en="b" * 2001), "body_en", "too_long", "الحد الأقصى 2000 حرفاً."),
        (message(subject_en="s" * 201), "subject_en", "too_long", "الحد الأقصى 200 حرفاً."),
        (message(body_en="a\tb"), "body_en", "invalid_characters", "يحتوي على رموز غير مسموحة."),
        (message(subject_en="a\nb"), "subject_en", "invalid_characters", None),
        (message(priority="high"), "priority", "unknown_field", "حقل غير معروف."),
        (message(subject_ar=42), "subject_ar", "not_string", "يجب أن تكون القيمة نصاً."),
        (message(subject_ar=None) | {"subject_ar": None}, "subject_ar", "null", None),
        (
            message(audience={"agency": "IWED", "region": "north"}),
            "audience.region",
            "unknown_field",
            "حقل غير معروف.",
        ),
        (message(audience={"agency": "A" * 33}), "audience.agency", "too_long", None),
        (message(audience="IWED"), "audience", "invalid_type", None),
    ],
)
def test_invalid_broadcasts_are_422_and_log_nothing(
    client, session, sends, recipients, body, field, code, arabic
):
    before = count(session)
    sends()
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    errors = field_errors(problem(response, 422))
    assert list(errors) == [field]
    assert errors[field][0] == code
    if arabic:
        assert errors[field][1] == arabic
    assert count(session) == before and sends() == []


def test_broadcast_errors_are_in_english_when_asked(client, recipients):
    headers = {**ADMIN, "Accept-Language": "en-GB,en;q=0.9,ar;q=0.5"}
    response = client.post(broadcasts(1), headers=headers, json=message(subject_ar=None))
    body = problem(response, 422)
    assert body["title"] == "Some fields are invalid."
    assert field_errors(body) == {"subject_ar": ("required", "This field is required.")}


@pytest.mark.parametrize("raw", ["[]", "null", '"hello"', "42", "{}"])
def test_broadcast_body_that_is_not_a_message_is_422(client, recipients, raw):
    response = client.post(broadcasts(1), headers=ADMIN, data=raw, content_type="application/json")
    assert problem(response, 422)["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("subject_ar=x&subject_en=x&body_ar=x&body_en=x", "application/x-www-form-urlencoded"),
        (json.dumps(message()), "text/plain"),
        (json.dumps(message()), "application/xml"),
    ],
)
def test_broadcast_in_another_content_type_is_415(
    client, session, sends, recipients, data, content_type
):
    before = count(session)
    response = client.post(broadcasts(1), headers=ADMIN, data=data, content_type=content_type)
    body = problem(response, 415)
    assert (body["code"], body["title"]) == (
        "unsupported_media_type",
        "أرسل محتوى الطلب بصيغة application/json.",
    )
    assert count(session) == before and sends() == []


def test_broadcast_with_malformed_json_is_400(client, recipients):
    response = client.post(
        broadcasts(1), headers=ADMIN, data='{"subject_ar": "x",', content_type="application/json"
    )
    assert problem(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_a_blank_subject_is_refused_as_required(client, session, sends, recipients, blank):
    sends()
    response = client.post(broadcasts(1), headers=ADMIN, json=message(subject_ar=blank))
    errors = field_errors(problem(response, 422))
    assert errors["subject_ar"][0] in ("required", "too_short")


@pytest.mark.parametrize("audience", [{"agency": ""}, {"category": ""}])
def test_an_empty_audience_filter_is_refused_not_widened_to_everyone(
    client, session, sends, recipients, audience
):
    sends()
    before = count(session)
    response = client.post(broadcasts(1), headers=ADMIN, json=message(audience=audience))
    problem(response, 422)
    assert count(session) == before and sends() == []


@pytest.mark.parametrize(
    ("lang", "text"),
    [("ar", "هذه الرسالة تحتاج 3 أجزاء"), ("en", "As an SMS this message takes 3 parts")],
)
def test_a_broadcast_whose_sms_exceeds_two_parts_is_refused_and_logs_nothing(
    client, session, sends, recipients, lang, text
):
    sends()
    before = count(session)
    long_ar = "تبدأ الجلسة الافتتاحية في القاعة الكبرى الساعة العاشرة صباحاً. " * 2  # + the link
    response = client.post(
        broadcasts(1), headers={**ADMIN, "Accept-Language": lang}, json=message(body_ar=long_ar)
    )
    [error] = problem(response, 422)["errors"]
    assert (error["field"], error["code"]) == ("message.sms", "sms_too_long")
    assert error["message"].startswith(text) and "body_ar" in error["message"]
    assert count(session) == before and sends() == []


def test_a_long_broadcast_is_accepted_when_nobody_in_the_audience_gets_sms(
    client, sends, recipients
):
    long_ar = "تبدأ الجلسة الافتتاحية في القاعة الكبرى الساعة العاشرة صباحاً. " * 2
    body = message(body_ar=long_ar, audience={"category": "SPEAKER"})
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    assert (response.status_code, response.get_json()["queued"]) == (202, 1)
