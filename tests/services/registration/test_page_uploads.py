"""The delegation page's list upload: the API's limits (2 MB; CSV or XLSX), with its statuses."""

from __future__ import annotations

import io

import pytest

from services.registration import imports
from services.registration.imports_api import UPLOAD_LIMIT
from services.registration.models import Registration
from tests.services.registration.conftest import row_count
from tests.services.registration.test_account_views import DELEGATION, log_in
from tests.services.registration.test_views import csrf_token

pytestmark = pytest.mark.usefixtures("demo_event")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(2000)


@pytest.fixture
def focal_point(client, make_account):
    """A signed-in browser of IWED's focal point."""
    make_account("focal_point", email="noor@example.org", agency="IWED")
    assert log_in(client, "noor@example.org").status_code == 303
    return client


def upload(client, data: bytes, name: str = "list.csv"):
    token = csrf_token(client.get(DELEGATION).get_data(as_text=True))
    fields = {"action": "upload", "csrf_token": token, "file": (io.BytesIO(data), name)}
    return client.post(DELEGATION, data=fields, content_type="multipart/form-data")


def csv_rows(count: int) -> bytes:
    lines = ["full_name_ar,email,phone,gender,consent"]
    lines += [f"مشارك {n},d{n}@example.org,+96477{n:08d},female,yes" for n in range(count)]
    return "\n".join(lines).encode("utf-8-sig")


def test_a_picture_is_refused_as_415_on_the_page(focal_point, session):
    answer = upload(focal_point, PNG, "list.csv")
    assert answer.status_code == 415
    assert "<form" in answer.get_data(as_text=True)  # the page again, with the message
    assert row_count(session, Registration) == 0


def test_a_list_over_the_usual_body_limit_is_read_not_refused(focal_point, session):
    data = csv_rows(1500)
    assert len(data) > focal_point.application.config["MAX_CONTENT_LENGTH"]
    answer = upload(focal_point, data)
    assert answer.status_code == 422  # read, and refused for the quota, not for its size
    assert row_count(session, Registration) == 0


def test_an_oversized_list_is_413(focal_point, session):
    assert upload(focal_point, b"x" * (imports.MAX_BYTES + 1)).status_code == 413
    assert upload(focal_point, b"x" * UPLOAD_LIMIT).status_code == 413
    assert row_count(session, Registration) == 0
