"""Account and management pages: log in, reset, tokens, invitations, delegation forms."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.registration.models import Event, OutboxMessage, Registration
from shared.access import SESSION_COOKIE
from shared.db import utcnow
from tests.services.registration.conftest import PASSWORD, nth_delegate, send_requested_resets
from tests.services.registration.test_views import csrf_token

pytestmark = pytest.mark.usefixtures("demo_event")
DELEGATION = "/manage/e/wli-gbv-2023/a/IWED"


def log_in(client, email: str, password: str = PASSWORD, next_page: str = ""):
    url = "/login" + (f"?next={next_page}" if next_page else "")
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def post_form(client, url: str, fields: dict, **kwargs):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={**fields, "csrf_token": token}, **kwargs)


def delegate_form(n: int) -> dict:
    fields = {**nth_delegate(n), "consent": "yes"}
    fields.pop("agency")
    return fields


def test_login_sets_an_http_only_session_cookie_and_goes_back(client, make_account):
    make_account("organizer", email="amal@example.org")
    answer = log_in(client, "amal@example.org", next_page="/manage/e/wli-gbv-2023")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/manage/e/wli-gbv-2023"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "Lax" in cookie


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/%09/evil.example/",
        "/%5Cevil.example",
        "https://evil.example/",
        "/%0d%0aX",
    ],
)
def test_login_never_redirects_to_another_site(client, make_account, target):
    make_account("organizer", email="amal@example.org")
    answer = log_in(client, "amal@example.org", next_page=target)
    assert answer.status_code == 303 and answer.headers["Location"] == "/manage"


def test_a_csrf_token_in_arabic_is_refused_not_a_crash(web, make_account):
    make_account("viewer", email="v@example.org")
    log_in(web, "v@example.org")
    answer = web.post("/api/v1/account/tokens", json={"label": "x"}, headers={"X-CSRF-Token": "é"})
    assert answer.status_code == 403 and answer.get_json()["code"] == "csrf_failed"


def test_wrong_password_shows_one_message_for_both_mistakes(client, make_account):
    make_account("organizer", email="amal@example.org")
    wrong = log_in(client, "amal@example.org", "not-the-password")
    unknown = log_in(client, "nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    message = "البريد الإلكتروني أو كلمة المرور غير صحيحة."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(web, make_account):
    make_account("organizer", email="amal@example.org")
    answer = web.post("/login", data={"email": "amal@example.org", "password": PASSWORD})
    assert answer.status_code == 403


def test_a_page_opened_without_a_session_sends_to_login(client):
    answer = client.get(DELEGATION, headers={"Accept": "text/html"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/login?next=%2Fmanage%2Fe%2Fwli-gbv-2023%2Fa%2FIWED"


def test_logout_ends_the_session_server_side(client, make_account):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    assert client.get("/account").status_code == 200
    stolen = client.get_cookie(SESSION_COOKIE).value
    post_form(client, "/account", {}, follow_redirects=False)  # any page with a token
    token = csrf_token(client.get("/account").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.set_cookie(SESSION_COOKIE, stolen)
    assert client.get("/account", headers={"Accept": "text/html"}).status_code == 303


def test_a_form_token_from_before_logging_in_is_refused_after_it(client, make_account):
    """A planted pre-login cookie (its form token known to whoever planted it) dies at login."""
    make_account("viewer", email="v@example.org")
    planted = csrf_token(client.get("/login").get_data(as_text=True))
    assert log_in(client, "v@example.org").status_code == 303
    forged = client.post("/account", data={"label": "forged", "csrf_token": planted})
    assert forged.status_code == 403
    assert "hdr_" not in forged.get_data(as_text=True)
    assert post_form(client, "/account", {"label": "mine"}).status_code == 200


def test_account_page_creates_shows_once_and_revokes_a_token(client, make_account):
    make_account("viewer", email="v@example.org")
    log_in(client, "v@example.org")
    created = post_form(client, "/account", {"label": "reports script"})
    assert "hdr_" in created.get_data(as_text=True)
    page = client.get("/account").get_data(as_text=True)
    assert "reports script" in page and "hdr_" not in page


def test_session_cookie_works_on_the_api_with_the_csrf_header_only(client, make_account):
    make_account("viewer", email="v@example.org")
    log_in(client, "v@example.org")
    assert client.get("/api/v1/account").status_code == 200
    refused = client.post("/api/v1/account/tokens", json={"label": "x"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "csrf_failed"


def test_forgot_password_page_says_the_same_for_any_address(client, session, ctx, make_account):
    make_account("organizer", email="amal@example.org")
    known = post_form(client, "/password/forgot", {"email": "amal@example.org"})
    unknown = post_form(client, "/password/forgot", {"email": "ghost@example.org"})
    assert known.get_data() == unknown.get_data()
    send_requested_resets(session, ctx)
    query = select(OutboxMessage).where(OutboxMessage.topic == "account.message")
    assert [m.payload["email"] for m in session.scalars(query)] == ["amal@example.org"]


def test_organizer_invites_from_the_event_page_and_the_invitee_accepts(
    client, session, make_account
):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    invite = {"agency": "IWED", "email": "noor@example.org", "name": "نور", "language": "ar"}
    answer = post_form(client, "/manage/e/wli-gbv-2023", invite)
    assert answer.status_code == 200 and "noor@example.org" in answer.get_data(as_text=True)
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "account.message"))
    link = message.payload["link"].removeprefix("http://hudoor.test")
    invitee = client.application.test_client()
    accepted = post_form(invitee, link, {"name": "Noor", "password": "Tigris-2023-delegation"})
    assert accepted.status_code == 303
    assert log_in(invitee, "noor@example.org", "Tigris-2023-delegation").status_code == 303
    assert invitee.get(DELEGATION).status_code == 200


def test_focal_point_page_registers_withdraws_and_substitutes(
    client, session, make_account, upcoming_event
):
    make_account("focal_point", email="noor@example.org", agency="IWED")
    log_in(client, "noor@example.org")
    assert (
        post_form(client, DELEGATION, {**delegate_form(1), "action": "register"}).status_code == 200
    )
    first = session.scalar(
        select(Registration).where(Registration.email == "delegate1@example.org")
    )
    fields = {**delegate_form(2), "action": "substitute", "registration": first.id}
    substituted = post_form(client, f"{DELEGATION}?substitute={first.id}", fields)
    assert substituted.status_code == 200, substituted.get_data(as_text=True)
    second = session.scalar(
        select(Registration).where(Registration.email == "delegate2@example.org")
    )
    withdrawn = post_form(client, DELEGATION, {"action": "withdraw", "registration": second.id})
    assert withdrawn.status_code == 200
    session.expire_all()
    assert (first.status, second.status) == ("cancelled", "cancelled")


def test_focal_point_page_shows_field_errors_in_arabic(client, make_account):
    make_account("focal_point", email="noor@example.org", agency="IWED")
    log_in(client, "noor@example.org")
    fields = {**delegate_form(1), "phone": "12", "action": "register"}
    answer = post_form(client, DELEGATION, fields)
    assert answer.status_code == 422
    assert "رقم الهاتف غير صحيح" in answer.get_data(as_text=True)


def test_focal_point_cannot_open_another_agencys_page_or_withdraw_its_delegates(
    client, session, make_account, ctx
):
    from services.registration.operations import get_event, register_delegate
    from services.registration.schemas import RegistrationSchema

    event = get_event(session, "wli-gbv-2023")
    other = register_delegate(
        session, ctx, event, RegistrationSchema().load(nth_delegate(9, agency="WED-KRK"))
    )
    session.commit()
    make_account("focal_point", email="noor@example.org", agency="IWED")
    log_in(client, "noor@example.org")
    assert client.get("/manage/e/wli-gbv-2023/a/WED-KRK").status_code == 403
    answer = post_form(client, DELEGATION, {"action": "withdraw", "registration": other.id})
    assert answer.status_code == 422 and "التسجيل غير موجود" in answer.get_data(as_text=True)
    session.expire_all()
    assert session.get(Registration, other.id).status == "active"


def test_upload_with_a_bad_row_names_the_row_and_writes_nothing(client, session, make_account):
    make_account("focal_point", email="noor@example.org", agency="IWED")
    log_in(client, "noor@example.org")
    csv = (
        "full_name_ar,email,phone,gender,consent\n"
        "أمل,amal1@example.org,07701234567,female,yes\n"
        "سارة,not-an-email,07701234568,female,yes\n"
    ).encode("utf-8-sig")
    token = csrf_token(client.get(DELEGATION).get_data(as_text=True))
    answer = client.post(
        DELEGATION,
        data={"action": "upload", "csrf_token": token, "file": (io.BytesIO(csv), "list.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert "الصف 3" in answer.get_data(as_text=True)
    assert (
        session.scalar(select(Registration).where(Registration.email == "amal1@example.org"))
        is None
    )


def test_viewer_cannot_open_management_pages(client, make_account):
    make_account("viewer", email="v@example.org")
    log_in(client, "v@example.org")
    assert client.get("/manage").status_code == 200
    assert client.get("/manage/e/wli-gbv-2023").status_code == 403
    assert client.get(DELEGATION).status_code == 403


def test_create_admin_command_makes_an_account_that_logs_in(app, client):
    runner = app.test_cli_runner()
    args = ["create-admin", "--email", "Root@Example.org", "--password", "Euphrates-1921-x"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert log_in(client, "root@example.org", "Euphrates-1921-x").status_code == 303
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "account_exists" in again.output


def test_create_admin_command_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "root@example.org", "--password", "short"]
    )
    assert result.exit_code != 0 and "password_too_short" in result.output


def test_create_admin_command_refuses_an_invalid_email_with_its_code_not_a_traceback(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "root@example.test", "--password", "Euphrates-1921-x"]
    )
    assert result.exit_code == 1 and "Error: email_invalid" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_organizer_withdraws_a_pending_invitation_from_the_event_page(
    client, session, make_account
):
    from services.registration.account_models import Invitation

    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    invite = {"agency": "IWED", "email": "typo@example.org", "name": "Noor", "language": "ar"}
    post_form(client, "/manage/e/wli-gbv-2023", invite)
    invitation = session.scalars(select(Invitation)).one()
    answer = post_form(client, "/manage/e/wli-gbv-2023", {"withdraw": invitation.id})
    assert answer.status_code == 200 and "سُحبت الدعوة" in answer.get_data(as_text=True)
    session.expire_all()
    assert invitation.revoked_at is not None


@pytest.mark.parametrize(
    "closes_at", [utcnow() - timedelta(hours=1), None], ids=["closing-time", "last-day"]
)
def test_delegation_page_says_closed_before_field_errors_and_lets_organizers_register_late(
    app, client, session, make_account, closes_at
):
    session.scalar(
        select(Event).where(Event.slug == "wli-gbv-2023")
    ).registration_closes_at = closes_at  # None: closed since its last day, in 2023
    session.commit()
    make_account("focal_point", email="noor@example.org", agency="IWED")
    make_account("organizer", email="amal@example.org")
    log_in(client, "noor@example.org")
    answer = post_form(
        client, DELEGATION, {**delegate_form(1), "phone": "12", "action": "register"}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "أُغلق التسجيل." in page and "رقم الهاتف غير صحيح" not in page
    organizer = app.test_client()
    log_in(organizer, "amal@example.org")
    late = post_form(organizer, DELEGATION, {**delegate_form(1), "action": "register"})
    assert late.status_code == 200
    assert session.scalar(select(Registration).where(Registration.email == "delegate1@example.org"))
