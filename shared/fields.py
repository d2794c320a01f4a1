"""Field types several services' schemas share."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

# Control characters, line/paragraph separators and bidi overrides: none belongs in a name, and
# they break e-mail headers or reorder what door staff read.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Text(fields.String):
    """Text kept as typed (outer whitespace trimmed), not blank, without control characters."""

    def __init__(self, maximum: int, **kwargs):
        self.maximum = maximum
        super().__init__(
            validate=validate.Length(max=maximum, error="too_long:max={max}"), **kwargs
        )

    def _deserialize(self, value, attr, data, **kwargs):
        typed = super()._deserialize(value, attr, data, **kwargs)
        if len(typed) > self.maximum:  # as typed, as the API document's maxLength says
            raise ValidationError(f"too_long:max={self.maximum}")
        text = typed.strip()
        if _CONTROL.search(text):
            raise ValidationError("invalid_characters")
        if not text:
            raise ValidationError("required")
        return text


def database_int(*, strict: bool = True, **kwargs) -> fields.Integer:
    """A positive integer id that fits every database's integer column (strict: JSON ints only)."""
    limits = [
        validate.Range(min=1, error="too_small:min={min}"),
        validate.Range(max=2**31 - 1, error="too_large:max={max}"),
    ]
    return fields.Integer(strict=strict, validate=limits, **kwargs)


class StrictSchema(Schema):
    """A payload schema that refuses fields it does not know."""

    class Meta:
        unknown = RAISE


def length(maximum: int, minimum: int = 1) -> validate.Length:
    """A length rule whose error code carries the maximum."""
    return validate.Length(min=minimum, max=maximum, error="too_long:max={max}")


def one_of(choices) -> validate.OneOf:
    """A choice rule whose error code lists the choices."""
    return validate.OneOf(choices, error="one_of:choices=" + "|".join(choices))
