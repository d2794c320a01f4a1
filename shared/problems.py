"""The error envelope: domain errors with machine-readable codes, rendered as RFC 9457."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.i18n import Catalog, error_code

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_KIND = {
    "invalid": 422,
    "bad_request": 400,
    "conflict": 409,
    "not_found": 404,
    "too_large": 413,
    "unsupported_media_type": 415,
    "unauthorized": 401,
    "forbidden": 403,
    "gone": 410,
    "unavailable": 503,
}


@dataclass
class FieldError:
    """One invalid field: where, which rule, and parameters for the message."""

    field: str
    code: str
    params: dict = field(default_factory=dict)
    # Set for an error in one row of an uploaded list: the row number the spreadsheet shows.
    row: int | None = None


class DomainError(Exception):
    """A rule refused the request; `code` is machine-readable, `kind` picks the HTTP status."""

    def __init__(
        self,
        code: str,
        *,
        kind: str = "invalid",
        field: str | None = None,
        field_code: str | None = None,
        **params,
    ):
        super().__init__(code)
        self.code = code
        self.kind = kind
        self.params = params
        self.fields = [FieldError(field, field_code or code, params)] if field else []

    @property
    def status(self) -> int:
        return STATUS_BY_KIND[self.kind]


def flatten_messages(messages, prefix: str = "") -> list[FieldError]:
    """Flatten marshmallow's nested error messages into a list of field errors."""
    if isinstance(messages, Mapping):
        errors: list[FieldError] = []
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            errors.extend(flatten_messages(value, path))
        return errors
    if isinstance(messages, list | tuple):
        errors = []
        for item in messages:
            errors.extend(flatten_messages(item, prefix))
        return errors
    code, params = error_code(str(messages))
    return [FieldError(prefix or "_request", code, params)]


def problem_body(catalog: Catalog, lang: str, status: int, code: str, fields=(), **params) -> dict:
    """Build an RFC 9457 problem document with translated field errors."""
    body = {
        "type": f"urn:hudoor:problem:{code}",
        "title": catalog.text(code, lang, **params),
        "status": status,
        "code": code,
    }
    if fields:
        body["errors"] = [_field_error(catalog, lang, f) for f in fields]
    return body


def _field_error(catalog: Catalog, lang: str, error: FieldError) -> dict:
    """One field error of a problem document, with its row when it has one."""
    item = {"row": error.row} if error.row is not None else {}
    message = catalog.text(error.code, lang, **error.params)
    return item | {"field": error.field, "code": error.code, "message": message}
