"""Headless Chromium: an organizer logs in and invites a focal point, who registers a delegate."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from services.registration.app import create_app
from services.registration.demo import load_demo
from services.registration.models import Base, OutboxMessage, Registration
from services.registration.operations import accounts
from shared.db import make_sessionmaker
from tests.services.checkin.browser import CHROMIUM, CHROMIUM_ARGS, live_server

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)
WAIT_MS = 15_000
ORGANIZER = ("amal@example.org", "Organizer-Baghdad-2023")


@pytest.fixture
def site(registration_db, config, ctx):
    """The registration app on committed data (demo event, one organizer), emptied afterwards."""
    factory = make_sessionmaker(registration_db.engine)
    try:
        with factory() as session:
            event = load_demo(session)
            data = {"email": ORGANIZER[0], "password": ORGANIZER[1], "name": "Amal"}
            accounts.create_account(session, ctx, data | {"role": "organizer"}, [(event.id, None)])
            session.commit()
        with live_server(create_app(config, session_factory=factory), prefix="") as base:
            yield base, factory
    finally:
        registration_db.truncate(Base.metadata)


@pytest.fixture
def browser():
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _page(browser) -> Page:
    context = browser.new_context(locale="ar-IQ", timezone_id="Asia/Baghdad")
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


def _log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _invitation_link(factory) -> str:
    with factory() as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == "account.message")
        return session.scalars(query).one().payload["link"]


@needs_chromium
def test_organizer_invites_a_focal_point_who_registers_a_delegate(site, browser, config):
    base, factory = site
    organizer = _page(browser)
    _log_in(organizer, base, *ORGANIZER)
    organizer.wait_for_url(f"{base}/manage")
    organizer.goto(f"{base}/manage/e/wli-gbv-2023")
    assert organizer.locator("html").get_attribute("dir") == "rtl"
    organizer.select_option("#agency", "IWED")
    organizer.fill("#name", "نور الهدى")
    organizer.fill("#email", "noor@example.org")
    organizer.click("#invite button[type=submit]")
    organizer.get_by_text("أُرسلت الدعوة إلى noor@example.org").wait_for()

    link = _invitation_link(factory).replace(config.public_base_url, base)
    focal = _page(browser)
    focal.goto(link)
    focal.fill("#password", "Noor-Tigris-2023")
    focal.click("button[type=submit]")
    focal.wait_for_url(f"{base}/login?next=/manage")
    _log_in(focal, base, "noor@example.org", "Noor-Tigris-2023")
    focal.get_by_role("link", name="دائرة تمكين المرأة العراقية").click()
    focal.locator("#register summary").click()
    focal.fill("#register #full_name_ar", "سارة جاسم محمد")
    focal.fill("#register #phone", "0770 555 1234")
    focal.check("#register input[name=gender][value=female]")
    focal.check("#register input[name=channel][value=sms]")
    focal.check("#register input[name=consent]")
    focal.click("#register button[type=submit]")
    focal.get_by_text("تم تسجيل سارة جاسم محمد.").wait_for()
    assert focal.locator("#delegates").get_by_text("سارة جاسم محمد").is_visible()
    with factory() as session:
        registration = session.scalars(select(Registration)).one()
        assert (registration.agency.code, registration.phone) == ("IWED", "+9647705551234")


@needs_chromium
def test_the_print_log_shows_a_batchs_progress_and_then_its_download(site, browser, tmp_path):
    base, factory = site
    job_id = _rendering_job(factory)
    page = _page(browser)
    _log_in(page, base, *ORGANIZER)
    page.wait_for_url(f"{base}/manage")
    page.goto(f"{base}/manage/e/wli-gbv-2023/badges")
    row = page.locator(f'#print-log tr[data-job="{job_id}"]')
    assert "rendering (3/10)" in row.inner_text()
    pdf = tmp_path / "batch.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    _finish(factory, job_id, 7, pdf)
    row.get_by_role("link", name="تنزيل").wait_for()


def _rendering_job(factory) -> int:
    from services.registration.models import Event
    from services.registration.print_models import PrintJob
    from shared.db import utcnow

    with factory() as session:
        event = session.scalars(select(Event)).one()
        job = PrintJob(
            event_id=event.id,
            layout="a4-cards",
            selection={"all": True},
            badge_ids=list(range(10)),
            status="rendering",
            done=3,
            total=10,
            created_by="test",
            created_at=utcnow(),
        )
        session.add(job)
        session.commit()
        return job.id


def _finish(factory, job_id: int, done: int, pdf) -> None:
    from services.registration.print_models import PrintJob

    with factory() as session:
        job = session.get(PrintJob, job_id)
        job.status, job.done, job.file_path = "done", 10, str(pdf)
        session.commit()
