"""Printable bilingual badges: A6 and 86×54 mm card, alone or N-up on A4 with crop marks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import fontpkg_amiri
import fpdf.fpdf
import uharfbuzz
import zxingcpp
from fpdf import FPDF
from fpdf.bidi import auto_detect_base_direction
from fpdf.unicode_script import UnicodeScript, get_unicode_script

FONT_DIR = Path(fontpkg_amiri.ROOT) / "files"
FONTS = {"": "Amiri-Regular.ttf", "B": "Amiri-Bold.ttf"}
FAMILY = "amiri"
PT_TO_MM = 25.4 / 72
LINE_HEIGHT = 1.25
CROP_MARK = 4.0  # mm
FLOOR_SIZE = 4.0  # pt: below the slot's minimum only for text that fits nowhere else
_SPACES = re.compile(r"\s+")


@cache
def _script_with_marks_inherited(char: str) -> UnicodeScript:
    """fpdf2's script lookup, but combining marks (harakat) stay in their letters' run."""
    script = get_unicode_script(char)
    return UnicodeScript.COMMON if script == UnicodeScript.INHERITED else script


# fpdf2 2.8 starts a new text fragment at every "Inherited" character, so each haraka was shaped
# apart from its letters and a vowelled name came out in isolated forms (fixed here, for cell()).
fpdf.fpdf.get_unicode_script = _script_with_marks_inherited


@dataclass(frozen=True)
class Badge:
    """What one printed badge shows, already resolved from the database."""

    badge_id: int
    generation: int
    token: str
    name_ar: str
    name_en: str
    job_title: str
    agency_ar: str
    agency_en: str
    category_ar: str
    category_en: str
    color: str
    event_ar: str
    event_en: str
    dates_ar: str
    dates_en: str


@dataclass(frozen=True)
class Slot:
    """A text box of a badge design: field, box (mm), font sizes (pt), style, lines."""

    field: str
    x: float
    y: float
    w: float
    h: float
    size: float
    min_size: float
    style: str = ""
    lines: int = 1
    white: bool = False


@dataclass(frozen=True)
class Design:
    """A badge face: its size, text slots, QR box and category band (mm)."""

    width: float
    height: float
    slots: tuple[Slot, ...]
    qr: tuple[float, float, float]  # x, y, side including the quiet zone
    band: tuple[float, float]  # y, height


@dataclass(frozen=True)
class Layout:
    """A printable arrangement: page size and a grid of one design."""

    page: tuple[float, float]
    design: Design
    cols: int = 1
    rows: int = 1

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def origin(self) -> tuple[float, float]:
        """Top-left corner of the grid, centred on the page."""
        return (
            (self.page[0] - self.cols * self.design.width) / 2,
            (self.page[1] - self.rows * self.design.height) / 2,
        )


A6 = Design(
    105,
    148,
    (
        Slot("event_ar", 7, 5, 91, 10, 11, 7, "B", 2),
        Slot("event_en", 7, 15, 91, 7, 8, 5.5, "", 2),
        Slot("dates_en", 7, 22, 44, 5, 9, 6),
        Slot("dates_ar", 54, 22, 44, 5, 9, 6),
        Slot("name_ar", 5, 29, 95, 17, 28, 14, "B", 2),
        Slot("name_en", 5, 46, 95, 11, 18, 10, "B", 2),
        Slot("job_title", 7, 57, 91, 6, 12, 7),
        Slot("agency_ar", 7, 63, 91, 10, 12, 7, "B", 2),
        Slot("agency_en", 7, 73, 91, 7, 9, 6, "", 2),
        Slot("badge_ref", 7, 120, 91, 4, 7, 7),
        Slot("category_ar", 5, 126, 95, 11, 26, 14, "B", 1, True),
        Slot("category_en", 5, 137, 95, 8, 16, 10, "B", 1, True),
    ),
    qr=(32.5, 80, 40),
    band=(125, 23),
)
CARD = Design(
    86,
    54,
    (
        Slot("event_ar", 33, 2, 51, 5, 8, 5.5, "B"),
        Slot("event_en", 33, 7, 51, 3.5, 6, 4.5),
        Slot("name_ar", 33, 11, 51, 12, 17, 8, "B", 2),
        Slot("name_en", 33, 23, 51, 8, 12, 7, "B", 2),
        Slot("job_title", 33, 31, 51, 4, 8, 5.5),
        Slot("agency_ar", 33, 34.5, 51, 5.5, 8, 5, "B", 2),
        Slot("agency_en", 33, 40, 51, 5.5, 6, 4.5, "", 2),
        Slot("dates_ar", 2, 33, 30, 3.5, 6.5, 4.5),
        Slot("dates_en", 2, 36.5, 30, 3, 6, 4.5),
        Slot("badge_ref", 2, 40, 30, 3, 5, 5),
        Slot("category", 2, 46, 82, 8, 14, 7, "B", 1, True),
    ),
    qr=(2, 2, 30.5),
    band=(46, 8),
)
LAYOUTS = {
    "a6": Layout((105, 148), A6),
    "card": Layout((86, 54), CARD),
    "a4-a6": Layout((210, 297), A6, 2, 2),
    "a4-cards": Layout((210, 297), CARD, 2, 5),
}


def render(badges: Iterable[Badge], layout: str, progress: Callable[[int], None] | None = None):
    """Render badges into one PDF (bytes); `progress` is told the count after each badge."""
    sheet = LAYOUTS[layout]
    pdf = _new_pdf(sheet)
    for index, badge in enumerate(badges):
        slot = index % sheet.per_page
        if slot == 0:
            _new_page(pdf, sheet)
        x0, y0 = sheet.origin
        col, row = slot % sheet.cols, slot // sheet.cols
        draw_badge(
            pdf, sheet.design, badge, x0 + col * sheet.design.width, y0 + row * sheet.design.height
        )
        if progress is not None:
            progress(index + 1)
    return bytes(pdf.output())


def _new_pdf(sheet: Layout) -> FPDF:
    """An empty document in millimetres with the bundled fonts and shaping on."""
    pdf = FPDF(unit="mm", format=sheet.page)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.c_margin = 0
    for style, file_name in FONTS.items():
        pdf.add_font(FAMILY, style, str(FONT_DIR / file_name))
    pdf.set_text_shaping(True)
    pdf.set_creator("Hudoor")
    return pdf


def _new_page(pdf: FPDF, sheet: Layout) -> None:
    """Start a page; N-up sheets get crop marks."""
    pdf.add_page()
    if sheet.per_page > 1:
        crop_marks(pdf, sheet)


def draw_badge(pdf: FPDF, design: Design, badge: Badge, x: float, y: float) -> None:
    """Draw one badge with its top-left corner at (x, y)."""
    band_y, band_h = design.band
    pdf.set_fill_color(*hex_rgb(badge.color))
    pdf.rect(x, y + band_y, design.width, band_h, style="F")
    texts = badge_texts(badge)
    for slot in design.slots:
        text = texts.get(slot.field, "")
        if text:
            ink = band_ink(badge.color) if slot.white else (0, 0, 0)
            fit_text(pdf, text, slot, x, y, ink)
    qx, qy, side = design.qr
    draw_qr(pdf, badge.token, x + qx, y + qy, side)


def badge_texts(badge: Badge) -> dict[str, str]:
    """The text of each slot field, whitespace collapsed."""
    texts = {
        "badge_ref": f"#{badge.badge_id} · {badge.generation}",
        "category": _join(badge.category_ar, badge.category_en, " · "),
    }
    for name in Badge.__dataclass_fields__:
        value = getattr(badge, name)
        if isinstance(value, str):
            texts.setdefault(name, _SPACES.sub(" ", value).strip())
    return texts


def _join(first: str, second: str, separator: str) -> str:
    return separator.join(part for part in (first, second) if part)


def fit_text(pdf: FPDF, text: str, slot: Slot, x: float, y: float, ink) -> None:
    """Draw text centred in its slot: the largest size that fits, wrapped if allowed."""
    size, lines = fitting_lines(text, slot)
    pdf.set_font(FAMILY, slot.style, size)
    pdf.set_text_color(*ink)
    _shape_like(pdf, text)
    line_h = _line_height(size)
    top = y + slot.y + max(0.0, (slot.h - len(lines) * line_h) / 2)
    for index, line in enumerate(lines):
        pdf.set_xy(x + slot.x, top + index * line_h)
        pdf.cell(slot.w, line_h, line, align="C")


def _shape_like(pdf: FPDF, text: str) -> None:
    """Shaping for complex scripts, one base direction for all lines; plain ASCII is faster."""
    if text.isascii():
        pdf.set_text_shaping(False)
    else:
        pdf.set_text_shaping(True, direction=auto_detect_base_direction(text))


def fitting_lines(text: str, slot: Slot) -> tuple[float, list[str]]:
    """The largest font size (pt) at which the wrapped text fits the slot, and its lines."""
    size = slot.size
    while size > 1:
        lines = wrap(text, slot.style, size, slot.w - 0.5)
        if lines and _fits(lines, slot, size):
            return size, lines
        # Below the slot's minimum only for text that fits nowhere else (one endless word).
        size = size - 0.5 if size > slot.min_size else size * 0.9
    return size, [text]


def _fits(lines: list[str], slot: Slot, size: float) -> bool:
    """Few enough lines, and each no wider than the slot when shaped whole."""
    # Shaped whole, a mixed-script line can be wider than its words shaped one by one.
    if len(lines) > slot.lines or len(lines) * _line_height(size) > slot.h:
        return False
    return all(text_width(line, slot.style) * size <= slot.w - 0.5 for line in lines)


def _line_height(size: float) -> float:
    return size * PT_TO_MM * LINE_HEIGHT


def wrap(text: str, style: str, size: float, width: float) -> list[str] | None:
    """Greedy word wrap at this size; None if a single word is wider than the line."""
    lines: list[list[str]] = []
    used = 0.0
    space = text_width(" ", style) * size
    for word in text.split(" "):
        word_w = text_width(word, style) * size
        if word_w > width:
            return None
        if lines and used + space + word_w <= width:
            lines[-1].append(word)
            used += space + word_w
        else:
            lines.append([word])
            used = word_w
    return [" ".join(words) for words in lines]


@lru_cache(maxsize=8192)
def text_width(text: str, style: str = "") -> float:
    """The shaped width of text at 1 pt, in millimetres (HarfBuzz, as the PDF draws it)."""
    font, upem = _harfbuzz_font(style)
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    uharfbuzz.shape(font, buffer, {})
    return sum(p.x_advance for p in buffer.glyph_positions) / upem * PT_TO_MM


@cache
def _harfbuzz_font(style: str):
    face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(str(FONT_DIR / FONTS[style])))
    return uharfbuzz.Font(face), face.upem


def draw_qr(pdf: FPDF, token: str, x: float, y: float, side: float) -> None:
    """Draw the token's QR as vector squares on white, quiet zone included in `side`."""
    matrix = qr_matrix(token)
    module = side / len(matrix)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, side, side, style="F")
    pdf.set_fill_color(0, 0, 0)
    k, top = pdf.k, pdf.h
    squares = [
        f"{(x + start * module) * k:.3f} {(top - y - row * module) * k:.3f} "
        f"{length * module * k:.3f} {-module * k:.3f} re"
        for row, modules in enumerate(matrix)
        for start, length in _dark_runs(modules)
    ]
    # One filled path: fpdf2's rect() costs ~50 µs a call and a code has ~150 runs.
    pdf._out(" ".join(squares) + " f")


