"""Printable badges: every QR decodes from a 150 dpi raster, Arabic is shaped and in order,
long names fit, and the print API logs, queues, renders in the worker and reprints."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ImageOps
from sqlalchemy import select

from services.registration import printing, printing_api, printing_tasks
from services.registration.models import Agency, OutboxMessage, Registration
from services.registration.operations import register_delegate
from services.registration.print_models import DONE, FAILED, QUEUED, PrintJob
from services.registration.schemas import RegistrationSchema
from tests.qr_codes import read_qr_codes
from tests.services.registration.conftest import delegate, nth_delegate

DPI = 150
PRINTS = "/api/v1/events/wli-gbv-2023/badge-prints"
NAMES = {
    "mixed": ("منظمة Corde - العراق", "Corde Iraq"),
    "long": (
        "عبد الرحمن بن عبد الله بن محمد بن إبراهيم بن عبد العزيز آل الشيخ الحسيني البغدادي " * 2,
        "Abdul-Rahman bin Abdullah bin Mohammed bin Ibrahim Al-Husseini Al-Baghdadi " * 2,
    ),
    "latin_only": (None, "Jane Doe"),
    "arabic_only": ("زينب علي حسين", None),
    "diacritics": ("مُحَمَّد عَلِيّ", "Muhammad Ali"),
    "script": ("<script>alert(1)</script>", "<script>alert('x')</script>"),
    "kurdish": ("ڕێبوار ئەحمەد", "Rebwar Ahmed"),
}


def pages(pdf: bytes, dpi: int = DPI):
    """Each page of a PDF as a greyscale image at `dpi`."""
    document = pdfium.PdfDocument(pdf)
    return [page.render(scale=dpi / 72).to_pil().convert("L") for page in document]


def decoded(pdf: bytes) -> list[str]:
    """The text of every QR symbol found on every page at 150 dpi."""
    return [text for image in pages(pdf) for text in symbols(image)]


def symbols(image) -> list[str]:
    """Each QR on one page once: a second read of the same text at the same place is dropped.

    zxing-cpp may report one symbol twice (found by two detectors); the same text
    printed twice on a page still counts twice, being at two places.
    """
    kept: list[tuple[str, tuple[float, float]]] = []
    for code in read_qr_codes(image):
        centre = _centre(code.position)
        if not any(text == code.text and _near(centre, at) for text, at in kept):
            kept.append((code.text, centre))
    return [text for text, _ in kept]


def _centre(position) -> tuple[float, float]:
    a, b = position.top_left, position.bottom_right
    return (a.x + b.x) / 2, (a.y + b.y) / 2


def _near(a, b, limit: float = DPI / 4) -> bool:
    return abs(a[0] - b[0]) < limit and abs(a[1] - b[1]) < limit


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def register(session, ctx, event, payload):
    registration = register_delegate(
        session, ctx, event, RegistrationSchema().load(payload), privileged=True
    )
    session.flush()
    return registration


@pytest.fixture
def one_per_agency(session, ctx, demo_event):
    """A delegate in every agency of the demo event, some with awkward names."""
    agencies = session.scalars(select(Agency).where(Agency.event_id == demo_event.id)).all()
    names = list(NAMES.values())
    people = []
    for n, agency in enumerate(agencies):
        name_ar, name_en = names[n % len(names)]
        payload = delegate(
            full_name_ar=name_ar,
            full_name_en=name_en,
            agency=agency.code,
            email=f"agency{n}@example.org",
            phone=f"+96478{n:08d}",
        )
        people.append(register(session, ctx, demo_event, payload))
    session.commit()
    return people


@pytest.mark.parametrize("layout", list(printing.LAYOUTS))
def test_every_agency_badge_decodes_from_a_150_dpi_raster(layout, one_per_agency, ctx):
    pdf = printing.render(printing_tasks.badges(ctx, one_per_agency), layout)
    assert len({r.agency_id for r in one_per_agency}) == len(one_per_agency) >= 18
    assert sorted(decoded(pdf)) == sorted(ctx.badge_token(r) for r in one_per_agency)


def test_each_sheet_holds_its_grid_and_single_layouts_one_badge_a_page(one_per_agency, ctx):
    counts = {}
    for layout in printing.LAYOUTS:
        pdf = printing.render(printing_tasks.badges(ctx, one_per_agency), layout)
        counts[layout] = len(pdfium.PdfDocument(pdf))
    n = len(one_per_agency)
    assert counts == {"a6": n, "card": n, "a4-a6": -(-n // 4), "a4-cards": -(-n // 10)}


@pytest.mark.parametrize("design", [printing.A6, printing.CARD])
def test_the_qr_is_at_least_25_mm_with_its_quiet_zone(design, ctx):
    matrix = printing.qr_matrix(ctx.keyring.sign(1, 1, 1))
    assert not any(matrix[0]) and not any(row[0] for row in matrix)  # quiet zone is white
    module = design.qr[2] / len(matrix)
    assert (len(matrix) - 8) * module >= 25  # the symbol itself, quiet zone aside


def test_arabic_and_mixed_text_is_extracted_in_logical_order(ctx):
    badge = _badge(ctx, name_ar="د. يسرى كريم محسن العلاق", agency_ar="منظمة Corde - العراق")
    text = pdf_text(printing.render([badge], "a6"))
    assert "د. يسرى كريم محسن العلاق" in text
    assert "منظمة Corde - العراق" in text
    assert "Dr. Yusra Karim Mohsen Al-Alaq" in text


@pytest.mark.parametrize("name", ["مُحَمَّد عَلِيّ", "د. يسرى كريم محسن العلاق", "لؤي لمياء"])
def test_arabic_is_drawn_in_joined_forms_not_isolated_ones(name):
    joined = printing.text_width(name, "B") * 20
    isolated = sum(printing.text_width(letter, "B") for letter in name) * 20
    assert _shaped_glyphs(name) != [g for c in name for g in _shaped_glyphs(c)]
    width = _ink_width(name, 20)
    assert abs(width - joined) < 0.08 * joined
    assert width < 0.85 * isolated


def test_vowelled_names_keep_their_marks_on_the_letters():
    plain, vowelled = _ink_width("محمد علي", 20), _ink_width("مُحَمَّد عَلِيّ", 20)
    assert abs(plain - vowelled) < 0.05 * plain


def test_markup_in_names_is_printed_literally(ctx):
    badge = _badge(ctx, name_en="<script>alert(1)</script>", name_ar="<b>x</b>")
    text = pdf_text(printing.render([badge], "card"))
    assert "<script>alert(1)</script>" in text
    assert "<b>x</b>" in text


@pytest.mark.parametrize("design", [printing.A6, printing.CARD])
def test_a_200_character_name_shrinks_and_wraps_within_its_slot(design):
    name = ("عبد الرحمن محمد " * 20)[:200]
    slot = next(s for s in design.slots if s.field == "name_ar")
    size, lines = printing.fitting_lines(name, slot)
    assert len(lines) <= slot.lines
    assert len(lines) * printing._line_height(size) <= slot.h
    assert all(printing.text_width(line, slot.style) * size <= slot.w for line in lines)
    assert " ".join(lines) == name.strip()


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "Zs"]), max_size=200))
def test_any_name_fits_its_slot(name):
    name = " ".join(name.split())
    slot = next(s for s in printing.CARD.slots if s.field == "name_en")
    if not name:
        return
    size, lines = printing.fitting_lines(name, slot)
    assert all(printing.text_width(line, slot.style) * size <= slot.w for line in lines)


def test_dates_are_given_in_iraqi_arabic_month_names_and_english():
    from datetime import date

    assert printing_tasks.format_dates([date(2023, 2, 12)]) == ("12 شباط 2023", "12 February 2023")
    days = [date(2023, 2, 12), date(2023, 2, 13)]
    assert printing_tasks.format_dates(days) == ("12–13 شباط 2023", "12–13 February 2023")
    assert printing.band_ink("#1f6feb") == (255, 255, 255)
    assert printing.band_ink("#ffd33d") == (0, 0, 0)


# --- The print log and the worker's task, called directly with a session -------------------


def test_a_queued_job_renders_with_progress_to_a_file(session, ctx, demo_event, tmp_path):
    people = [register(session, ctx, demo_event, nth_delegate(n)) for n in range(12)]
    request = {"selection": {"all": True}, "layout": "a4-cards"}
    job = printing_tasks.record_printing(session, ctx, demo_event, people, request, "tester")
    printing_tasks.queue(job)
    session.commit()
    seen = []
    original = printing_tasks._progress

    def spy(session_, job_):
        report = original(session_, job_)
        return lambda count: (report(count), seen.append((job_.status, job_.done)))

    printing_tasks._progress = spy
    try:
        printing_tasks.run_job(session, ctx, job.id, tmp_path)
    finally:
        printing_tasks._progress = original
    assert (job.status, job.done, job.total) == (DONE, 12, 12)
    assert seen[0] == ("rendering", 1) and seen[-1] == ("rendering", 12)
    assert job.finished_at is not None and job.file_path.startswith(str(tmp_path))
    assert sorted(decoded(Path(job.file_path).read_bytes())) == sorted(
        ctx.badge_token(r) for r in people
    )


def test_a_failed_render_is_recorded(session, ctx, demo_event, tmp_path, monkeypatch):
    person = register(session, ctx, demo_event, delegate())
    request = {"selection": {"ids": [person.id]}, "layout": "bogus"}
    job = printing_tasks.record_printing(session, ctx, demo_event, [person], request, "tester")
    printing_tasks.queue(job)
    session.commit()
    with pytest.raises(KeyError):
        printing_tasks.run_job(session, ctx, job.id, tmp_path)
    assert job.status == FAILED and "bogus" in job.error


# --- The API ---------------------------------------------------------------------------------


def test_one_badge_pdf_is_logged_with_who_printed_it(client, auth, registered, ctx, session):
    for layout in ("a6", "card"):
        response = client.get(f"/api/v1/registrations/{registered.id}/badge.pdf?layout={layout}")
        assert response.status_code == 401
        response = client.get(
            f"/api/v1/registrations/{registered.id}/badge.pdf?layout={layout}", headers=auth
        )
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert decoded(response.data) == [ctx.badge_token(registered)]
    jobs = session.scalars(select(PrintJob).order_by(PrintJob.id)).all()
    assert [(j.layout, j.badge_ids, j.created_by, j.status) for j in jobs] == [
        ("a6", [registered.id], "test organizer", DONE),
        ("card", [registered.id], "test organizer", DONE),
    ]
    log = client.get(PRINTS, headers=auth).get_json()
    assert [entry["layout"] for entry in log] == ["card", "a6"]


def test_bad_requests_are_refused_with_reasons(client, auth, registered):
    cases = [
        ({"selection": {"all": True, "agency": "IWED"}}, 422, "validation_failed"),
        ({"selection": {"all": True}, "layout": "a3"}, 422, "validation_failed"),
        ({"selection": {"ids": [registered.id, 999999]}}, 422, "badges_not_printable"),
        ({"selection": {"agency": "NOPE"}}, 404, "agency_not_found"),
        ({"selection": {"category": "NOPE"}}, 422, "unknown_category"),
        ({"selection": {"category": "PRESS"}}, 409, "nothing_to_print"),
    ]
    for body, status, code in cases:
        response = client.post(PRINTS, json=body, headers=auth)
        assert (response.status_code, response.get_json()["code"]) == (status, code), body
    badge = f"/api/v1/registrations/{registered.id}/badge.pdf"
    assert client.get(badge + "?layout=a4-a6", headers=auth).status_code == 422
    assert client.get(badge + "?layout=card&lang=en", headers=auth).status_code == 200


def test_a_small_selection_comes_back_as_a_pdf(client, auth, session, ctx, demo_event):
    people = [register(session, ctx, demo_event, nth_delegate(n, agency="WLI")) for n in range(3)]
    register(session, ctx, demo_event, nth_delegate(9, agency="IWED"))
    session.commit()
    body = {"selection": {"agency": "WLI"}, "layout": "a4-cards"}
    response = client.post(PRINTS, json=body, headers=auth)
    assert response.status_code == 201 and response.mimetype == "application/pdf"
    assert sorted(decoded(response.data)) == sorted(ctx.badge_token(r) for r in people)
    job = session.get(PrintJob, int(response.headers["X-Print-Job"]))
    assert job.selection == {"agency": "WLI"} and job.badge_ids == [r.id for r in people]


def test_a_reprint_reissues_each_badge_and_revokes_the_old_qr(
    client, auth, registered, ctx, session
):
    old_token = ctx.badge_token(registered)
    body = {"selection": {"ids": [registered.id]}, "reprint": {"reason": "lost at the door"}}
    response = client.post(PRINTS, json=body, headers=auth)
    assert response.status_code == 201
    session.refresh(registered)
    assert registered.badge_generation == 2
    assert decoded(response.data) == [ctx.badge_token(registered)] != [old_token]
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "badge.reissued")
    ).one()
    assert message.badge_id == registered.id and "lost at the door" in str(message.payload)
    job = session.get(PrintJob, int(response.headers["X-Print-Job"]))
    assert job.reprint_reason == "lost at the door"
    missing_reason = {"selection": {"ids": [registered.id]}, "reprint": {}}
    assert client.post(PRINTS, json=missing_reason, headers=auth).status_code == 422


def test_a_large_selection_is_queued_polled_and_downloaded(
    client, auth, session, ctx, demo_event, tmp_path, monkeypatch
):
    people = _many(session, ctx, demo_event, printing_api.DIRECT_LIMIT + 1)
    queued = []
    monkeypatch.setattr(printing_api, "enqueue", queued.append)
    monkeypatch.setenv("HUDOOR_VAR_DIR", str(tmp_path))
    response = client.post(PRINTS, json={"selection": {"all": True}}, headers=auth)
    assert response.status_code == 202
    job = response.get_json()
    assert (job["status"], job["done"], job["total"]) == (QUEUED, 0, len(people))
    assert queued == [job["id"]] and job["created_by"] == "test organizer"
    status = f"/api/v1/badge-prints/{job['id']}"
    assert client.get(status + "/file", headers=auth).status_code == 409
    printing_tasks.run_job(session, ctx, job["id"], printing_tasks.prints_dir())
    polled = client.get(status, headers=auth).get_json()
    assert (polled["status"], polled["done"], polled["total"]) == (DONE, len(people), len(people))
    download = client.get(polled["file_url"], headers=auth)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert (
        download.headers["Cache-Control"] == "private, no-store" and "ETag" not in download.headers
    )
    assert len(decoded(download.data)) == len(people)


def test_a_broker_outage_fails_the_job_and_says_so(client, auth, session, ctx, demo_event):
    _many(session, ctx, demo_event, printing_api.DIRECT_LIMIT + 1)
    response = client.post(PRINTS, json={"selection": {"all": True}}, headers=auth)
    assert response.status_code == 503
    assert response.get_json()["code"] == "print_queue_unavailable"
    job = session.scalars(select(PrintJob)).one()
    assert (job.status, job.error) == (FAILED, "queue_unavailable")


def test_only_organizers_of_the_event_may_print(client, session, registered):
    from services.registration.tokens import create_api_token
    from tests.services.registration.conftest import SECRET

    others = {
        "focal_point": create_api_token(session, SECRET, label="fp", role="focal_point"),
        "other event": create_api_token(
            session, SECRET, label="x", role="organizer", event_ids=[registered.event_id + 1]
        ),
    }
    session.commit()
    for token in others.values():
        headers = {"Authorization": f"Bearer {token}"}
        badge = client.get(f"/api/v1/registrations/{registered.id}/badge.pdf", headers=headers)
        assert badge.status_code == 403
        response = client.post(PRINTS, json={"selection": {"all": True}}, headers=headers)
        assert response.status_code == 403


def test_the_agency_link_prints_no_badges(client, web, auth, session, ctx, demo_event):
    """The agency link is forwarded to delegates; a printed badge admits at the door."""
    from tests.services.registration.conftest import BASE_URL

    register(session, ctx, demo_event, nth_delegate(0, agency="WLI"))
    session.commit()
    link = client.get("/api/v1/events/wli-gbv-2023/agencies/WLI/link", headers=auth)
    form = link.get_json()["url"].removeprefix(BASE_URL)
    assert web.get(form).status_code == 200
    for path in (form + "/badges", form + "/badges.pdf", form + "/badges.pdf?layout=a4-a6"):
        response = web.get(path)
        assert response.status_code == 404 and response.mimetype != "application/pdf"
    assert session.scalars(select(PrintJob)).all() == []


# --- Helpers ---------------------------------------------------------------------------------


def _many(session, ctx, event, count: int) -> list[Registration]:
    """`count` delegates spread over the agencies (each has a quota)."""
    codes = session.scalars(select(Agency.code).where(Agency.event_id == event.id)).all()
    people = [
        register(session, ctx, event, nth_delegate(n, agency=codes[n % len(codes)]))
        for n in range(count)
    ]
    session.commit()
    return people


def _badge(ctx, **overrides) -> printing.Badge:
    fields = {
        "badge_id": 7,
        "generation": 1,
        "token": ctx.keyring.sign(1, 7, 1),
        "name_ar": "د. يسرى كريم محسن العلاق",
        "name_en": "Dr. Yusra Karim Mohsen Al-Alaq",
        "job_title": "Director General",
        "agency_ar": "دائرة تمكين المرأة العراقية",
        "agency_en": "Iraqi Women Empowerment Department",
        "category_ar": "مندوب",
        "category_en": "Delegate",
        "color": "#1f6feb",
        "event_ar": "مؤتمر",
        "event_en": "Conference",
        "dates_ar": "12 شباط 2023",
        "dates_en": "12 February 2023",
    }
    return printing.Badge(**(fields | overrides))


def _shaped_glyphs(text: str) -> list[int]:
    import uharfbuzz

    font, _ = printing._harfbuzz_font("B")
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    uharfbuzz.shape(font, buffer, {})
    return [info.codepoint for info in buffer.glyph_infos]


def _ink_width(text: str, size: float) -> float:
    """The width (mm) of the ink of one line of text as the PDF draws it, at 300 dpi."""
    slot = printing.Slot("x", 0, 0, 190, 20, size, size, "B")
    pdf = printing._new_pdf(printing.Layout((200, 30), printing.A6))
    pdf.add_page()
    printing.fit_text(pdf, text, slot, 5, 5, (0, 0, 0))
    image = pages(bytes(pdf.output()), dpi=300)[0]
    left, _, right, _ = ImageOps.invert(image).getbbox()
    return (right - left) * 25.4 / 300


# --- Through a real worker -------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_worker_renders_a_queued_batch(
    tmp_path, registration_db, notifications_db, checkin_db, redis_url
):
    from services.checkin.models import Base as CheckinBase
    from services.notifications.models import Base as NotificationsBase
    from services.registration.models import Base
    from tests.worker_process import wait_until

    app, worker, auth = _system(tmp_path, registration_db, notifications_db, checkin_db, redis_url)
    try:
        client = app.test_client()
        body = {"selection": {"all": True}, "layout": "a4-cards"}
        response = client.post(PRINTS, json=body, headers=auth)
        assert response.status_code == 202, response.get_json()
        status = f"/api/v1/badge-prints/{response.get_json()['id']}"

        def finished():
            job = client.get(status, headers=auth).get_json()
            return job if job["status"] in (DONE, FAILED) else None

        job = wait_until(finished, timeout=120, message="the print job finishing")
        assert (job["status"], job["done"], job["total"]) == (DONE, 60, 60), job
        download = client.get(job["file_url"], headers=auth)
        assert len(set(decoded(download.data))) == 60
    finally:
        worker.stop()
        registration_db.truncate(Base.metadata)
        notifications_db.truncate(NotificationsBase.metadata)
        checkin_db.truncate(CheckinBase.metadata)


def _system(tmp_path, registration_db, notifications_db, checkin_db, redis_url):
    """The registration app and a real worker sharing the test's databases and Redis."""
    import json

    from services.registration.app import create_app
    from services.registration.config import RegistrationConfig
    from services.registration.demo import load_demo
    from services.registration.tokens import create_api_token
    from shared.badge_tokens import BadgeKeyring
    from shared.db import make_sessionmaker
    from tests.services.registration.conftest import BASE_URL, SECRET
    from tests.worker_process import WorkerProcess

    keyring = BadgeKeyring.generate(key_id=1)
    factory = make_sessionmaker(registration_db.engine)
    config = RegistrationConfig(
        registration_db.url, redis_url, SECRET, keyring, BASE_URL, "ar", 65536
    )
    app = create_app(config, session_factory=factory)
    with factory() as session:
        _many(session, app.extensions["registration_context"], load_demo(session), 60)
        token = create_api_token(session, SECRET, label="worker test", role="organizer")
        session.commit()
    env = {
        "HUDOOR_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": SECRET,
        "REGISTRATION_DATABASE_URL": registration_db.url,
        "NOTIFICATIONS_DATABASE_URL": notifications_db.url,
        "CHECKIN_DATABASE_URL": checkin_db.url,
        "REDIS_URL": redis_url,
        "BADGE_SIGNING_KEYS": keyring.to_spec(),
        "BADGE_PUBLIC_KEYS": json.dumps(keyring.public_key_document()),
        "PUBLIC_BASE_URL": BASE_URL,
    }
    worker = WorkerProcess(env, tmp_path).start()
    return app, worker, {"Authorization": f"Bearer {token}"}
