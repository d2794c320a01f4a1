"""Shared field types: text as typed but never blank or carrying control characters."""

import pytest
from marshmallow import Schema, ValidationError

from shared.fields import Text, database_int


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