def qr_matrix(token: str) -> list[list[bool]]:
    """The QR modules of a badge token (level M, alphanumeric), quiet zone included."""
    # zxing-cpp encodes in under 1 ms; the pure-Python encoder takes 10-15 ms per code.
    code = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=True)
    width = image.shape[1]
    pixels = bytes(image)
    return [[p < 128 for p in pixels[i : i + width]] for i in range(0, len(pixels), width)]


def _dark_runs(row: list[bool]):
    """(start, length) of each horizontal run of dark modules."""
    start = None
    for index, dark in enumerate([*row, False]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            yield start, index - start
            start = None


def crop_marks(pdf: FPDF, sheet: Layout) -> None:
    """Thin marks on every cut line, in the margin, or inside the badge edge where none."""
    x0, y0 = sheet.origin
    design = sheet.design
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.15)
    xs = [x0 + i * design.width for i in range(sheet.cols + 1)]
    ys = [y0 + j * design.height for j in range(sheet.rows + 1)]
    for x in xs:
        for y_edge, outward in ((ys[0], -1), (ys[-1], 1)):
            a, b = _mark_span(y_edge, outward, y0)
            pdf.line(x, a, x, b)
    for y in ys:
        for x_edge, outward in ((xs[0], -1), (xs[-1], 1)):
            a, b = _mark_span(x_edge, outward, x0)
            pdf.line(a, y, b, y)


def _mark_span(edge: float, outward: int, margin: float) -> tuple[float, float]:
    """Endpoints of a mark off `edge`: outside the grid if the margin allows, else inside."""
    if margin >= CROP_MARK + 1:
        return edge + outward, edge + outward * (CROP_MARK + 1)
    return edge, edge - outward * CROP_MARK


def hex_rgb(color: str) -> tuple[int, int, int]:
    """#rrggbb as an (r, g, b) tuple."""
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def band_ink(color: str) -> tuple[int, int, int]:
    """Black or white text, whichever reads better on the category colour."""
    r, g, b = hex_rgb(color)
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255)
