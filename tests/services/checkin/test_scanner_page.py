"""The door scanner page in headless Chromium: fake camera, hand scanner, offline queue."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import func, select

from services.checkin import operations
from services.checkin.app import create_app
from services.checkin.domain import local_date
from services.checkin.models import Checkin, CheckinList, Scan
from shared import qr
from shared.badge_tokens import BadgeKeyring
from shared.db import utcnow
from tests.services.checkin.browser import badge_frame, launch_chromium, live_server, write_y4m
from tests.services.checkin.conftest import EVENT_ID, bearer, roster_event, token

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)"
)
WAIT_MS = 15_000
NAME_AR = "د. يسرى كريم محسن العلاق"
OFFLINE_NAME_AR = "إسراء عبد الله"
# The page's texts, from the catalogue (Arabic is the default language).
OFFLINE_RECORDED = "سُجّل دون اتصال، ويُؤكَّد لاحقاً"
REVOKED = "شارة ملغاة (أُعيد إصدارها)"
CANCELLED = "التسجيل ملغى"
INVALID = "شارة غير صالحة"
TOO_SHORT = "اكتب 3 أحرف على الأقل من الاسم"


@dataclass
class Door:
    """A live check-in server with a roster, today's list and an enrolled door device."""

    base: str
    list_id: int
    enrol_url: str
    device_token: str
    factory: object

    def count(self, model, **where) -> int:
        """Rows of a check-in table matching column values, read from a fresh session."""
        with self.factory() as session:
            query = select(func.count()).select_from(model)
            for column, value in where.items():
                query = query.where(getattr(model, column) == value)
            return session.scalar(query)


@pytest.fixture
def door(committing_factory, config):
    """Committed data behind a real HTTP server; every table is emptied afterwards."""
    list_id = _prepare(committing_factory)
    with live_server(create_app(config, session_factory=committing_factory)) as base:
        enrolment = httpx.post(
            f"{base}/api/v1/events/{EVENT_ID}/devices",
            json={"gate": "north", "name": "Door 1"},
            headers=bearer("organizer"),
        ).json()
        yield Door(base, list_id, enrolment["enrol_url"], enrolment["token"], committing_factory)


def _prepare(factory) -> int:
    """Delegates 1 (camera), 2 (offline), 4 (reissued badge), 5 (cancelled); two lists today."""
    with factory() as session:
        operations.apply_roster_event(session, roster_event(1))
        operations.apply_roster_event(
            session, roster_event(2, name_ar=OFFLINE_NAME_AR, name_en="Israa Abdullah")
        )
        operations.apply_roster_event(session, roster_event(4, generation=2))
        operations.apply_roster_event(session, roster_event(5, status="cancelled"))
        # Two lists for today, so the page cannot pick one itself: scanning starts when the
        # test picks, and the answer's second on screen cannot pass unseen.
        today, hall = (_today_list(name) for name in (("اليوم", "Today"), ("القاعة", "Hall")))
        session.add_all([today, hall])
        session.commit()
        return today.id


def _today_list(names: tuple[str, str]) -> CheckinList:
    return CheckinList(
        event_id=EVENT_ID,
        name_ar=names[0],
        name_en=names[1],
        day=local_date(utcnow(), "Asia/Baghdad"),
        categories=None,
        created_at=utcnow(),
    )


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as driver:
        yield driver


