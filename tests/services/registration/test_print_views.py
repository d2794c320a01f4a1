"""Printing pages: an organizer prints an event's badges; a focal point prints their agency's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.models import Registration
from services.registration.operations import get_event, register_delegate
from services.registration.print_models import PrintJob
from services.registration.schemas import RegistrationSchema
from tests.services.registration.conftest import nth_delegate
from tests.services.registration.test_account_views import log_in, post_form

pytestmark = pytest.mark.usefixtures("demo_event")
BADGES = "/manage/e/wli-gbv-2023/badges"


@pytest.fixture
def delegates(session, ctx):
    """Two IWED delegates and one of Kirkuk."""
    event = get_event(session, "wli-gbv-2023")
    made = [
        register_delegate(session, ctx, event, RegistrationSchema().load(nth_delegate(n, **kw)))
        for n, kw in ((1, {}), (2, {}), (3, {"agency": "WED-KRK"}))
    ]
    session.commit()
    return made


def test_organizer_prints_an_agencys_badges_and_the_printing_is_logged(
    client, session, make_account, delegates
):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    fields = {"scope": "agency", "agency": "IWED", "layout": "a6"}
    answer = post_form(client, BADGES, fields)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    job = session.scalars(select(PrintJob)).one()
    assert sorted(job.badge_ids) == sorted(r.id for r in delegates[:2])
    assert "#" in client.get(BADGES).get_data(as_text=True)


def test_a_reprint_with_a_reason_reissues_every_badge(client, session, make_account, delegates):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    fields = {"scope": "all", "layout": "a4-cards", "reason": "الشارات تالفة"}
    assert post_form(client, BADGES, fields).status_code == 200
    session.expire_all()
    assert {r.badge_generation for r in session.scalars(select(Registration))} == {2}


def test_printing_nothing_is_explained_on_the_page(client, make_account):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    answer = post_form(client, BADGES, {"scope": "category", "category": "PRESS"})
    assert answer.status_code == 422
    assert "لا توجد شارة فعّالة مطابقة." in answer.get_data(as_text=True)


def test_focal_point_prints_their_agency_and_no_other(client, make_account, delegates):
    make_account("focal_point", email="noor@example.org", agency="IWED")
    log_in(client, "noor@example.org")
    mine = client.get("/manage/e/wli-gbv-2023/a/IWED/badges.pdf?layout=a4-cards")
    assert mine.status_code == 200 and mine.data.startswith(b"%PDF")
    other = client.get("/manage/e/wli-gbv-2023/a/WED-KRK/badges.pdf")
    assert other.status_code == 403
    assert client.get(BADGES).status_code == 403


def test_organizer_prints_badges_by_number_in_arabic_digits(
    client, session, make_account, delegates
):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    first = str(delegates[0].id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    answer = post_form(client, BADGES, {"scope": "ids", "ids": f"{first}، {delegates[2].id}"})
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    job = session.scalars(select(PrintJob)).one()
    assert sorted(job.badge_ids) == sorted([delegates[0].id, delegates[2].id])


def test_badge_numbers_that_are_not_numbers_are_refused_on_the_page(client, make_account):
    make_account("organizer", email="amal@example.org")
    log_in(client, "amal@example.org")
    answer = post_form(client, BADGES, {"scope": "ids", "ids": "12, abc"})
    assert answer.status_code == 422
