"""The attendance dashboard: session login, live charts in headless Chromium, XLSX download."""

from __future__ import annotations

import io
import re
import shutil

import pytest
from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

from services.checkin.app import create_app
from shared.identity import issue_session
from tests.services.checkin.browser import CHROMIUM, CHROMIUM_ARGS, live_server
from tests.services.checkin.conftest import EVENT_ID, SECRET, bearer
from tests.services.checkin.generated_event import generate

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)"
)
PAGE = f"/events/{EVENT_ID}/dashboard"
WAIT_MS = 15_000


def session_cookie(role: str = "organizer", agencies=None) -> str:
    return issue_session(
        SECRET,
        subject=f"{role}@example.org",
        role=role,
        events=[EVENT_ID],
        token_id=f"session-{role}",
        agencies=agencies,
    )


def test_without_a_session_the_page_sends_the_browser_to_log_in(client):
    response = client.get(f"{PAGE}?lang=en")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/events/{EVENT_ID}/dashboard%3Flang%3Den"


def test_a_door_device_may_not_open_the_dashboard(client, session):
    generate(session)
    assert client.get(PAGE, headers=bearer("device")).status_code == 403


def test_the_page_shows_the_figures_with_no_inline_script(client, session):
    world = generate(session)
    client.set_cookie("hudoor_session", session_cookie())
    response = client.get(PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script[^>]*>", html)
    assert [s for s in scripts if " src=" not in s] == [
        '<script type="application/json" id="dashboard-settings">'
    ]
    registered = sum(1 for p in world.people if p.status == "active")
    assert f'<b id="tile-registered">{registered}</b>' in html
    assert html.count("<tr>") == 1 + len(world.agencies)
    assert client.get("/static/vendor/chartjs/LICENSE").status_code == 200


def test_a_focal_point_s_dashboard_lists_their_agency_only(client, session):
    generate(session)
    client.set_cookie("hudoor_session", session_cookie("focal_point", agencies=[102]))
    html = client.get(PAGE).get_data(as_text=True)
    assert "AG02" in html and "AG01" not in html


@pytest.fixture
def live(committing_factory, config):
    """The generated event committed behind a real HTTP server; tables emptied afterwards."""
    with committing_factory() as session:
        world = generate(session)
    with live_server(create_app(config, session_factory=committing_factory)) as base:
        yield base, world


@needs_chromium
def test_the_dashboard_draws_its_charts_and_downloads_the_workbook(live, tmp_path):
    base, world = live
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(locale="ar-IQ", accept_downloads=True)
            context.add_cookies(
                [{"name": "hudoor_session", "value": session_cookie(), "url": base}]
            )
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{base}{PAGE}")
            page.wait_for_function("() => Number(document.body.dataset.refreshes || 0) >= 1")
            for chart in ("chart-registrations", "chart-attendance", "chart-arrivals"):
                assert _drawn(page, chart), chart
            bars = page.evaluate(
                "Chart.getChart('chart-attendance').data.datasets[0].data.reduce((a, b) => a + b)"
            )
            assert bars == len({badge for badge, _ in world.arrived})
            page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
            with page.expect_download() as download:
                page.click("#download-xlsx")
            workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
            assert workbook.sheetnames[0] == "الملخص"
        finally:
            browser.close()


def _drawn(page, canvas_id: str) -> bool:
    """Whether a canvas has any painted pixel."""
    return page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
            return false;
        }""",
        canvas_id,
    )
