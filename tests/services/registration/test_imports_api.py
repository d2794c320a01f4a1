"""POST /api/v1/events/<ref>/agencies/<code>/imports: delegation lists through the API."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.registration import imports
from services.registration.models import Agency, Event, OutboxMessage, Registration
from services.registration.tokens import create_api_token
from shared.access import SESSION_COOKIE
from shared.db import utcnow
from shared.identity import verify_session
from tests.services.registration.conftest import SECRET, row_count
from tests.services.registration.test_imports import (
    HEADER,
    csv_bytes,
    delegate_topics,
    person,
    with_stray_byte,
    xlsx_bytes,
    zip_bytes,
)

WLI_IMPORTS = "/api/v1/events/wli-gbv-2023/agencies/WLI/imports"
IWED_IMPORTS = "/api/v1/events/wli-gbv-2023/agencies/IWED/imports"
PROBLEM = "application/problem+json"


def upload(client, data: bytes, *, url=WLI_IMPORTS, name="list.csv", headers=None, **kw):
    """POST a file as the multipart field `file`."""
    body = {"file": (io.BytesIO(data), name, kw.pop("content_type", "text/csv"))}
    return client.post(url, data=body, content_type="multipart/form-data", headers=headers, **kw)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def nothing_written(session) -> bool:
    """No registration, delegate message or taken seat."""
    seats = session.scalar(select(Agency.registered_count).where(Agency.code == "WLI"))
    return row_count(session, Registration) == 0 and not delegate_topics(session) and seats == 0


@pytest.fixture
def focal_point(session, demo_event):
    """A bearer header of WLI's focal point (scoped to the demo event and that agency)."""
    wli = session.scalar(select(Agency).where(Agency.code == "WLI"))
    token = create_api_token(
        session,
        SECRET,
        label="WLI focal point",
        role="focal_point",
        event_ids=[demo_event.id],
        agency_ids=[wli.id],
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_list_registers_everyone_and_lists_them(client, session, focal_point):
    response = upload(
        client, xlsx_bytes([person(1), person(2)]), name="وفد.xlsx", headers=focal_point
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["count"] == 2 and body["ignored_columns"] == []
    assert [r["full_name_en"] for r in body["registrations"]] == ["Delegate 1", "Delegate 2"]
    assert {r["agency"]["code"] for r in body["registrations"]} == {"WLI"}
    assert all(r["badge"]["token"] for r in body["registrations"])
    # Each delegate's private link goes to the delegate's own address, not to the focal point.
    assert not any("self_service_url" in r for r in body["registrations"])
    assert row_count(session, Registration) == 2
    assert delegate_topics(session) == ["delegate.registered"] * 2
    assert session.scalar(select(Agency.registered_count).where(Agency.code == "WLI")) == 2


def test_one_bad_row_writes_nothing_and_names_row_and_field(client, session, focal_point):
    rows = [person(1), person(2), person(3, email="nobody@"), person(4)]
    response = upload(client, csv_bytes(rows), headers=focal_point | {"Accept-Language": "en"})
    body = problem(response, 422)
    assert body["code"] == "import_invalid"
    assert body["title"].startswith("The list has errors in 1 rows; nothing was registered")
    assert body["errors"] == [
        {
            "row": 4,
            "field": "email",
            "code": "email_invalid",
            "message": "Not a valid email address.",
        }
    ]
    assert nothing_written(session)
    arabic = problem(upload(client, csv_bytes(rows), headers=focal_point), 422)
    assert arabic["errors"][0]["message"] == "البريد الإلكتروني غير صحيح."


def test_a_utf8_list_with_a_stray_byte_is_refused_naming_row_and_column(
    client, session, focal_point
):
    rows = [[*person(1), "مديرة"], [*person(2), "Café manager"]]
    data = with_stray_byte(rows, [*HEADER, "job_title"])
    body = problem(upload(client, data, headers=focal_point | {"Accept-Language": "en"}), 422)
    assert body["code"] == "import_not_utf8" and "row 3" in body["title"]
    assert body["errors"] == [
        {
            "row": 3,
            "field": "job_title",
            "code": "import_row_not_utf8",
            "message": "This row is not valid UTF-8 (column G): save the file again as UTF-8 or "
            "as CSV (Arabic Windows).",
        }
    ]
    arabic = problem(upload(client, data, headers=focal_point), 422)
    assert arabic["errors"][0]["message"].startswith("هذا الصف ليس نصاً صالحاً بترميز UTF-8")
    assert nothing_written(session)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1256"])
def test_utf8_and_windows_1256_lists_keep_their_arabic_names(client, focal_point, encoding):
    rows = [person(1, full_name_ar="إيمان عبد الرحمن"), person(2, full_name_ar="علي حسن")]
    response = upload(client, csv_bytes(rows, encoding=encoding), headers=focal_point)
    assert response.status_code == 201, response.get_data(as_text=True)
    names = [r["full_name_ar"] for r in response.get_json()["registrations"]]
    assert names == ["إيمان عبد الرحمن", "علي حسن"]


def test_duplicates_within_the_file_are_refused(client, session, focal_point):
    rows = [person(1), person(2), person(3, email="Delegate1@Example.org")]
    body = problem(upload(client, csv_bytes(rows), headers=focal_point), 422)
    [error] = body["errors"]
    assert (error["row"], error["field"], error["code"]) == (4, "email", "import_duplicate_email")
    assert "2" in error["message"]
    assert nothing_written(session)


def test_a_batch_over_the_agency_quota_is_refused(client, session, auth, focal_point):
    response = client.patch(
        "/api/v1/events/wli-gbv-2023/agencies/WLI", json={"quota": 2}, headers=auth
    )
    assert response.status_code == 200
    rows = [person(n) for n in range(1, 4)]
    body = problem(upload(client, csv_bytes(rows), headers=focal_point), 409)
    assert body["code"] == "import_over_quota"
    assert "3" in body["title"] and "2" in body["title"]
    assert nothing_written(session)
    assert upload(client, csv_bytes(rows[:2]), headers=focal_point).status_code == 201


def test_an_oversized_upload_is_413(client, session, focal_point):
    big = csv_bytes([person(1)]) + b"x" * imports.MAX_BYTES
    body = problem(upload(client, big, headers=focal_point), 413)
    assert body["code"] == "import_too_large"
    rows = [person(n) for n in range(imports.MAX_ROWS + 1)]
    body = problem(upload(client, csv_bytes(rows), headers=focal_point), 413)
    assert body["code"] == "import_too_many_rows"
    assert nothing_written(session)


def test_a_list_larger_than_the_usual_body_limit_is_read(client, session, focal_point):
    rows = [person(n) for n in range(1, 801)]
    data = csv_bytes(rows)
    assert len(data) > client.application.config["MAX_CONTENT_LENGTH"]
    body = problem(upload(client, data, headers=focal_point), 409)
    assert body["code"] == "import_over_quota" and "800" in body["title"]
    assert nothing_written(session)


def test_a_focal_point_signed_in_with_a_cookie_uploads_with_the_csrf_header(
    client, session, demo_event
):
    wli = session.scalar(select(Agency).where(Agency.code == "WLI"))
    cookie = create_api_token(
        session,
        SECRET,
        label="WLI focal point",
        role="focal_point",
        event_ids=[demo_event.id],
        agency_ids=[wli.id],
        kind="session",
    )
    session.commit()
    client.set_cookie(SESSION_COOKIE, cookie)
    data = csv_bytes([person(1)])
    assert problem(upload(client, data), 403)["code"] == "csrf_failed"
    csrf = verify_session(SECRET, cookie, max_age=60).csrf
    response = upload(client, data, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "data,name,status,code",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), "list.csv", 415, "import_not_spreadsheet"),
        (zip_bytes(**{"photos/a.txt": "hello"}), "list.xlsx", 415, "import_zip_not_xlsx"),
        (bytes(range(256)) * 8, "list.csv", 415, "import_not_spreadsheet"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
            "list.xls",
            415,
            "import_xls_not_supported",
        ),
        (b"PK\x03\x04" + bytes(600), "list.xlsx", 422, "import_unreadable"),
        (b"", "list.csv", 422, "import_empty"),
        (csv_bytes([["Ali"]], header=["Name"]), "list.csv", 422, "import_missing_columns"),
    ],
)
def test_what_is_not_a_delegation_list_gets_a_specific_error(
    web, session, focal_point, data, name, status, code
):
    body = problem(upload(web, data, name=name, headers=focal_point), status)
    assert body["code"] == code and body["title"]
    assert nothing_written(session)