def _open(browser, door: Door) -> Page:
    """Open the enrolment link in a fresh Arabic, Baghdad-time browser context."""
    context = browser.new_context(
        locale="ar-IQ", timezone_id="Asia/Baghdad", viewport={"width": 800, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(door.enrol_url)
    page.locator("#door").wait_for(state="visible")
    page.select_option("#list", str(door.list_id))
    return page


def _wait_for_answer(page: Page, light: str, text: str) -> None:
    """Wait (polling every frame: the answer shows for about a second) for a given answer."""
    try:
        page.wait_for_function(
            """([light, text]) => {
                const answer = document.getElementById("answer");
                return !answer.hidden && answer.classList.contains(`light-${light}`)
                    && answer.textContent.includes(text);
            }""",
            arg=[light, text],
            polling="raf",
            timeout=WAIT_MS,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"no {light} answer with {text!r}; page: {_state(page)}") from None


def _state(page: Page) -> dict:
    """What the page shows of its camera and notices: why no answer came, when none did."""
    return page.evaluate(
        """() => {
            const video = document.getElementById("camera");
            return {
                camera: document.getElementById("camera-status").textContent,
                notice: document.getElementById("door-notice").textContent,
                video: [video.readyState, video.videoWidth, video.videoHeight, video.paused],
                answer: document.getElementById("answer").textContent.trim().slice(0, 80),
            };
        }"""
    )


def _wedge_scan(page: Page, text: str) -> None:
    """Type a token and Enter into the hand-scanner field, as a USB scanner does."""
    page.locator("#wedge").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


@needs_chromium
def test_a_badge_shown_to_the_camera_checks_in_once(playwright, door, tmp_path):
    video = write_y4m(badge_frame(qr.qr_png(token(1))), tmp_path / "badge.y4m")
    browser = launch_chromium(playwright, video)
    try:
        page = _open(browser, door)
        _wait_for_answer(page, "green", NAME_AR)
        assert "#token=" not in page.url  # the token left the address bar
        _screenshot_answer(page, tmp_path / "scanner.png")
        time.sleep(3.5)  # the badge stays in view past the debounce: no second scan
        assert door.count(Checkin, badge_id=1) == 1
        assert door.count(Scan, badge_id=1) == 1
    finally:
        browser.close()


def _screenshot_answer(page: Page, path: Path) -> None:
    """Screenshot the last answer (shown again: it hides itself after a second)."""
    page.evaluate("document.getElementById('answer').hidden = false")
    page.screenshot(path=path)


@pytest.fixture(scope="module")
def blank_camera(playwright, tmp_path_factory):
    """A browser whose camera sees a white wall (scans come from the hand scanner)."""
    video = write_y4m(badge_frame(None), tmp_path_factory.mktemp("video") / "blank.y4m", 4)
    browser = launch_chromium(playwright, video)
    yield browser
    browser.close()


@pytest.fixture
def page(blank_camera, door):
    """The enrolled scanner page, in a browser whose camera sees no badge."""
    opened = _open(blank_camera, door)
    yield opened
    opened.context.close()


@needs_chromium
def test_a_scan_while_offline_is_queued_and_sent_once_when_back(page, door):
    page.context.set_offline(True)
    _wedge_scan(page, token(2))
    _wait_for_answer(page, "amber", OFFLINE_RECORDED)
    # Checked offline against the cached public key (Ed25519 in WebCrypto): a forgery is red.
    _wedge_scan(page, BadgeKeyring.generate(1).sign(EVENT_ID, 3, 1))
    _wait_for_answer(page, "red", INVALID)
    assert page.locator("#pending").text_content().endswith("2")
    assert door.count(Scan) == 0
    page.context.set_offline(False)
    page.locator("#pending").wait_for(state="hidden")
    assert door.count(Checkin, badge_id=2) == 1
    with door.factory() as session:
        scans = session.scalars(select(Scan).order_by(Scan.id)).all()
    assert [(s.badge_id, s.status, s.offline) for s in scans] == [
        (2, "ok", True),
        (None, "invalid", True),
    ]
    page.locator("#recent li.light-green", has_text=OFFLINE_NAME_AR).wait_for()


@needs_chromium
def test_a_lost_reply_is_resent_with_its_nonce_and_counted_once(page, door):
    sent = []

    def lose_first_reply(route):
        sent.append(route.request.post_data_json["nonce"])
        response = route.fetch()  # the server records the scan...
        if len(sent) == 1:
            route.abort("connectionreset")  # ...but the door never hears back
        else:
            route.fulfill(response=response)

    page.route("**/api/v1/scans", lose_first_reply)
    _wedge_scan(page, token(2))
    _wait_for_answer(page, "amber", OFFLINE_RECORDED)
    page.locator("#pending").wait_for(state="hidden")
    assert len(sent) == 2 and sent[0] == sent[1]
    assert door.count(Checkin, badge_id=2) == 1
    assert door.count(Scan, badge_id=2) == 1


@needs_chromium
def test_hand_scanned_reissued_and_cancelled_badges_show_red(page, door):
    _wedge_scan(page, token(4, generation=1).lower())  # scanners may type lowercase
    _wait_for_answer(page, "red", REVOKED)
    _wedge_scan(page, token(5))
    _wait_for_answer(page, "red", CANCELLED)
    assert door.count(Checkin) == 0
    assert door.count(Scan, status="revoked") == 1


@needs_chromium
def test_manual_search_checks_in_by_badge_id(page, door):
    page.click("#tab-search")
    page.fill("#search-q", "اسراء")
    page.press("#search-q", "Enter")
    page.locator("#results li", has_text=OFFLINE_NAME_AR).get_by_role("button").click()
    _wait_for_answer(page, "green", OFFLINE_NAME_AR)
    assert door.count(Checkin, badge_id=2) == 1


@needs_chromium
def test_a_search_too_short_says_why_instead_of_no_results(page, door):
    page.click("#tab-search")
    page.fill("#search-q", "لا أحد")
    page.press("#search-q", "Enter")
    page.locator("#search-empty").wait_for(state="visible")
    page.fill("#search-q", "يُـ")
    page.press("#search-q", "Enter")
    page.locator("#door-notice", has_text=TOO_SHORT).wait_for(state="visible")
    assert page.locator("#search-empty").is_hidden()
    assert page.locator("#results li").count() == 0


@needs_chromium
def test_without_a_token_the_page_asks_for_enrolment(blank_camera, door):
    context = blank_camera.new_context(locale="ar-IQ")
    page = context.new_page()
    page.goto(f"{door.base}/scan")
    page.locator("#enrol").wait_for(state="visible", timeout=WAIT_MS)
    page.fill("#enrol-token", door.enrol_url)  # pasting the whole link works too
    page.click("#enrol button[type=submit]")
    page.locator("#door").wait_for(state="visible", timeout=WAIT_MS)
    assert page.evaluate("localStorage.getItem('hudoor.scanner.token')") == (
        f'"{door.device_token}"'
    )
    page.select_option("#list", str(door.list_id))
    page.reload()  # the device stays enrolled and its list chosen
    page.locator("#door").wait_for(state="visible", timeout=WAIT_MS)
    assert page.input_value("#list") == str(door.list_id)
    context.close()


def test_the_page_carries_its_texts_and_no_inline_script(client):
    response = client.get("/scan")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert '<script type="application/json" id="scanner-texts">' in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert [s for s in scripts if " src=" not in s] == [
        '<script type="application/json" id="scanner-texts">'
    ]
    assert OFFLINE_RECORDED in html
    assert client.get("/static/vendor/zxing-library/LICENSE").status_code == 200


def test_a_device_reads_its_own_enrolment(client, roster):
    created = client.post(
        f"/api/v1/events/{EVENT_ID}/devices",
        json={"gate": "north", "name": "Door 1"},
        headers=bearer("organizer"),
    ).get_json()
    me = client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.status_code == 200
    assert me.get_json() == {
        "id": created["id"],
        "event_id": EVENT_ID,
        "gate": "north",
        "name": "Door 1",
    }
    assert client.get("/api/v1/devices/me", headers=bearer("organizer")).status_code == 403
