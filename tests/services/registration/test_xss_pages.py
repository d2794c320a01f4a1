"""A delegate and an agency named like markup show as text on every page that shows them.

Checked twice: in the HTML (escaped) and in headless Chromium (no dialog fires, no CSP violation,
the names visible as typed).
"""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from services.registration.app import create_app
from services.registration.demo import load_demo
from services.registration.models import Agency, Base
from services.registration.operations import accounts, register_delegate
from services.registration.schemas import RegistrationSchema
from shared.db import make_sessionmaker
from tests.services.checkin.browser import CHROMIUM, CHROMIUM_ARGS, live_server
from tests.services.registration.conftest import delegate

needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
ADMIN = ("admin-xss@example.org", "Admin-Baghdad-2023")
EVENT = "/manage/e/wli-gbv-2023"
PAGES = (EVENT, f"{EVENT}/a/IWED", f"{EVENT}/badges", "/e/wli-gbv-2023/register")


def hostile_data(session, ctx) -> str:
    """An agency and a delegate named like markup; return the delegate's private page path."""
    event = load_demo(session)
    agency = session.scalar(
        select(Agency).where(Agency.event_id == event.id, Agency.code == "IWED")
    )
    agency.name_ar, agency.name_en = SCRIPT, IMAGE
    hostile = {"full_name_ar": SCRIPT, "full_name_en": IMAGE, "job_title": IMAGE}
    registration = register_delegate(
        session, ctx, event, RegistrationSchema().load(delegate(**hostile))
    )
    data = {"email": ADMIN[0], "password": ADMIN[1], "name": IMAGE, "role": "admin"}
    accounts.create_account(session, ctx, data, [])
    session.commit()
    return urlsplit(ctx.delegate_link(registration)).path


def test_pages_escape_hostile_names(client, session, ctx):
    from tests.services.registration.test_account_views import log_in

    badge_page = hostile_data(session, ctx)
    assert log_in(client, *ADMIN).status_code == 303
    for path in (badge_page, *PAGES):
        html = client.get(path).get_data(as_text=True)
        assert SCRIPT not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;img" in html, path


@pytest.fixture
def site(registration_db, config, ctx):
    """The app on committed hostile data behind a live server; emptied afterwards."""
    factory = make_sessionmaker(registration_db.engine)
    try:
        with factory() as session:
            badge_page = hostile_data(session, ctx)
        with live_server(create_app(config, session_factory=factory), prefix="") as base:
            yield base, badge_page
    finally:
        registration_db.truncate(Base.metadata)


@needs_chromium
def test_hostile_names_show_as_text_in_the_browser(site):
    base, badge_page = site
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = chromium.new_context(locale="ar-IQ").new_page()
        page.set_default_timeout(15_000)
        dialogs, violations = [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on(
            "console", lambda m: "Content Security Policy" in m.text and violations.append(m.text)
        )
        page.goto(f"{base}{badge_page}")
        assert page.get_by_text(SCRIPT, exact=True).first.is_visible()
        assert page.get_by_text(IMAGE, exact=True).first.is_visible()
        page.goto(f"{base}/login")
        page.fill("#email", ADMIN[0])
        page.fill("#password", ADMIN[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/manage")
        for path in PAGES:
            page.goto(f"{base}{path}")
            assert page.get_by_text(SCRIPT).count() + page.get_by_text(IMAGE).count() > 0, path
        chromium.close()
    assert dialogs == [] and violations == []
