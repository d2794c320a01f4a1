"""Field types several services' schemas share."""

from __future__ import annotations

import json
import re

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load
from marshmallow import validate as _validate

# Control characters, line/paragraph separators and bidi overrides: none belongs in a name, and
# they break e-mail headers or reorder what door staff read.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same without "\n": a message body's paragraphs (templates split it on blank lines).
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Halves of a UTF-16 pair: JSON lets "\ud800" through, but no text is made of them alone, and
# neither a database nor a UTF-8 answer can hold them (each was a 500).
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Text(fields.String):
    """Text kept as typed (outer whitespace trimmed), not blank, without control characters.

    `validate` adds rules checked on the trimmed text (e.g. a minimum length);
    `line_breaks` lets newlines through (CR LF becomes LF), for text made of paragraphs.
    """

    def __init__(
        self, maximum: int, *, validate: list | tuple = (), line_breaks: bool = False, **kwargs
    ):
        self.maximum = maximum
        self.forbidden = _CONTROL_BUT_NEWLINE if line_breaks else _CONTROL
        rules = [_validate.Length(max=maximum, error="too_long:max={max}"), *validate]
        super().__init__(validate=rules, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        typed = super()._deserialize(value, attr, data, **kwargs)
        if len(typed) > self.maximum:  # as typed, as the API document's maxLength says
            raise ValidationError(f"too_long:max={self.maximum}")
        text = typed.strip().replace("\r\n", "\n")
        if self.forbidden.search(text):
            raise ValidationError("invalid_characters")
        if not text:
            raise ValidationError("required")
        return text


def database_int(*, strict: bool = True, **kwargs) -> fields.Integer:
    """A positive integer id that fits every database's integer column (strict: JSON ints only)."""
    limits = [
        _validate.Range(min=1, error="too_small:min={min}"),
        _validate.Range(max=2**31 - 1, error="too_large:max={max}"),
    ]
    return fields.Integer(strict=strict, validate=limits, **kwargs)


class StrictSchema(Schema):
    """A payload schema that refuses fields it does not know, and strings that are not text."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _text_only(self, data, **kwargs):
        """Refuse a lone surrogate anywhere in the payload, naming where it is."""
        errors = _surrogate_errors(data) if _may_hold_surrogate(data) else {}
        if errors:
            raise ValidationError(errors)
        return data


def _may_hold_surrogate(payload) -> bool:
    """False if the payload, written as JSON, is valid UTF-8: none of its text holds a surrogate."""
    # One pass in C instead of the walk below, which names where they are (and handles what
    # JSON cannot write, or nests too deep for the encoder).
    try:
        json.dumps(payload, ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return True
    return False


def _surrogate_errors(payload) -> dict:
    """{name: ["invalid_characters"] or nested errors} for every string holding a lone surrogate.

    Walked with a stack, not recursion: a payload nested as deep as the JSON parser allows
    must not overflow here.
    """
    paths, pending = [], [(payload, ())]
    while pending:
        value, path = pending.pop()
        if not isinstance(value, dict | list):
            continue
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(key, str) and _SURROGATE.search(key):
                paths.append((*path, _SURROGATE.sub("\ufffd", key)))
            elif isinstance(item, str) and _SURROGATE.search(item):
                paths.append((*path, key))
            else:
                pending.append((item, (*path, key)))
    errors: dict = {}
    for path in paths:
        node = errors
        for name in path[:-1]:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):  # two keys shown alike: one error is enough
                break
        else:
            node[path[-1]] = ["invalid_characters"]
    return errors


def length(maximum: int, minimum: int = 1) -> list[_validate.Length]:
    """Length rules whose error codes say which bound was missed (an empty value is missing)."""
    short = "required" if minimum == 1 else "too_short:min={min}"
    return [
        _validate.Length(min=minimum, error=short),
        _validate.Length(max=maximum, error="too_long:max={max}"),
    ]


def one_of(choices) -> _validate.OneOf:
    """A choice rule whose error code lists the choices."""
    return _validate.OneOf(choices, error="one_of:choices=" + "|".join(choices))


# The years an event, its registration window or a scan may fall in: beyond them a day's end or
# a moment in UTC overflows Python's dates and the databases' timestamp types.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def in_service_years(value) -> None:
    """Refuse a date or moment whose year, as given, is outside FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"year_out_of_range:min={FIRST_YEAR},max={LAST_YEAR}")