def test_missing_columns_are_named_in_the_title(client, focal_point):
    data = csv_bytes([["Ali", "male"]], header=["Name", "Gender"])
    body = problem(upload(client, data, headers=focal_point | {"Accept-Language": "en"}), 422)
    assert body["title"].startswith("The list lacks required columns: consent, email.")
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "consent"), (1, "email")]


def test_a_request_without_a_file_is_refused_clearly(client, focal_point):
    body = problem(client.post(WLI_IMPORTS, json={"rows": []}, headers=focal_point), 415)
    assert body["code"] == "import_not_multipart"
    response = client.post(
        WLI_IMPORTS, data={"other": "x"}, content_type="multipart/form-data", headers=focal_point
    )
    assert problem(response, 422)["errors"][0]["field"] == "file"


def test_a_focal_point_acts_for_their_own_agency_only(client, session, focal_point):
    assert problem(
        upload(client, csv_bytes([person(1)]), url=IWED_IMPORTS, headers=focal_point), 403
    )
    other_event = create_api_token(
        session, SECRET, label="x", role="focal_point", event_ids=[999], agency_ids=[1]
    )
    session.commit()
    header = {"Authorization": f"Bearer {other_event}"}
    assert upload(client, csv_bytes([person(1)]), headers=header).status_code == 403
    assert upload(client, csv_bytes([person(1)])).status_code == 401
    viewer = create_api_token(session, SECRET, label="v", role="viewer")
    session.commit()
    viewer_header = {"Authorization": f"Bearer {viewer}"}
    assert upload(client, csv_bytes([person(1)]), headers=viewer_header).status_code == 403
    assert nothing_written(session)


