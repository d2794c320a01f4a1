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
        body["errors"] = [
            {"field": f.field, "code": f.code, "message": catalog.text(f.code, lang, **f.params)}
            for f in fields
        ]
    return body
