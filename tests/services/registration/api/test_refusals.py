"""Refused registrations: field errors, conflicts, their languages, and nothing half-written."""

from __future__ import annotations

import pytest

from services.registration import operations
from services.registration.models import Event
from services.registration.schemas import RegistrationSchema
from tests.services.registration.api.calls import PROBLEM, REGISTER, field_codes, problem, set_quota
from tests.services.registration.api.event_state import close_registration, written
from tests.services.registration.conftest import delegate, nth_delegate

ARABIC_REQUIRED = "هذا الحقل مطلوب."


def other(n: int, **changes) -> dict:
    """Delegate number `n` (own email and phone) with some fields changed."""
    return {**nth_delegate(n), **changes}


def without(payload: dict, *names: str) -> dict:
    return {k: v for k, v in payload.items() if k not in names}


# --- validation problems -------------------------------------------------------------------------


def test_every_invalid_field_is_listed_in_one_problem(web, demo_event):
    payload = without(delegate(email="not-an-email", phone="12345", badge_colour="red"), "gender")
    payload.pop("consent")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert body["code"] == "validation_failed"
    assert field_codes(body) == {
        "gender": "required",
        "consent": "consent_required",
        "email": "email_invalid",
        "phone": "phone_invalid",
        "badge_colour": "unknown_field",
    }


# No name, no agency, every other field wrong: one answer, nothing left for a second round.
ALL_WRONG = {
    "job_title": "J" * 201,
    "email": "not-an-email",
    "phone": "12345",
    "gender": "other",
    "language": "fr",
    "channel": "fax",
    "consent": False,
    "badge_colour": "red",
}
ALL_WRONG_CODES = {
    "full_name_ar": "name_required",
    "agency": "unknown_agency",
    "job_title": "too_long",
    "email": "email_invalid",
    "phone": "phone_invalid",
    "gender": "one_of",
    "language": "one_of",
    "channel": "one_of",
    "consent": "consent_required",
    "badge_colour": "unknown_field",
}


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        (
            "ar",
            {
                "full_name_ar": "أدخل الاسم الكامل بالعربية أو بالأحرف اللاتينية.",
                "agency": "اختر جهة من جهات هذا المؤتمر.",
                "consent": "الموافقة على معالجة بياناتك شرط للتسجيل.",
            },
        ),
        (
            "en",
            {
                "full_name_ar": "Enter your full name in Arabic or in Latin letters.",
                "agency": "Choose an agency of this event.",
                "consent": "Consent to the processing of your data is required to register.",
            },
        ),
    ],
)
def test_a_payload_wrong_everywhere_gets_every_error_in_one_answer(
    web, demo_event, session, language, messages
):
    before = written(session)
    response = web.post(REGISTER, json=ALL_WRONG, headers={"Accept-Language": language})
    body = problem(response, 422)
    assert body["code"] == "validation_failed"
    assert field_codes(body) == ALL_WRONG_CODES
    assert len(body["errors"]) == len(ALL_WRONG_CODES)  # one reason per field
    shown = {error["field"]: error["message"] for error in body["errors"]}
    assert {field: shown[field] for field in messages} == messages
    assert written(session) == before


def test_an_empty_payload_names_every_missing_answer(web, demo_event):
    body = problem(web.post(REGISTER, json={}), 422)
    assert field_codes(body) == {
        "full_name_ar": "name_required",
        "email": "contact_required",
        "agency": "unknown_agency",
        "gender": "required",
        "consent": "consent_required",
    }


def test_unknown_agency_and_category_join_the_field_errors(web, demo_event):
    payload = delegate(agency="UNICEF", category="NOPE", email="yusra@@example", consent=None)
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {
        "agency": "unknown_agency",
        "category": "unknown_category",
        "email": "email_invalid",
        "consent": "consent_required",
    }


def test_channel_rule_joins_the_field_errors(web, demo_event):
    payload = delegate(channel="sms", phone=None, email="not-an-email", gender="x")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {
        "phone": "phone_required_for_channel",
        "email": "email_invalid",
        "gender": "one_of",
    }


