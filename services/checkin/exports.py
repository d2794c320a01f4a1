"""Attendance exports: CSV for Excel (UTF-8 with BOM) and an XLSX workbook (openpyxl)."""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from openpyxl import Workbook

# translate(code, **params) in the report's language.
Translate = Callable[..., str]
GENDERS = ("female", "male", "unspecified")
FIGURES = (
    "quota",
    "registered",
    "cancelled",
    "attended",
    "attendance_rate",
    "no_shows",
    "first_arrival",
    "last_arrival",
)
# XML 1.0 refuses these characters; a name typed with one must not break the workbook.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# openpyxl records the size it wrote (the header only); readers work the size out without it.
_DIMENSION = re.compile(r"<dimension [^>]*/>")


def headers(by: Iterable[str], t: Translate) -> list[str]:
    """Column titles of a report table in the report's language."""
    names = []
    for dimension in by:
        names += [t("report.agency_code"), t("report.agency")] if dimension == "agency" else []
        names += [] if dimension == "agency" else [t(f"report.{dimension}")]
    return names + [t(f"report.{name}") for name in FIGURES]


def plain(value):
    """A cell value a spreadsheet shows as text: one starting like a formula gets a quote first
    (an agency named =HYPERLINK(...) must not run in the organizer's Excel)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def table_row(row: dict, by: Iterable[str], lang: str, t: Translate) -> list:
    """One report row as cells: names in the report's language, times as local text."""
    return [plain(cell) for cell in _table_cells(row, by, lang, t)]


def _table_cells(row: dict, by: Iterable[str], lang: str, t: Translate) -> list:
    cells = []
    for dimension in by:
        value = row[dimension]
        if dimension == "agency":
            cells += [value["code"], _named(value, lang)]
        elif dimension == "category":
            cells.append(_named(value, lang))
        elif dimension == "gender":
            cells.append(t(f"report.gender.{value}") if value in GENDERS else value)
        else:
            cells.append(value)
    return cells + [_cell(row[name]) for name in FIGURES]


def _named(value: dict, lang: str) -> str:
    other = "en" if lang == "ar" else "ar"
    return value.get(f"name_{lang}") or value.get(f"name_{other}") or value.get("code", "")


def _cell(value):
    if isinstance(value, datetime):
        return local_text(value)
    if isinstance(value, float):
        return round(value * 100, 1)  # a rate, as a percentage
    return value


