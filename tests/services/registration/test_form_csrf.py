"""Every form of the registration pages, posted by a signed-in browser from another site.

Each unsafe page route of the url_map must have a real form here (a new one fails the walk):
posted without a CSRF token, or with a wrong one, it is refused (403) and no row changes;
posted with the page's token, the same form is accepted and changes something.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from services.registration.models import Base, OutboxMessage
from services.registration.operations import accounts, get_agency, invitations
from shared.access import INFRASTRUCTURE
from tests.services.registration.conftest import PASSWORD, nth_delegate
from tests.services.registration.test_account_views import log_in

# A month ahead: delegates and focal points may still withdraw (a real form must act).
pytestmark = pytest.mark.usefixtures("upcoming_event")
ADMIN = "admin-forms@example.org"
EVENT = "wli-gbv-2023"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def delegate_form(n: int) -> dict:
    return {**nth_delegate(n), "consent": "yes"}


def snapshot(session) -> dict:
    """Every row of every registration table."""
    session.expire_all()
    tables = Base.metadata.tables.values()
    return {t.name: sorted(map(repr, session.execute(select(t)))) for t in tables}


def last_link(session) -> str:
    """The path of the link in the latest account message (reset or invitation)."""
    query = select(OutboxMessage).where(OutboxMessage.topic == "account.message")
    message = session.scalars(query.order_by(OutboxMessage.id.desc())).first()
    return urlsplit(message.payload["link"]).path


@pytest.fixture
def forms(session, ctx, demo_event, registered, make_account):
    """(url, fields) of a real, acting form for each unsafe page endpoint."""
    admin = make_account("admin", email=ADMIN)
    agency = get_agency(session, demo_event, "IWED")
    agency_link = urlsplit(ctx.agency_link(agency, demo_event)).path
    accounts.send_password_reset(session, ctx, ADMIN, "ar", request_id=uuid.uuid4().hex)
    session.commit()
    reset = last_link(session)
    invite = {"email": "noor@example.org", "name": "Noor", "language": "ar"}
    invitations.invite_focal_point(session, ctx, demo_event, agency, invite, admin.email)
    session.commit()
    return {
        "pages.register": (f"/e/{EVENT}/register", delegate_form(1)),
        "pages.register_for_agency": (agency_link, delegate_form(2)),
        "pages.badge": (
            urlsplit(ctx.delegate_link(registered)).path,
            {"action": "cancel", "confirm": "yes"},
        ),
        "account_pages.login": ("/login", {"email": ADMIN, "password": PASSWORD}),
        "account_pages.logout": ("/logout", {}),
        "account_pages.forgot_password": ("/password/forgot", {"email": ADMIN}),
        "account_pages.reset_password": (reset, {"password": "Euphrates-2023-reset"}),
        "account_pages.invitation": (last_link(session), {"name": "Noor", "password": PASSWORD}),
        "account_pages.account": ("/account", {"label": "forged"}),
        "manage_pages.event_page": (f"/manage/e/{EVENT}", {**invite, "agency": "IWED"}),
        "manage_pages.delegation_page": (
            f"/manage/e/{EVENT}/a/IWED",
            {"action": "withdraw", "registration": str(registered.id)},
        ),
        "print_pages.event_badges": (f"/manage/e/{EVENT}/badges", {"scope": "all"}),
    }


def page_token(client, url: str) -> str:
    """The CSRF token of the form at `url` (or of any page of the signed-in browser)."""
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else page_token(client, "/account")


def another_browsers_token(app) -> str:
    """A real CSRF token, but of another browser's session (an attacker's own)."""
    return page_token(app.test_client(), "/login")


def test_every_unsafe_page_route_has_a_form_in_this_walk(app, forms):
    unsafe = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods & UNSAFE and rule.endpoint not in INFRASTRUCTURE
        if not rule.rule.startswith("/api/")
    }
    assert unsafe == set(forms)


@pytest.mark.parametrize(
    "endpoint",
    [
        "pages.register",
        "pages.register_for_agency",
        "pages.badge",
        "account_pages.login",
        "account_pages.logout",
        "account_pages.forgot_password",
        "account_pages.reset_password",
        "account_pages.invitation",
        "account_pages.account",
        "manage_pages.event_page",
        "manage_pages.delegation_page",
        "print_pages.event_badges",
    ],
)
def test_a_forged_form_changes_nothing_and_the_real_one_acts(app, session, forms, endpoint):
    url, fields = forms[endpoint]
    client = app.test_client()
    assert log_in(client, ADMIN).status_code == 303
    before = snapshot(session)
    for token in (None, "forged", another_browsers_token(app)):
        data = fields if token is None else {**fields, "csrf_token": token}
        for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            answer = client.post(url, data=data, content_type=content_type)
            assert answer.status_code == 403, (token, content_type, answer.status_code)
            assert snapshot(session) == before
    answer = client.post(url, data={**fields, "csrf_token": page_token(client, url)})
    assert answer.status_code in (200, 302, 303), answer.get_data(as_text=True)[:500]
    assert snapshot(session) != before