def test_a_value_refused_on_its_own_keeps_that_one_reason(web, demo_event):
    payload = delegate(full_name_ar="س" * 201, full_name_en=None, agency="NOPE", category="a b")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {
        "full_name_ar": "too_long",  # not also name_required
        "category": "invalid_code",  # not also unknown_category
        "agency": "unknown_agency",
    }
    assert len(body["errors"]) == 3


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"phone": "01 718 1234"}, "phone", "phone_not_mobile"),
        ({"phone": "12345"}, "phone", "phone_invalid"),
        ({"email": "yusra@@example"}, "email", "email_invalid"),
        ({"consent": False}, "consent", "consent_required"),
        ({"full_name_ar": "س" * 201}, "full_name_ar", "too_long"),
        ({"gender": "other"}, "gender", "one_of"),
        ({"channel": "fax"}, "channel", "one_of"),
        ({"full_name_en": "Ali\x07"}, "full_name_en", "invalid_characters"),
        ({"nickname": "Abu Ali"}, "nickname", "unknown_field"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_invalid_field_is_reported_with_its_code(web, demo_event, overrides, field, code):
    body = problem(web.post(REGISTER, json=delegate(**overrides)), 422)
    assert body["code"] == "validation_failed"
    assert field_codes(body) == {field: code}


def test_email_written_in_arabic_is_refused_before_anything_is_sent(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(email="عربي@مثال.عراق")), 422)
    assert field_codes(body) == {"email": "email_local_part_not_ascii"}
    assert "بأحرف لاتينية" in body["errors"][0]["message"]


def test_too_long_name_message_states_the_limit(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(full_name_en="A" * 201)), 422)
    assert body["errors"][0]["message"] == "الحد الأقصى 200 حرفاً."


@pytest.mark.parametrize(
    ("full_name_ar", "full_name_en"),
    [("س" * 200, "A" * 200), ("ﷺ" * 30, None)],
    ids=["two-longest-names", "expanding-ligature"],
)
def test_longest_accepted_names_can_register(web, demo_event, full_name_ar, full_name_en):
    payload = delegate(full_name_ar=full_name_ar, full_name_en=full_name_en)
    response = web.post(REGISTER, json=payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["full_name_ar"] == full_name_ar


def test_registration_without_any_name_is_refused(web, demo_event):
    payload = without(delegate(), "full_name_ar", "full_name_en")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {"full_name_ar": "name_required"}


def test_registration_without_email_or_phone_is_refused(web, demo_event):
    payload = without(delegate(channel="email"), "email", "phone")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {"email": "contact_required"}


def test_unknown_agency_is_a_422_problem_on_the_agency_field(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(agency="UNICEF")), 422)
    assert body["code"] == "validation_failed"
    assert field_codes(body) == {"agency": "unknown_agency"}


def test_self_registration_cannot_pick_an_organizer_category(web, demo_event):
    body = problem(web.post(REGISTER, json=delegate(category="SPEAKER")), 422)
    assert field_codes(body) == {"category": "category_not_allowed"}


def test_an_organizer_category_joins_the_other_field_errors(web, demo_event):
    payload = delegate(category="SPEAKER", email="not-an-address")
    body = problem(web.post(REGISTER, json=payload), 422)
    assert field_codes(body) == {"category": "category_not_allowed", "email": "email_invalid"}


def test_unknown_event_is_a_404_problem(web, demo_event):
    body = problem(web.post("/api/v1/events/no-such-event/registrations", json=delegate()), 404)
    assert body["code"] == "event_not_found"


# --- conflicts -----------------------------------------------------------------------------------


def test_full_agency_quota_is_a_409_quota_full(web, registered, auth, session):
    assert set_quota(web, auth, "IWED", 1)["quota"] == 1
    before = written(session)
    body = problem(web.post(REGISTER, json=nth_delegate(2)), 409)
    assert body["code"] == "quota_full"
    assert field_codes(body) == {"agency": "quota_full"}
    assert written(session) == before


def test_quota_cannot_be_set_below_the_registered_count(web, registered, auth):
    response = web.patch(
        "/api/v1/events/wli-gbv-2023/agencies/IWED", json={"quota": 0}, headers=auth
    )
    body = problem(response, 409)
    assert body["code"] == "quota_below_registered"
    assert "1" in body["errors"][0]["message"]


def test_same_email_in_other_case_is_a_duplicate_person(web, registered, session):
    before = written(session)
    body = problem(web.post(REGISTER, json=other(2, email="YUSRA@Example.ORG")), 409)
    assert body["code"] == "duplicate_person"
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("email", "duplicate_contact"),
        ("phone", "duplicate_contact"),
    }
    assert written(session) == before


def test_a_registered_phone_does_not_tell_whether_an_email_is_registered(web, registered):
    # The prober pairs a phone known to be registered with the address they are curious about.
    probes = [other(2, email="yusra@example.org"), other(2, email="nobody@example.org")]
    answers = [web.post(REGISTER, json={**p, "phone": "0770 123 4567"}) for p in probes]
    assert [a.status_code for a in answers] == [409, 409]
    assert answers[0].get_json() == answers[1].get_json()


