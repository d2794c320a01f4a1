"""Reading an uploaded XLSX workbook: its first worksheet's rows as cell texts, or a refusal.

Pure: bytes in, rows out. A ZIP that is not a workbook is refused (415), one that would unpack
to too much (a ZIP bomb) or is damaged anywhere is refused too; cached formula values are read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time

import openpyxl

from shared.problems import DomainError


def worksheet_rows(
    upload: bytes, *, max_columns: int, max_unzipped: int, max_mb: int
) -> Iterator[tuple[int, list[str]]]:
    """The first worksheet's rows as (row number, cell texts), streamed."""
    _check_archive(upload, max_unzipped, max_mb)
    try:
        book = openpyxl.load_workbook(io.BytesIO(upload), read_only=True, data_only=True)
    except Exception:  # a damaged workbook fails in any of openpyxl's layers (zip, XML, styles)
        raise DomainError("import_unreadable") from None
    try:
        yield from _rows(book, max_columns)
    finally:
        book.close()


def _rows(book, max_columns: int) -> Iterator[tuple[int, list[str]]]:
    if not book.worksheets:
        raise DomainError("import_empty")
    rows = book.worksheets[0].iter_rows(max_col=max_columns, values_only=True)
    try:
        for number, values in enumerate(rows, start=1):
            yield number, [cell_text(value) for value in values]
    except Exception:  # as above: malformed sheet XML surfaces while streaming
        raise DomainError("import_unreadable") from None


def _check_archive(upload: bytes, max_unzipped: int, max_mb: int) -> None:
    """Refuse a ZIP that is not a workbook, or one that would unpack to too much."""
    try:
        with zipfile.ZipFile(io.BytesIO(upload)) as archive:
            entries = archive.infolist()
    # NotImplementedError: an entry needing a newer ZIP version than Python reads.
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        EOFError,
        NotImplementedError,
    ):
        raise DomainError("import_unreadable") from None
    if "xl/workbook.xml" not in {entry.filename for entry in entries}:
        raise DomainError("import_zip_not_xlsx", kind="unsupported_media_type")
    # zipfile stops at each entry's declared size, so declared sizes bound what is unpacked.
    if sum(entry.file_size for entry in entries) > max_unzipped:
        raise DomainError("import_too_large", kind="too_large", max_mb=max_mb)


def cell_text(value) -> str:
    """A cell's value as text; whole numbers (phones Excel took for numbers) as their digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
