"""Shared field types: text as typed but never blank or carrying control characters."""

from datetime import date

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from shared.fields import StrictSchema, Text, database_int, length


class Named(Schema):
    name = Text(20, required=True)
    number = database_int()


@pytest.mark.parametrize("name", ["Iman\nAli", "Iman\tAli", "إيمان\u202eعلي", "a\u2028b", "x\x00"])
def test_names_with_control_line_or_bidi_characters_are_refused(name):
    with pytest.raises(ValidationError) as caught:
        Named().load({"name": name})
    assert caught.value.messages == {"name": ["invalid_characters"]}


def test_text_is_kept_as_typed_but_trimmed():
    assert Named().load({"name": "  د. يُسرى  "})["name"] == "د. يُسرى"


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_text_counts_as_missing(blank):
    with pytest.raises(ValidationError) as caught:
        Named().load({"name": blank})
    assert caught.value.messages == {"name": ["required"]}


@pytest.mark.parametrize(
    "number,code",
    [(0, "too_small:min=1"), (2**31, "too_large:max=2147483647"), ("7", "Not a valid integer.")],
)
def test_database_ints_stay_within_every_database_column(number, code):
    with pytest.raises(ValidationError) as caught:
        Named().load({"name": "x", "number": number})
    assert caught.value.messages["number"] == [code]


def test_text_is_measured_as_typed_so_padding_cannot_exceed_the_documented_maximum():
    # Found by Schemathesis: " " + 200 characters passed a maxLength of 200 once trimmed.
    with pytest.raises(ValidationError) as caught:
        Named().load({"name": " " + "x" * 20})
    assert caught.value.messages == {"name": ["too_long:max=20"]}
    assert Named().load({"name": " " + "x" * 19})["name"] == "x" * 19


def load_body(body: str) -> str:
    """`body` loaded as a message body: text whose paragraphs keep their line breaks."""
    return Schema.from_dict({"body": Text(50, line_breaks=True)})().load({"body": body})["body"]


def test_text_with_line_breaks_keeps_paragraphs_and_turns_crlf_into_newlines():
    assert load_body(" Hall B.\r\n\r\nLunch at 1pm.\nBring your badge.\n") == (
        "Hall B.\n\nLunch at 1pm.\nBring your badge."
    )


@pytest.mark.parametrize("body", ["a\rb", "a\tb", "a\u2028b", "a\x00b", "a\u202eb", "a\x0bb"])
def test_text_with_line_breaks_still_refuses_other_control_characters(body):
    with pytest.raises(ValidationError) as caught:
        load_body(body)
    assert caught.value.messages == {"body": ["invalid_characters"]}


# --- Found by fuzzing ----------------------------------------------------------------------------


BAD = ["invalid_characters"]


class Payload(StrictSchema):
    name = fields.String()
    tags = fields.List(fields.String())
    audience = fields.Dict()


@pytest.mark.parametrize(
    "payload,errors",
    [
        ({"name": "\ud800"}, {"name": ["invalid_characters"]}),
        ({"name": "ok", "tags": ["a", "x\udfffy"]}, {"tags": {1: ["invalid_characters"]}}),
        ({"audience": {"agency": {"\udc00": 1}}}, {"audience": {"agency": {"\ufffd": BAD}}}),
        ({"\ud83d": 1}, {"\ufffd": ["invalid_characters"]}),
        # Not JSON data (a date), so not the quick check: still found, where it is.
        ({"audience": {"on": date(2026, 1, 1)}, "name": "\udfff"}, {"name": BAD}),
    ],
)
def test_lone_surrogates_are_refused_where_they_are(payload, errors):
    # JSON's "\ud800" decodes to text no database or UTF-8 answer can hold: a 500 everywhere.
    with pytest.raises(ValidationError) as caught:
        Payload().load(payload)
    assert caught.value.messages == errors


def test_a_surrogate_pair_is_text_and_deep_payloads_are_walked_without_recursion():
    assert Payload().load({"name": "\U0001f600"})["name"] == "😀"
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValidationError) as caught:
        Payload().load({"tags": deep})
    assert "tags" in caught.value.messages  # not a list of strings; no RecursionError on the way


@pytest.mark.parametrize("value,code", [("", "required"), ("x" * 5, "too_long:max=4")])
def test_length_rules_say_which_bound_was_missed(value, code):
    class Gate(StrictSchema):
        gate = fields.String(validate=length(4))

    with pytest.raises(ValidationError) as caught:
        Gate().load({"gate": value})
    assert caught.value.messages == {"gate": [code]}


def test_text_takes_further_rules_on_the_trimmed_text():
    class Reason(StrictSchema):
        reason = Text(10, validate=[validate.Length(min=3, error="too_short:min={min}")])

    with pytest.raises(ValidationError) as caught:
        Reason().load({"reason": "  ab  "})
    assert caught.value.messages == {"reason": ["too_short:min=3"]}
