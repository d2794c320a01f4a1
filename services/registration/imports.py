"""Reading an uploaded delegation list (CSV or XLSX) into rows of registration fields.

Pure: bytes in, rows out; no Flask, no session. The bytes decide the format, never the file's
name or declared type:

- XLSX (a ZIP holding `xl/workbook.xml`): the first worksheet, read with openpyxl (read-only,
  cached formula values). A ZIP that is not a workbook, an old `.xls` or a password-protected
  workbook (both OLE2 files), an image, a PDF or other binary is refused (415).
- CSV: UTF-8 with or without BOM when the bytes are strictly UTF-8, else Windows-1256 (Arabic
  Windows and Excel); UTF-16 with a BOM (Excel's "Unicode Text"). A UTF-8 file with stray bytes
  (a BOM, or most non-ASCII bytes valid UTF-8) is refused, naming the row and column of the
  first, never read as Windows-1256 mojibake. The delimiter is the comma, semicolon or tab found
  most often in the header line.

The header is the first non-blank row; row numbers are those the spreadsheet shows (header at 1).
Blank rows are skipped. A header cell names a field by its API name (`full_name_ar`), by the
form's Arabic or English label ("الاسم الكامل بالعربية", "Full name in Arabic"), by a common
synonym ("الهاتف", "Mobile", "E-mail"...), or by either half of "Arabic / English" as in the
template; letter case, hamza and spacing do not matter. Unknown columns are ignored and reported.

Columns: full_name_ar, full_name_en (one of the two), job_title, email, phone (one of the two),
gender (required: female/male/unspecified or أنثى/ذكر/...), language (ar/en, default ar),
channel (email/sms/both; blank: email, or sms when the row has only a phone), consent (required:
yes/نعم/true/1), category (code, organizers only), agency (optional; must be the list's agency).
Limits: 2 MB, 2,000 delegates, 50 columns. Phone numbers stored by Excel as numbers are read as
their digits. Values are validated afterwards by the registration schema, as the form's are.
"""

from __future__ import annotations

import csv
import io
import re
from codecs import BOM_UTF8
from dataclasses import dataclass, field

from services.registration.messages import MESSAGES
from services.registration.schemas import RegistrationSchema
from services.registration.workbooks import worksheet_rows
from shared.arabic import search_key
from shared.problems import DomainError, FieldError

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_COLUMNS = 50
# Blank but formatted rows count here: a workbook cannot make us walk millions of them.
MAX_SHEET_ROWS = 20 * MAX_ROWS
MAX_UNZIPPED = 40 * 1024 * 1024