def test_organizers_may_import_late_and_with_other_categories(client, session, auth, focal_point):
    event = session.scalar(select(Event).where(Event.slug == "wli-gbv-2023"))
    event.registration_closes_at = utcnow() - timedelta(hours=1)
    session.commit()
    data = csv_bytes([[*person(1), "SPEAKER"]], header=[*HEADER, "category"])
    body = problem(upload(client, data, headers=focal_point), 409)
    assert body["code"] == "registration_closed"
    response = upload(client, data, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["registrations"][0]["category"]["code"] == "SPEAKER"


def test_a_retried_upload_with_its_idempotency_key_registers_once(client, session, focal_point):
    headers = focal_point | {"Idempotency-Key": "wli-list-1"}
    first = upload(client, csv_bytes([person(1)]), headers=headers)
    again = upload(client, csv_bytes([person(1)]), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert row_count(session, Registration) == 1
    other = upload(client, csv_bytes([person(2)]), headers=headers)
    assert problem(other, 422)["code"] == "idempotency_key_reused"


def test_the_template_downloads_and_comes_back_filled_in(client, session, focal_point):
    template = client.get("/api/v1/imports/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert "attachment" in template.headers["Content-Disposition"]
    assert template.data.startswith(b"\xef\xbb\xbf")
    filled = template.data + "سارة علي,,,,07701112222,أنثى,,,نعم\r\n".encode()
    response = upload(client, filled, headers=focal_point)
    assert response.status_code == 201, response.get_data(as_text=True)
    [registration] = response.get_json()["registrations"]
    assert (registration["phone"], registration["channel"]) == ("+9647701112222", "sms")
    assert session.scalars(select(OutboxMessage.topic)).all()[-1] == "delegate.registered"


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operation = paths["/api/v1/events/{ref}/agencies/{code}/imports"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "/api/v1/imports/template.csv" in paths
