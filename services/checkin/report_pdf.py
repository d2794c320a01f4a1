"""The printable attendance summary: A4, Arabic shaped by HarfBuzz in Amiri (fpdf2), or English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import fontpkg_amiri
from fpdf import FPDF

from services.checkin.exports import local_text

FONT_DIR = Path(fontpkg_amiri.ROOT) / "files"
FAMILY = "amiri"
COLUMNS = (  # figure, width in mm
    ("quota", 16),
    ("registered", 20),
    ("attended", 20),
    ("attendance_rate", 20),
    ("no_shows", 18),
)
CODE_WIDTH, PAGE_WIDTH, MARGIN, ROW = 22.0, 210.0, 12.0, 6.5


def render(summary: dict, by_day: dict, lang: str, t: Callable[..., str]) -> bytes:
    """Totals, attendance per day, and the by-agency table, in the report's language."""
    pdf = _new_pdf(lang)
    pdf.add_page()
    _title(pdf, summary, lang, t)
    _table(pdf, [_total_row(summary, t)], lang, t, first=t("report.total"))
    _day_table(pdf, by_day, lang, t)
    _table(pdf, summary["rows"], lang, t, first=t("report.agency"))
    return bytes(pdf.output())


def _new_pdf(lang: str) -> FPDF:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, MARGIN)
    pdf.add_font(FAMILY, "", str(FONT_DIR / "Amiri-Regular.ttf"))
    pdf.add_font(FAMILY, "B", str(FONT_DIR / "Amiri-Bold.ttf"))
    pdf.set_text_shaping(True, direction="rtl" if lang == "ar" else "ltr")
    pdf.set_creator("Hudoor")
    return pdf


def _title(pdf: FPDF, summary: dict, lang: str, t) -> None:
    lines = [
        ("B", 15, t("report.title")),
        ("", 11, summary["event"][f"name_{lang}"]),
        ("", 11, t("report.generated", at=local_text(summary["generated_at"]))),
    ]
    for style, size, text in lines:
        pdf.set_font(FAMILY, style, size)
        pdf.multi_cell(
            0, size * 0.5, text, align="R" if lang == "ar" else "L", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(3)


def _total_row(summary: dict, t) -> dict:
    return {**summary["totals"], "agency": {"code": "", "name": t("report.all_agencies")}}


def _day_table(pdf: FPDF, by_day: dict, lang: str, t) -> None:
    rows = [{**row, "agency": {"code": "", "name": row["day"]}} for row in by_day["rows"]]
    _table(pdf, rows, lang, t, first=t("report.day"))


def _table(pdf: FPDF, rows: list[dict], lang: str, t, first: str) -> None:
    """A table: code, name, then the figures; columns run right to left in Arabic."""
    name_width = PAGE_WIDTH - 2 * MARGIN - CODE_WIDTH - sum(w for _, w in COLUMNS)
    widths = [CODE_WIDTH, name_width, *(w for _, w in COLUMNS)]
    titles = [t("report.agency_code"), first, *(t(f"report.{n}") for n, _ in COLUMNS)]
    pdf.set_font(FAMILY, "B", 9)
    _line(pdf, titles, widths, lang, fill=True)
    pdf.set_font(FAMILY, "", 9)
    for row in rows:
        _line(pdf, _cells(row, lang), widths, lang)
    pdf.ln(4)


def _cells(row: dict, lang: str) -> list[str]:
    agency = row["agency"]
    name = agency.get("name") or agency.get(f"name_{lang}") or agency.get("name_en", "")
    rate = row["attendance_rate"]
    figures = [
        "" if row["quota"] is None else str(row["quota"]),
        str(row["registered"]),
        str(row["attended"]),
        "" if rate is None else f"{rate * 100:.1f}%",
        str(row["no_shows"]),
    ]
    return [agency["code"], name, *figures]


def _line(pdf: FPDF, cells: list[str], widths: list[float], lang: str, fill=False) -> None:
    """One table row; text too wide for its column is cut short with an ellipsis."""
    pdf.set_fill_color(230, 236, 240)
    pairs = list(zip(cells, widths, strict=True))
    for text, width in reversed(pairs) if lang == "ar" else pairs:
        pdf.cell(width, ROW, _fit(pdf, text, width - 2), border=1, align="C", fill=fill)
    pdf.ln(ROW)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
