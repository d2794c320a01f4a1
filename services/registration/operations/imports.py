"""Registering an agency's delegation from an uploaded list (CSV or XLSX): all rows or none.

    result = import_delegation(session, ctx, event, agency, upload, privileged=False)

`upload` is the file's bytes (its format is read from them: see services/registration/imports.py
for formats, columns and limits). Each row is loaded with the registration schema and registered
with `register_delegate`, exactly as the form does, inside one savepoint: a refused file leaves
nothing behind, and a valid one leaves every registration and its outbox messages (confirmation,
badge, roster) for the caller to commit. `privileged` (organizers) allows late registration and
other categories, as in the API.

A refused file raises DomainError: its `code` says what is wrong with the file and its `fields`
list every error, each with `row` (the row number the spreadsheet shows, header at 1), `field`,
`code` and `params`, for the caller to translate (the API renders them as problem+json; a page
can use `translate(error.code, **error.params)`). Codes: import_invalid (422: rows with errors,
listed with any seat shortage), import_over_quota / import_over_capacity (409: every row is valid
but the seats left are fewer), import_missing_columns (422),
import_too_large and import_too_many_rows (413), import_not_spreadsheet, import_zip_not_xlsx and
import_xls_not_supported (415), import_empty, import_no_rows and import_unreadable (422), and
registration_not_open / registration_closed (409) outside the registration window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from services.registration import imports
from services.registration.models import Agency, Event, Registration
from services.registration.operations.context import Context
from services.registration.operations.delegates import event_rules, register_delegate
from services.registration.operations.events import check_registration_open
from services.registration.schemas import RegistrationSchema
from shared.problems import DomainError, FieldError, flatten_messages

SEAT_CODES = frozenset({"quota_full", "event_full"})
_schema = RegistrationSchema()


@dataclass(frozen=True)
class ImportResult:
    """The delegates registered from a list, in its order, and the columns it ignored."""

    registrations: list[Registration]
    ignored_columns: list[str] = field(default_factory=list)


def import_delegation(
    session: Session,
    ctx: Context,
    event: Event,
    agency: Agency,
    upload: bytes,
    *,
    privileged: bool = False,
) -> ImportResult:
    """Register every delegate of an uploaded list for `agency`, or none and say why."""
    sheet = imports.read_delegation(upload)
    if not privileged:
        check_registration_open(event, ctx.clock())
    seat_errors = _seat_errors(event, agency, len(sheet.rows))
    with session.begin_nested():  # any refusal below rolls back every row
        registrations, errors = _register_rows(session, ctx, event, agency, sheet.rows, privileged)
        if seat_errors:
            errors = seat_errors + [e for e in errors if e.code not in SEAT_CODES]
        if errors:
            raise _rejected(errors)
    return ImportResult(registrations, sheet.ignored_columns)


def _seat_errors(event: Event, agency: Agency, count: int) -> list[FieldError]:
    """Refuse a list larger than the seats left (the database still decides each seat)."""
    errors = []
    for code, limit, taken in (
        ("import_over_quota", agency.quota, agency.registered_count),
        ("import_over_capacity", event.capacity, event.registered_count),
    ):
        if limit is not None and count > limit - taken:
            params = {"delegates": count, "seats": max(limit - taken, 0)}
            errors.append(FieldError("agency", code, params))
    return errors


def _register_rows(session, ctx, event, agency, rows, privileged):
    """Register each valid row in its own savepoint; return registrations and every error."""
    registrations, errors, seen = [], [], {}
    rules = event_rules(session, event, agency, privileged=privileged)
    for row in rows:
        with rules:
            data, row_errors = _validated(row, agency, seen)
        if not row_errors:
            try:
                with session.begin_nested():
                    registrations.append(
                        register_delegate(
                            session, ctx, event, data, privileged=privileged, agency=agency
                        )
                    )
            except DomainError as error:
                row_errors = _refusal(row.number, error)
        errors += row_errors
    return registrations, errors


def _validated(row: imports.Row, agency: Agency, seen: dict) -> tuple[dict, list[FieldError]]:
    """Load a row with the registration schema; refuse another agency and repeats in the file."""
    values = dict(row.values)
    other = values.pop("agency", agency.code).strip().upper()
    errors = []
    if other != agency.code:
        errors.append(
            FieldError("agency", "import_other_agency", {"agency": agency.code}, row.number)
        )
    try:
        data = _schema.load(values)
    except ValidationError as error:
        return {}, errors + [_at(row.number, e) for e in flatten_messages(error.messages)]
    return data, errors + _repeats(row.number, data, seen)


def _repeats(number: int, data: dict, seen: dict) -> list[FieldError]:
    """Errors for an email or phone already on an earlier row (normalised, as stored)."""
    errors = []
    for name in ("email", "phone"):
        value = data.get(name)
        if value is None:
            continue
        first = seen.setdefault((name, value), number)
        if first != number:
            errors.append(FieldError(name, f"import_duplicate_{name}", {"first": first}, number))
    return errors


def _refusal(number: int, error: DomainError) -> list[FieldError]:
    """A rule's refusal of one row, as field errors of that row."""
    if error.fields:
        return [_at(number, e) for e in error.fields]
    return [FieldError("_row", error.code, error.params, number)]


def _at(number: int, error: FieldError) -> FieldError:
    return FieldError(error.field, error.code, error.params, number)


def _rejected(errors: list[FieldError]) -> DomainError:
    """The refusal of the whole list, listing every error by row (file-wide ones first)."""
    rows = {e.row for e in errors if e.row is not None}
    if rows:
        error = DomainError("import_invalid", rows=len(rows))
    else:  # only too many delegates for the seats left: a conflict, as for one registration
        error = DomainError(errors[0].code, kind="conflict", **errors[0].params)
    error.fields = sorted(errors, key=lambda e: e.row or 0)
    return error