@pytest.mark.parametrize("phone", ["+964 770 123 4567", "00964-770-123-4567", "٠٧٧٠١٢٣٤٥٦٧"])
def test_same_phone_in_another_format_is_a_duplicate_person_on_phone(
    web, registered, session, phone
):
    before = written(session)
    body = problem(web.post(REGISTER, json=other(2, phone=phone)), 409)
    assert body["code"] == "duplicate_person"
    assert {e["field"] for e in body["errors"]} == {"email", "phone"}
    assert written(session) == before


def test_closed_registration_is_a_409_registration_closed(web, demo_event, session):
    close_registration(session, demo_event)
    before = written(session)
    body = problem(web.post(REGISTER, json=delegate()), 409)
    assert body["code"] == "registration_closed"
    assert body["title"] == "أُغلق التسجيل."
    assert written(session) == before


def test_full_event_is_a_409_event_full(web, registered, session):
    session.get(Event, registered.event_id).capacity = 1
    session.commit()
    body = problem(web.post(REGISTER, json=nth_delegate(2, agency="MOE")), 409)
    assert body["code"] == "event_full"


# --- nothing half-written ------------------------------------------------------------------------


def _invalid(session, ctx, event, set_quota_to):
    return {"json": delegate(email="nope")}


def _unknown_agency(session, ctx, event, set_quota_to):
    return {"json": delegate(agency="NOPE")}


def _quota_full(session, ctx, event, set_quota_to):
    set_quota_to(0)
    return {"json": delegate()}


def _duplicate_phone(session, ctx, event, set_quota_to):
    data = RegistrationSchema().load(other(9, phone="0770 123 4567"))
    operations.register_delegate(session, ctx, event, data)
    session.commit()
    return {"json": delegate()}


def _closed(session, ctx, event, set_quota_to):
    close_registration(session, event)
    return {"json": delegate()}


def _bad_idempotency_key(session, ctx, event, set_quota_to):
    return {"json": delegate(), "headers": {"Idempotency-Key": "k" * 300}}


def _organizer_category(session, ctx, event, set_quota_to):
    return {"json": delegate(category="PRESS")}


@pytest.mark.parametrize(
    "arrange",
    [
        _invalid,
        _unknown_agency,
        _quota_full,
        _duplicate_phone,
        _closed,
        _bad_idempotency_key,
        _organizer_category,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_refused_registration_writes_nothing(web, demo_event, auth, session, ctx, arrange):
    request = arrange(session, ctx, demo_event, lambda quota: set_quota(web, auth, "IWED", quota))
    before = written(session)
    response = web.post(REGISTER, **request)
    assert response.status_code in (403, 409, 422)
    assert response.mimetype == PROBLEM
    assert written(session) == before


# --- languages -----------------------------------------------------------------------------------


def test_problems_are_in_english_when_asked(web, demo_event):
    response = web.post(
        REGISTER, json=without(delegate(), "gender"), headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    body = problem(response, 422)
    assert body["title"] == "Some fields are invalid."
    assert body["errors"] == [
        {"field": "gender", "code": "required", "message": "This field is required."}
    ]


@pytest.mark.parametrize("headers", [{}, {"Accept-Language": "ar"}, {"Accept-Language": "ar-IQ"}])
def test_problems_are_in_arabic_by_default_and_when_asked(web, demo_event, headers):
    body = problem(web.post(REGISTER, json=without(delegate(), "gender"), headers=headers), 422)
    assert body["title"] == "بعض الحقول غير صالحة."
    assert body["errors"][0]["message"] == ARABIC_REQUIRED


def test_domain_refusals_are_translated_too(web, demo_event):
    english = web.post(
        REGISTER, json=delegate(agency="NOPE"), headers={"Accept-Language": "en"}
    ).get_json()
    arabic = web.post(REGISTER, json=delegate(agency="NOPE")).get_json()
    assert english["errors"][0]["message"] == "Choose an agency of this event."
    assert arabic["errors"][0]["message"] == "اختر جهة من جهات هذا المؤتمر."


def test_refused_requests_leave_no_event_rules_behind(web, demo_event, session):
    assert problem(web.post(REGISTER, json=delegate(agency="NOPE")), 422)
    assert web.post(REGISTER, json=nth_delegate(1)).status_code == 201
    problem(web.post(REGISTER, json=nth_delegate(1)), 409)  # refused after the load
    close_registration(session, demo_event)
    problem(web.post(REGISTER, json=delegate(agency="NOPE")), 409)
    assert RegistrationSchema().load(delegate(agency="NOPE"))["agency"] == "NOPE"