COLUMNS = (
    "full_name_ar",
    "full_name_en",
    "job_title",
    "email",
    "phone",
    "gender",
    "language",
    "channel",
    "consent",
    "category",
    "agency",
)
TEMPLATE_COLUMNS = COLUMNS[:9]
# Columns of which one is needed; the schema's required fields (gender, consent) are needed too.
ONE_OF = (("full_name_ar", "full_name_en"), ("email", "phone"))
_LABELS = {name: f"form.{name}" for name in COLUMNS} | {
    "consent": "import.consent",
    "category": "badge.category",
}
_SYNONYMS = {
    "full_name_ar": ("الاسم", "الاسم الكامل", "الاسم بالعربية", "arabic name", "name in arabic"),
    "full_name_en": (
        "name",
        "full name",
        "english name",
        "name in english",
        "الاسم بالانكليزية",
        "الاسم بالإنجليزية",
        "الاسم بالانجليزي",
    ),
    "job_title": ("title", "position", "job", "المنصب", "الوظيفة", "العنوان الوظيفي"),
    "email": ("e-mail", "email address", "mail", "البريد", "الايميل", "البريد الالكتروني"),
    "phone": (
        "mobile",
        "mobile number",
        "phone number",
        "telephone",
        "tel",
        "الهاتف",
        "رقم الهاتف",
        "الموبايل",
        "رقم الموبايل",
        "الجوال",
        "رقم الجوال",
    ),
    "gender": ("sex", "الجنس"),
    "language": ("lang", "اللغة"),
    "channel": ("confirmation", "التأكيد", "طريقة التأكيد"),
    "consent": ("consent", "agree", "الموافقة", "موافقة"),
    "category": ("الفئة",),
    "agency": ("الجهة",),
}
_CHOICES = {
    "gender": ("female", "male", "unspecified"),
    "language": ("ar", "en"),
    "channel": ("email", "sms", "both"),
}
_CHOICE_SYNONYMS = {
    "f": "female",
    "m": "male",
    "arabic": "ar",
    "عربي": "ar",
    "english": "en",
    "انكليزي": "en",
    "الانكليزية": "en",
    "كلاهما": "both",
}
_YES = frozenset({"نعم", "موافق", "موافقة", "✓", "✔"})
_NO = frozenset({"لا"})
_SPLIT_HEADER = re.compile(r"[/|()\[\]\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HIGH_BYTES = re.compile(rb"[\x80-\xff]")
_DELIMITERS = (",", ";", "\t")
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_BINARY = (b"\x89PNG", b"%PDF", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")


@dataclass(frozen=True)
class Row:
    """One delegate's line: its number as the spreadsheet shows it, and its non-blank values."""

    number: int
    values: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    """The delegates of an uploaded list and the header cells that named no field."""

    rows: list[Row]
    ignored_columns: list[str] = field(default_factory=list)


def read_delegation(upload: bytes) -> Sheet:
    """Read an uploaded CSV or XLSX list into rows of field values, or refuse the file."""
    if len(upload) > MAX_BYTES:
        raise DomainError("import_too_large", kind="too_large", max_mb=MAX_BYTES // 2**20)
    if not upload.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DomainError("import_empty")
    numbered = [(n, cells) for n, cells in _records(upload) if any(c != "" for c in cells)]
    if not numbered:
        raise DomainError("import_empty")
    (_, header), body = numbered[0], numbered[1:]
    columns, ignored = map_header(header)
    if not body:
        raise DomainError("import_no_rows")
    return Sheet([_row(number, cells, columns) for number, cells in body], ignored)


def _records(upload: bytes) -> list[tuple[int, list[str]]]:
    """Every record of the file as (row number, cell texts), by the format its bytes show."""
    if upload.startswith(_ZIP):
        return _xlsx_records(upload)
    if upload.startswith(_OLE2):
        raise DomainError("import_xls_not_supported", kind="unsupported_media_type")
    if upload.startswith(_BINARY):
        raise DomainError("import_not_spreadsheet", kind="unsupported_media_type")
    return _csv_records(_decode(upload))


def _decode(upload: bytes) -> str:
    """Text of a CSV: UTF-16 by its BOM, UTF-8 (BOM or not), else Windows-1256."""
    text = _decoded(upload, "utf-16") if upload.startswith(_UTF16) else _decode_8bit(upload)
    if not text or _CONTROL.search(text):
        raise DomainError("import_not_spreadsheet", kind="unsupported_media_type")
    return text


def _decode_8bit(upload: bytes) -> str:
    """Strict UTF-8; a mostly UTF-8 file with stray bytes is refused, others are Windows-1256."""
    try:
        return upload.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        if _mostly_utf8(upload):
            raise _not_utf8(upload[: error.start]) from None
    # Python's cp1256 defines all 256 bytes: strict decoding cannot fail, and replaces nothing.
    return upload.decode("cp1256")


def _mostly_utf8(upload: bytes) -> bool:
    """Whether the file says it is UTF-8 (BOM) or most of its non-ASCII bytes are valid UTF-8."""
    valid = upload.decode("utf-8", errors="ignore").encode("utf-8")
    high_bytes = len(_HIGH_BYTES.findall(upload))
    return upload.startswith(BOM_UTF8) or 2 * len(_HIGH_BYTES.findall(valid)) > high_bytes


def _not_utf8(before: bytes) -> DomainError:
    """Refuse a UTF-8 list with a stray byte, naming the row and column that hold it."""
    records = _records_to_stray_byte(before)
    row, index = len(records), len(records[-1]) - 1
    header = next((cells for cells in records[:-1] if any(c.strip() for c in cells)), [])
    named = column_field(header[index]) if index < len(header) else None
    column = column_letters(index)
    error = DomainError("import_not_utf8", row=row)
    error.fields = [FieldError(named or column, "import_row_not_utf8", {"column": column}, row)]
    return error


def _records_to_stray_byte(before: bytes) -> list[list[str]]:
    """The CSV records up to a stray byte, the last one holding the byte (as a "?")."""
    text = before.decode("utf-8").removeprefix("\ufeff") + "?"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        return list(reader)
    except csv.Error:
        raise DomainError("import_unreadable") from None


def column_letters(index: int) -> str:
    """A column's name as a spreadsheet shows it: 0 is A, 26 is AA."""
    before, last = divmod(index, 26)
    return (column_letters(before - 1) if before else "") + chr(ord("A") + last)


def _decoded(upload: bytes, encoding: str) -> str | None:
    try:
        return upload.decode(encoding)
    except UnicodeDecodeError:
        return None


def _csv_records(text: str) -> list[tuple[int, list[str]]]:
    """Records of CSV text (a quoted cell may span lines: it is still one spreadsheet row)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        return _limited((n, row) for n, row in enumerate(reader, start=1))
    except csv.Error:
        raise DomainError("import_unreadable") from None


def _delimiter(text: str) -> str:
    """The comma, semicolon or tab found most often in the first non-blank line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max(_DELIMITERS, key=first.count)


def _xlsx_records(upload: bytes) -> list[tuple[int, list[str]]]:
    """Rows of the workbook's first worksheet, as cell texts."""
    limits = {"max_unzipped": MAX_UNZIPPED, "max_mb": MAX_BYTES // 2**20}
    return _limited(worksheet_rows(upload, max_columns=MAX_COLUMNS, **limits))


def _limited(records) -> list[tuple[int, list[str]]]:
    """Take records up to the limits: 2,000 delegates (plus the header), 50 columns."""
    taken, filled = [], 0
    for number, cells in records:
        cells = [cell.strip() for cell in cells[:MAX_COLUMNS]]
        filled += any(cells)
        if filled > MAX_ROWS + 1 or number > MAX_SHEET_ROWS:
            raise DomainError("import_too_many_rows", kind="too_large", max=MAX_ROWS)
        taken.append((number, cells))
    return taken


def map_header(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Map header cells to fields: {field: column index} and the ignored cells."""
    columns: dict[str, int] = {}
    ignored, errors = [], []
    for index, cell in enumerate(header):
        name = column_field(cell)
        if name is None:
            ignored += [cell] if cell else []
        elif name in columns:
            errors.append(FieldError(name, "import_duplicate_column", {}, row=1))
        else:
            columns[name] = index
    errors += _missing(columns)
    if errors:
        raise _header_error(errors)
    return columns, ignored


def column_field(cell: str) -> str | None:
    """The field a header cell names, whole or by one half of "Arabic / English"."""
    for text in (cell, *_SPLIT_HEADER.split(cell)):
        name = _HEADER_KEYS.get(search_key(text))
        if name is not None:
            return name
    return None


def _missing(columns: dict[str, int]) -> list[FieldError]:
    """Errors for required columns absent from the header."""
    groups = [(name,) for name in _REQUIRED] + list(ONE_OF)
    return [
        FieldError(group[0], "import_column_missing", {}, row=1)
        for group in groups
        if not any(name in columns for name in group)
    ]


def _header_error(errors: list[FieldError]) -> DomainError:
    missing = [e.field for e in errors if e.code == "import_column_missing"]
    code = "import_missing_columns" if missing else "import_invalid"
    error = DomainError(code, columns=", ".join(missing), rows=1)
    error.fields = errors
    return error


def _row(number: int, cells: list[str], columns: dict[str, int]) -> Row:
    """A data row's non-blank values by field, with friendly choices translated."""
    values = {}
    for name, index in columns.items():
        text = cells[index] if index < len(cells) else ""
        if text:
            values[name] = _choice(name, text)
    if "channel" not in values and "phone" in values and "email" not in values:
        values["channel"] = "sms"  # the form's default (email) cannot reach this delegate
    return Row(number, values)


def _choice(name: str, text: str) -> str:
    """Translate a label ("أنثى", "Email and SMS", "نعم") to the value the schema expects."""
    if name == "consent":
        key = search_key(text) or text  # "✓" has no letters to normalise
        return "true" if key in _YES_KEYS else "false" if key in _NO_KEYS else text
    if name not in _CHOICES:
        return text
    return _CHOICE_KEYS[name].get(search_key(text), text)


def _header_keys() -> dict[str, str]:
    """Every accepted header spelling (normalised) and the field it names."""
    keys = {}
    for name in COLUMNS:
        english, arabic = MESSAGES[_LABELS[name]]
        for spelling in (name, english, arabic, *_SYNONYMS.get(name, ())):
            keys[search_key(spelling)] = name
    return keys


def _choice_keys() -> dict[str, dict[str, str]]:
    """For each choice field, every accepted spelling (normalised) of each value."""
    keys: dict[str, dict[str, str]] = {}
    for name, values in _CHOICES.items():
        table = keys.setdefault(name, {})
        for value in values:
            english, arabic = MESSAGES[f"{name}.{value}"]
            for spelling in (value, english, arabic):
                table[search_key(spelling)] = value
        synonyms = {k: v for k, v in _CHOICE_SYNONYMS.items() if v in values}
        table.update({search_key(k): v for k, v in synonyms.items()})
    return keys


def template_csv() -> bytes:
    """A blank list to fill in: UTF-8 with BOM (Excel opens it right), headers in both languages."""
    cells = []
    for name in TEMPLATE_COLUMNS:
        english, arabic = MESSAGES[_LABELS[name]]
        cells.append(f"{arabic} / {english}")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode("utf-8-sig")


_REQUIRED = tuple(n for n, f in RegistrationSchema().load_fields.items() if f.required)
_HEADER_KEYS = _header_keys()
_CHOICE_KEYS = _choice_keys()
_YES_KEYS = frozenset(search_key(word) or word for word in _YES | {"yes", "true", "1"})
_NO_KEYS = frozenset(search_key(word) or word for word in _NO | {"no", "false", "0"})