def local_text(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """A time as organizers read it: event-local, to the minute."""
    if value is None:
        return ""
    return (value.astimezone(zone) if zone else value).strftime("%Y-%m-%d %H:%M")


def to_csv(report: dict, lang: str, t: Translate) -> bytes:
    """The report table as CSV that Excel opens with Arabic intact (UTF-8 with BOM)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers(report["by"], t))
    for row in report["rows"]:
        writer.writerow(table_row(row, report["by"], lang, t))
    return text.getvalue().encode("utf-8-sig")


def to_xlsx(summary: dict, by_day: dict, people: Iterable, contact: bool, lang: str, t):
    """A workbook: summary by agency, a sheet per day, and every attendee (bytes)."""
    workbook = Workbook(write_only=True)
    _table_sheet(workbook, t("report.summary"), summary, lang, t, title=True)
    days = summary["event"]["days"]
    for number, day in enumerate(days, start=1):
        rows = [r for r in by_day["rows"] if r["day"] == day]
        name = t("report.day_sheet", number=number, day=day)
        _table_sheet(workbook, name, {**by_day, "by": ["agency"], "rows": rows}, lang, t)
    _attendee_header(_sheet(workbook, t("report.attendees"), lang), days, contact, t)
    buffer = io.BytesIO()
    workbook.save(buffer)
    zone = ZoneInfo(summary["event"]["timezone"])
    # The same few genders and statuses on every row: translate each once.
    labels = functools.cache(t)
    rows = (_attendee_cells(row, len(days), contact, lang, labels, zone) for row in people)
    return fill_sheet(buffer.getvalue(), len(workbook.worksheets), rows)


def _sheet(workbook: Workbook, title: str, lang: str):
    """A new sheet, right-to-left for Arabic; its title made valid for Excel."""
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", "-", title)[:31])
    sheet.sheet_view.rightToLeft = lang == "ar"
    return sheet


def _table_sheet(workbook, name: str, report: dict, lang: str, t: Translate, title=False):
    """A sheet with the report table; the summary adds a title block and a totals row."""
    sheet = _sheet(workbook, name, lang)
    sheet.column_dimensions["B"].width = 40
    if title:
        sheet.append([plain(_named(report["event"], lang))])
        sheet.append([t("report.generated", at=local_text(report["generated_at"]))])
        sheet.append([])
    sheet.append(headers(report["by"], t))
    for row in report["rows"]:
        sheet.append(table_row(row, report["by"], lang, t))
    if title:
        totals = [t("report.total"), t("report.all_agencies")]
        sheet.append(totals + [_cell(report["totals"][name]) for name in FIGURES])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ATTENDEE_COLUMNS = ("badge", "name_ar", "name_en", "agency_code", "agency", "category", "gender")


def _attendee_header(sheet, days: list[str], contact: bool, t: Translate) -> None:
    names = [*ATTENDEE_COLUMNS, "status", *(("email", "phone") if contact else ())]
    sheet.append([t(f"report.{n}") for n in names] + days + [t("report.days_attended")])
    sheet.freeze_panes = "A2"


def _attendee_cells(row, day_count: int, contact: bool, lang: str, t: Translate, zone) -> list:
    """One delegate: who, agency, category, status, contact, arrival time on each day."""
    arrivals = [_clock(at, zone) for at in row[len(row) - day_count :]]
    return [
        row.badge_id,
        row.full_name_ar or "",
        row.full_name_en or "",
        row.agency_code,
        _in_language(row, "agency_name", lang),
        _in_language(row, "category_name", lang),
        t(f"report.gender.{row.gender}") if row.gender in GENDERS else row.gender,
        t(f"report.status.{row.status}"),
        *((row.email or "", row.phone or "") if contact else ()),
        *arrivals,
        sum(1 for a in arrivals if a),
    ]


def _clock(at: datetime | None, zone: ZoneInfo) -> str:
    """An arrival as its event-local hour and minute (the day is the column's)."""
    if at is None:
        return ""
    local = at.astimezone(zone)
    return f"{local.hour:02d}:{local.minute:02d}"


def _in_language(row, name: str, lang: str) -> str:
    other = "en" if lang == "ar" else "ar"
    return getattr(row, f"{name}_{lang}") or getattr(row, f"{name}_{other}") or ""


def fill_sheet(xlsx: bytes, sheet_number: int, rows: Iterable[list]) -> bytes:
    """Write rows into an openpyxl sheet's XML after its header row (inline text cells)."""
    # openpyxl spends ~9 µs a cell: 100,000 attendees would take over ten seconds. These rows
    # are plain text and numbers, so they go straight into the sheet openpyxl laid out.
    name = f"xl/worksheets/sheet{sheet_number}.xml"
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == name:
                head, _, tail = _DIMENSION.sub("", data.decode()).partition("</sheetData>")
                data = (head + "".join(_row_xml(i, r) for i, r in enumerate(rows, 2))).encode()
                data += ("</sheetData>" + tail).encode()
            target.writestr(item, data)
    return output.getvalue()


def _row_xml(number: int, cells: list) -> str:
    parts = [f'<row r="{number}">']
    for value in cells:
        if isinstance(value, int | float):
            parts.append(f"<c><v>{value}</v></c>")
        elif value:
            parts.append(_text_cell(str(value)))
        else:
            parts.append("<c/>")
    parts.append("</row>")
    return "".join(parts)


@functools.lru_cache(maxsize=8192)
def _text_cell(value: str) -> str:
    """An inline text cell; agencies, categories, statuses and times repeat row after row."""
    text = escape(_NOT_XML.sub("", value))
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
