"""The pages: event list, registration forms, the delegate's badge and self-service page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import select

from services.registration import operations
from services.registration.models import Agency, Event, Registration
from shared.db import utcnow
from tests.services.registration.conftest import (
    decode_qr,
    delegate,
    delegate_messages,
    nth_delegate,
    row_count,
)

FORM = "/e/wli-gbv-2023/register"
REQUIRED_AR = "هذا الحقل مطلوب."
CONSENT_AR = "الموافقة على معالجة بياناتك شرط للتسجيل."


# --- helpers -------------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_fields(**overrides) -> dict:
    """The registration form as a browser posts it (consent checkbox ticked)."""
    fields = {**delegate(), "consent": "yes", **overrides}
    return {k: v for k, v in fields.items() if v is not None}


def submit(client, url: str, fields: dict):
    """GET the form (for its CSRF token), then POST `fields` to it."""
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={**fields, "csrf_token": token})


def register(client, **overrides) -> str:
    """Register through the public form; return the private page's path."""
    response = submit(client, FORM, form_fields(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    return urlsplit(response.headers["Location"]).path


def only_registration(session) -> Registration:
    session.expire_all()
    return session.scalars(select(Registration)).one()


def written(session) -> tuple[int, int]:
    return row_count(session, Registration), delegate_messages(session)


def seats(session, code: str = "IWED") -> int:
    return session.scalar(select(Agency.registered_count).where(Agency.code == code))


def agency_form(ctx, session, event, code: str) -> str:
    return urlsplit(ctx.agency_link(operations.get_agency(session, event, code), event)).path


def self_service(client, page: str, **fields):
    """POST a self-service form of the private page (with the page's CSRF token)."""
    return submit(client, page, fields)


def error_after(field: str, message: str, html: str) -> bool:
    """Tell whether `message` is shown right after the input or select named `field`."""
    message = re.escape(message)
    pattern = rf'name="{field}"[^>]*>(?:(?!<label for).)*?<p class="field-error"[^>]*>{message}'
    return re.search(pattern, html, re.S) is not None


# --- event list and language ---------------------------------------------------------------------


def test_home_lists_the_demo_event_in_arabic_right_to_left(web, demo_event):
    response = web.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert demo_event.name_ar in html
    assert 'href="/e/wli-gbv-2023/register"' in html


def test_lang_en_switches_to_english_and_the_cookie_keeps_it(web, demo_event):
    response = web.get("/?lang=en")
    html = response.get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in html
    assert demo_event.name_en in html
    assert demo_event.name_ar not in html
    assert re.match(r"lang=en;", response.headers["Set-Cookie"])
    later = web.get(FORM).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in later
    assert "Full name in Arabic" in later
    back = web.get("/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in back
    assert '<html lang="ar" dir="rtl">' in web.get("/").get_data(as_text=True)


def test_accept_language_en_is_honoured_without_a_cookie(web, demo_event):
    response = web.get("/", headers={"Accept-Language": "en-US,en;q=0.8,ar;q=0.5"})
    assert '<html lang="en" dir="ltr">' in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


def test_closed_event_is_not_listed_and_its_form_says_so(web, demo_event, session):
    session.get(Event, demo_event.id).registration_closes_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert "لا يوجد مؤتمر مفتوح للتسجيل حالياً." in web.get("/").get_data(as_text=True)
    html = web.get(FORM).get_data(as_text=True)
    assert "أُغلق التسجيل في هذا المؤتمر." in html
    assert 'name="full_name_ar"' not in html
    assert '<a href="/">' in html


def test_event_without_closing_time_closes_when_its_last_day_ends(web, demo_event, session):
    token = csrf_token(web.get(FORM).get_data(as_text=True))
    session.get(Event, demo_event.id).registration_closes_at = None  # its day was in 2023
    session.commit()
    assert "لا يوجد مؤتمر مفتوح للتسجيل حالياً." in web.get("/").get_data(as_text=True)
    assert "أُغلق التسجيل في هذا المؤتمر." in web.get(FORM).get_data(as_text=True)
    response = web.post(FORM, data={**form_fields(), "csrf_token": token})
    assert response.status_code == 422
    assert written(session) == (0, 0)


def test_form_not_yet_open_says_when_it_opens_in_the_events_timezone(web, demo_event, session):
    opens = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)  # 09:00 in Baghdad
    session.get(Event, demo_event.id).registration_opens_at = opens
    session.commit()
    html = web.get(FORM).get_data(as_text=True)
    assert "يُفتح التسجيل في هذا المؤتمر في 1 كانون الثاني 2030 09:00 (بتوقيت Asia/Baghdad)." in html
    assert "أُغلق التسجيل" not in html
    assert 'name="full_name_ar"' not in html
    english = web.get(FORM + "?lang=en").get_data(as_text=True)
    assert "opens on 1 January 2030 09:00 (Asia/Baghdad time)." in english


def test_home_shows_the_days_in_the_pages_language(web, demo_event):
    assert "<bdi>12 شباط 2023</bdi>" in web.get("/").get_data(as_text=True)
    assert "<bdi>12 February 2023</bdi>" in web.get("/?lang=en").get_data(as_text=True)


def test_unknown_event_page_is_a_404(web, demo_event):
    response = web.get("/e/no-such-event/register")
    assert response.status_code == 404
    assert "المؤتمر غير موجود." in response.get_data(as_text=True)


def test_nul_character_in_the_event_address_is_a_404_page(web, demo_event):
    assert web.get("/e/wli%00gbv/register").status_code == 404


# --- public registration form --------------------------------------------------------------------


def test_form_offers_every_agency_in_both_languages(web, demo_event, session):
    html = web.get(FORM).get_data(as_text=True)
    agencies = session.scalars(select(Agency).where(Agency.event_id == demo_event.id)).all()
    assert len(agencies) == 18
    for agency in agencies:
        option = re.search(rf'<option value="{agency.code}"[^>]*>([^<]*)</option>', html)
        assert option, agency.code
        assert str(escape(agency.name_ar)) in option.group(1)
        assert str(escape(agency.name_en)) in option.group(1)


def test_valid_form_redirects_to_the_private_badge_page(web, demo_event, session, ctx):
    response = submit(web, FORM, form_fields(phone="٠٧٧٠ ١٢٣ ٤٥٦٧"))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/r/[^/?]+\?new=1", location)
    registration = only_registration(session)
    assert registration.phone == "+9647701234567"
    assert registration.agency.code == "IWED"
    assert location == urlsplit(ctx.delegate_link(registration)).path + "?new=1"


def test_badge_page_shows_name_agency_and_a_qr_of_the_badge_token(web, demo_event, session, ctx):
    page = register(web)
    html = web.get(page + "?new=1").get_data(as_text=True)
    assert "تم تسجيلك." in html
    assert "د. يسرى كريم محسن العلاق" in html
    assert "Dr. Yusra Karim Mohsen Al-Alaq" in html
    assert "دائرة تمكين المرأة العراقية / الأمانة العامة لمجلس الوزراء" in html
    assert "مندوب" in html
    assert f'<img class="qr" src="{page}/badge.png"' in html
    png = web.get(f"{page}/badge.png")
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert png.headers["Cache-Control"] == "private, no-store"
    assert decode_qr(png.data) == ctx.badge_token(only_registration(session))
    svg = web.get(f"{page}/badge.svg")
    assert (svg.status_code, svg.mimetype) == (200, "image/svg+xml")


def test_post_without_csrf_token_is_refused_and_writes_nothing(web, demo_event, session):
    before = written(session)
    response = web.post(FORM, data=form_fields())
    assert response.status_code == 403
    assert "انتهت صلاحية النموذج" in response.get_data(as_text=True)
    assert written(session) == before


def test_post_with_a_forged_csrf_token_is_refused(web, demo_event, session):
    web.get(FORM)
    response = web.post(FORM, data={**form_fields(), "csrf_token": "forged.token.value"})
    assert response.status_code == 403
    assert written(session) == (0, 0)


def test_form_errors_are_shown_in_arabic_next_to_fields_keeping_values(web, demo_event, session):
    fields = form_fields(email="not-an-email", full_name_ar="سارة علي", phone="12345")
    del fields["gender"], fields["consent"]
    response = submit(web, FORM, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "يرجى تصحيح الحقول أدناه." in html
    assert error_after("email", "البريد الإلكتروني غير صحيح.", html)
    assert error_after("phone", "رقم الهاتف غير صحيح", html)
    assert html.count(REQUIRED_AR) == 1  # gender
    assert error_after("consent", CONSENT_AR, html)
    assert 'value="سارة علي"' in html
    assert 'value="not-an-email"' in html
    assert re.search(r'<option value="IWED"\s+selected>', html)
    assert written(session) == (0, 0)


def test_form_errors_are_in_english_when_english_is_chosen(web, demo_event):
    fields = {k: v for k, v in form_fields(email="nope").items() if k != "consent"}
    web.get("/?lang=en")
    html = submit(web, FORM, fields).get_data(as_text=True)
    assert error_after("email", "Not a valid email address.", html)
    assert error_after(
        "consent", "Consent to the processing of your data is required to register.", html
    )


def test_a_form_wrong_everywhere_shows_every_error_at_once(web, demo_event, session):
    fields = {
        "full_name_ar": " ",
        "full_name_en": "",
        "job_title": "J" * 201,
        "agency": "",
        "email": "not-an-email",
        "phone": "12345",
        "gender": "other",
        "language": "fr",
        "channel": "fax",
    }
    response = submit(web, FORM, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_after("full_name_ar", "أدخل الاسم الكامل بالعربية أو بالأحرف اللاتينية.", html)
    assert error_after("agency", "اختر جهة من جهات هذا المؤتمر.", html)
    assert error_after("job_title", "الحد الأقصى 200 حرفاً.", html)
    assert error_after("email", "البريد الإلكتروني غير صحيح.", html)
    assert error_after("phone", "رقم الهاتف غير صحيح", html)
    for name in ("gender", "language", "channel"):
        assert error_after(name, "يجب أن تكون إحدى القيم:", html), name
    assert error_after("consent", CONSENT_AR, html)
    assert written(session) == (0, 0)


def test_form_shows_a_duplicate_registration_next_to_the_contact_fields(web, demo_event, session):
    register(web)
    response = submit(web, FORM, form_fields(phone="0781 234 5678"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_after(
        "email", "يوجد تسجيل فعّال في هذا المؤتمر بهذا البريد الإلكتروني أو رقم الهاتف.", html
    )
    assert error_after(
        "phone", "يوجد تسجيل فعّال في هذا المؤتمر بهذا البريد الإلكتروني أو رقم الهاتف.", html
    )
    assert "يرجى تصحيح الحقول أدناه." not in html  # no typing mistake: the person is registered
    assert written(session) == (1, 1)


def test_form_shows_a_full_agency_next_to_the_agency_choice(web, demo_event, session):
    operations.update_agency(
        session, operations.get_agency(session, demo_event, "MOE"), {"quota": 0}
    )
    session.commit()
    response = submit(web, FORM, form_fields(agency="MOE"))
    assert response.status_code == 422
    assert error_after("agency", "لم يتبقَّ مقاعد مخصصة لهذه الجهة.", response.get_data(as_text=True))
    assert written(session) == (0, 0)


# --- agency focal-point form ---------------------------------------------------------------------


def test_agency_link_form_fixes_the_agency(web, demo_event, session, ctx):
    url = agency_form(ctx, session, demo_event, "WLI")
    html = web.get(url).get_data(as_text=True)
    assert "التسجيل عن" in html
    assert "معهد المرأة القيادية" in html
    assert '<select id="agency"' not in html
    response = submit(web, url, form_fields(agency="MOE"))
    assert response.status_code == 303
    assert only_registration(session).agency.code == "WLI"
    assert (seats(session, "WLI"), seats(session, "MOE")) == (1, 0)


def test_agency_link_form_says_who_was_registered_but_never_shows_their_private_link(
    web, demo_event, session, ctx
):
    # Whoever holds a delegate's link can change their contact details: only the delegate gets it.
    url = agency_form(ctx, session, demo_event, "WLI")
    response = submit(web, url, form_fields(channel="both"))
    assert (response.status_code, response.headers["Location"]) == (303, url)
    html = web.get(url).get_data(as_text=True)
    registered = only_registration(session)
    assert f"تمّ تسجيل {registered.full_name_ar}" in html and "البريد والرسالة النصية" in html
    assert "/r/" not in html and urlsplit(ctx.delegate_link(registered)).path not in html
    assert 'name="full_name_ar"' in html and registered.email not in html  # empty, for the next
    assert "تمّ تسجيل" not in web.get(url).get_data(
        as_text=True
    )  # said once; a reload posts nothing


def test_agency_link_form_names_the_delegate_in_the_page_s_language(web, demo_event, session, ctx):
    url = agency_form(ctx, session, demo_event, "WLI")
    web.get(f"{url}?lang=en")
    submit(web, url, form_fields(full_name_en="Yusra Kareem"))
    assert "Yusra Kareem is registered" in web.get(url).get_data(as_text=True)


def test_agency_link_form_refuses_when_the_quota_is_used_up(web, demo_event, session, ctx):
    agency = operations.get_agency(session, demo_event, "CORDE")
    operations.update_agency(session, agency, {"quota": 0})
    session.commit()
    response = submit(web, agency_form(ctx, session, demo_event, "CORDE"), form_fields())
    assert response.status_code == 422
    assert "يرجى تصحيح الحقول أدناه." not in response.get_data(as_text=True)
    assert written(session) == (0, 0)
    assert seats(session, "CORDE") == 0


def test_agency_link_form_says_the_quota_is_used_up(web, demo_event, session, ctx):
    agency = operations.get_agency(session, demo_event, "CORDE")
    operations.update_agency(session, agency, {"quota": 0})
    session.commit()
    response = submit(web, agency_form(ctx, session, demo_event, "CORDE"), form_fields())
    assert "لم يتبقَّ مقاعد مخصصة لهذه الجهة." in response.get_data(as_text=True)


def test_agency_link_of_another_event_or_tampered_is_a_404(web, demo_event, session, ctx):
    url = agency_form(ctx, session, demo_event, "WLI")
    assert web.get(url[:-2] + "xx").status_code == 404
    other = operations.create_event(
        session,
        {
            "slug": "other-event",
            "name_ar": "مؤتمر آخر",
            "name_en": "Other",
            "venue_ar": "البصرة",
            "venue_en": "Basra",
            "timezone": "Asia/Baghdad",
            "days": [],
        },
    )
    session.commit()
    assert web.get(url.replace("wli-gbv-2023", other.slug)).status_code == 404


def test_agency_link_form_closes_with_the_public_form_and_says_so_up_front(
    web, demo_event, session, ctx
):
    url = agency_form(ctx, session, demo_event, "MOE")
    token = csrf_token(web.get(url).get_data(as_text=True))
    session.get(Event, demo_event.id).registration_closes_at = utcnow() - timedelta(minutes=1)
    session.commit()
    html = web.get(url).get_data(as_text=True)
    assert "أُغلق التسجيل في هذا المؤتمر." in html
    assert 'name="full_name_ar"' not in html
    response = web.post(url, data={**form_fields(), "csrf_token": token})
    assert response.status_code == 422
    assert "أُغلق التسجيل في هذا المؤتمر." in response.get_data(as_text=True)
    assert written(session) == (0, 0)


def test_agency_link_pages_are_not_cached(web, demo_event, session, ctx):
    url = agency_form(ctx, session, demo_event, "MOE")
    assert web.get(url).headers["Cache-Control"] == "private, no-store"
    refused = submit(web, url, form_fields(email="nope"))
    assert refused.status_code == 422
    assert refused.headers["Cache-Control"] == "private, no-store"
    registered = submit(web, url, form_fields())
    assert registered.status_code == 303
    assert registered.headers["Cache-Control"] == "private, no-store"


# --- self-service --------------------------------------------------------------------------------


def test_self_service_saves_a_new_phone_in_e164(web, demo_event, session):
    page = register(web)
    response = self_service(
        web, page, action="update", email="yusra@example.org", phone="0781-234-5678", channel="sms"
    )
    assert response.status_code == 200
    registration = only_registration(session)
    assert (registration.phone, registration.channel) == ("+9647812345678", "sms")
    assert registration.version == 2


LINK_MOVED_AR = "حفاظاً على أمانك لم يعد هذا الرابط يعمل"


@pytest.mark.parametrize(
    "change",
    [{"email": "yusra.k@example.org"}, {"phone": "0781-234-5678"}],
    ids=["email", "phone"],
)
def test_self_service_new_address_ends_the_old_link_and_badge(web, demo_event, session, change):
    page = register(web)
    fields = {"email": "yusra@example.org", "phone": "07701234567", "channel": "email"}
    response = self_service(web, page, action="update", **fields | change)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # Whoever is on the old link may be a stranger: told where the link went, shown nothing.
    assert LINK_MOVED_AR in html
    registration = only_registration(session)
    for private in (registration.email, registration.phone, "Yusra", "/r/", 'class="qr"'):
        assert private not in html
    assert (registration.badge_generation, registration.version) == (2, 2)
    for suffix in ("", "/badge.png", "/badge.svg"):
        refused = web.get(f"{page}{suffix}")
        assert refused.status_code == 404
        assert "هذا الرابط غير صالح أو أُلغي." in refused.get_data(as_text=True)


def test_self_service_same_addresses_keep_the_link(web, demo_event, session):
    page = register(web)
    fields = {"email": "YUSRA@example.org ", "phone": "0770 123 4567", "channel": "both"}
    response = self_service(web, page, action="update", language="en", **fields)
    assert response.status_code == 200
    assert "حُفظت بياناتك." in response.get_data(as_text=True)
    registration = only_registration(session)
    assert (registration.channel, registration.language, registration.version) == ("both", "en", 2)
    assert registration.badge_generation == 1
    assert web.get(page).status_code == 200


def test_self_service_refused_new_address_keeps_the_link(web, demo_event, session):
    page = register(web)
    before = written(session)
    response = self_service(web, page, action="update", email="not-an-address", channel="email")
    assert response.status_code == 422
    registration = only_registration(session)
    assert (registration.email, registration.badge_generation) == ("yusra@example.org", 1)
    assert written(session) == before
    assert web.get(page).status_code == 200


def test_self_service_refuses_an_invalid_phone_next_to_the_field(web, demo_event, session):
    page = register(web)
    response = self_service(web, page, action="update", phone="01 718 1234")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_after("phone", "أدخل رقم هاتف محمول يستقبل الرسائل النصية.", html)
    assert only_registration(session).phone == "+9647701234567"


def test_self_service_cannot_take_another_delegates_email(web, demo_event, session):
    page = register(web)
    register(web, **{**nth_delegate(2), "consent": "yes"})
    response = self_service(web, page, action="update", email="delegate2@example.org")
    assert response.status_code == 422
    assert (
        "يوجد تسجيل فعّال في هذا المؤتمر بهذا البريد الإلكتروني أو رقم الهاتف."
        in response.get_data(as_text=True)
    )


def test_self_service_cancel_needs_the_confirmation(web, upcoming_event, session):
    page = register(web)
    response = self_service(web, page, action="cancel")
    assert response.status_code == 422
    assert error_after("confirm", REQUIRED_AR, response.get_data(as_text=True))
    assert only_registration(session).status == "active"
    assert seats(session) == 1


def test_self_service_cancel_frees_the_seat_and_revokes_the_badge(web, upcoming_event, session):
    page = register(web)
    assert web.get(f"{page}/badge.png").status_code == 200
    response = self_service(web, page, action="cancel", confirm="yes")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "أُلغي تسجيلك." in html
    assert "هذا التسجيل ملغى؛ الشارة لم تعد صالحة." in html
    assert 'class="qr"' not in html
    assert only_registration(session).status == "cancelled"
    assert seats(session) == 0
    assert web.get(f"{page}/badge.png").status_code == 410
    assert web.get(f"{page}/badge.svg").status_code == 410
    later = web.get(page).get_data(as_text=True)
    assert "هذا التسجيل ملغى؛ الشارة لم تعد صالحة." in later
    assert 'name="action"' not in later


def test_self_service_post_without_csrf_token_changes_nothing(web, demo_event, session):
    page = register(web)
    response = web.post(page, data={"action": "cancel", "confirm": "yes"})
    assert response.status_code == 403
    assert only_registration(session).status == "active"


@pytest.mark.parametrize(
    "tamper",
    [
        # Not the last character: its low bits are base64 padding and may decode the same.
        lambda token: token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:],
        lambda token: "x" + token,
        lambda token: "not-a-token",
        lambda token: token * 12,
    ],
    ids=["signature-char", "prefixed", "garbage", "over-long"],
)
def test_tampered_private_link_is_a_404(web, demo_event, tamper):
    token = register(web).rsplit("/", 1)[-1]
    for suffix in ("", "/badge.png", "/badge.svg"):
        response = web.get(f"/r/{tamper(token)}{suffix}")
        assert response.status_code == 404
        assert "هذا الرابط غير صالح أو أُلغي." in response.get_data(as_text=True)


# --- escaping and headers ------------------------------------------------------------------------


def test_script_in_a_name_is_shown_escaped(web, demo_event):
    page = register(web, full_name_en="<script>alert(1)</script>", full_name_ar='"><img src=x>')
    html = web.get(page).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "<img src=x>" not in html


def test_script_in_a_rejected_form_value_is_shown_escaped(web, demo_event):
    fields = {k: v for k, v in form_fields(job_title="<script>alert(1)</script>").items()}
    del fields["consent"]
    html = submit(web, FORM, fields).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("path", ["/", FORM, "/e/nope/register", "/r/nope", "/healthz"])
def test_security_headers_are_on_every_page(web, demo_event, path):
    response = web.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_security_headers_are_on_the_badge_page_and_its_images(web, demo_event):
    page = register(web)
    for path in (page, f"{page}/badge.png"):
        headers = web.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("lang", "alt", "explained"),
    [
        ("ar", "رمز الاستجابة السريعة لشارتك", "هذه الصفحة رابطك الخاص"),
        ("en", "Your badge's QR code", "This page is your private link"),
    ],
)
def test_badge_page_explains_the_private_link_and_describes_the_qr(
    web, demo_event, lang, alt, explained
):
    page = register(web)
    html = web.get(f"{page}?lang={lang}").get_data(as_text=True)
    assert re.search(rf'<img class="qr"[^>]* alt="{re.escape(str(escape(alt)))}', html)
    assert explained in html
    assert 'alt="QR"' not in html


def option_names(html: str) -> list[str]:
    """The first name of each agency option, in the order offered."""
    return re.findall(r'<option value="[A-Z][^"]*"[^>]*>\s*([^<—]*?) —', html)


def test_english_form_lists_agencies_by_their_english_names_first(web, demo_event, session):
    agencies = session.scalars(select(Agency).where(Agency.event_id == demo_event.id)).all()
    english = option_names(web.get(f"{FORM}?lang=en").get_data(as_text=True))
    assert english == sorted((str(escape(a.name_en)) for a in agencies), key=str.lower)
    arabic = option_names(web.get(f"{FORM}?lang=ar").get_data(as_text=True))
    assert arabic == sorted(a.name_ar for a in agencies)


def test_badge_page_says_registered_only_on_arriving_from_the_form(web, demo_event):
    response = submit(web, FORM, form_fields())
    arrival = urlsplit(response.headers["Location"])
    page = f"{arrival.path}?{arrival.query}"
    assert "تم تسجيلك." in web.get(page).get_data(as_text=True)
    saved = self_service(web, page, action="update", job_title="Director").get_data(as_text=True)
    assert "حُفظت بياناتك." in saved
    assert "تم تسجيلك." not in saved


def test_self_service_offers_no_cancellation_once_the_event_started(web, demo_event, session):
    demo_event.days[0].day = utcnow().astimezone(ZoneInfo("Asia/Baghdad")).date()
    session.commit()
    html = web.get(register(web)).get_data(as_text=True)
    assert "بدأ المؤتمر: لم يعد بالإمكان إلغاء تسجيلك من هنا." in html
    assert 'value="cancel"' not in html
    assert 'value="update"' in html  # correcting contact details is still allowed


def test_self_service_after_the_event_says_it_is_over_and_refuses_in_the_card(web, demo_event):
    page = register(web)
    html = web.get(page).get_data(as_text=True)
    assert "انتهى المؤتمر: لم يعد بالإمكان إلغاء تسجيلك." in html
    assert 'value="cancel"' not in html
    refused = self_service(web, page, action="cancel", confirm="yes").get_data(as_text=True)
    in_card = r'<section class="card badge">\s*<h1>[^<]*</h1>\s*<p class="notice error"[^>]*>'
    card = in_card + "انتهى المؤتمر"
    assert re.search(card, refused)
