"""The registration schema's event rules: in force inside their `with` only, nested or repeated."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from services.registration.schemas import EventRules, RegistrationSchema
from tests.services.registration.conftest import delegate


def _refusing(code: str) -> EventRules:
    return EventRules(lambda data: {"agency": [code]})


def _agency_errors() -> list[str]:
    try:
        RegistrationSchema().load(delegate())
    except ValidationError as error:
        return error.messages["agency"]
    return []


def test_nested_rules_give_way_to_the_outer_ones_on_leaving():
    outer, inner = _refusing("outer"), _refusing("inner")
    with outer:
        with inner:
            assert _agency_errors() == ["inner"]
        assert _agency_errors() == ["outer"]
    assert _agency_errors() == []


def test_the_same_rules_entered_again_and_lifted_inside_are_restored():
    rules = _refusing("outer")
    with rules:
        with rules:
            with EventRules(None):
                assert _agency_errors() == []
            assert _agency_errors() == ["outer"]
        assert _agency_errors() == ["outer"]
    assert _agency_errors() == []


def test_an_error_raised_inside_leaves_no_rules_behind():
    with pytest.raises(RuntimeError), _refusing("outer"):
        raise RuntimeError
    assert _agency_errors() == []


@pytest.mark.parametrize(
    "name",
    ["\u200d", "\u200b", "\u061c", "\u2060", "ـــــ", "\u064e\u064f", "\u2800", "...", "٠١"],
    ids=[
        "zwj",
        "zwsp",
        "alm",
        "word-joiner",
        "tatweel",
        "harakat",
        "braille-blank",
        "dots",
        "digits",
    ],
)
def test_a_name_without_a_letter_is_refused_on_its_field(name):
    # The door could not find it (its search key is empty) and the badge would show nothing.
    with pytest.raises(ValidationError) as caught:
        RegistrationSchema().load(delegate(full_name_ar=name, full_name_en="Yusra Kareem"))
    assert caught.value.messages == {"full_name_ar": ["name_without_letters"]}


@pytest.mark.parametrize("name", ["يُسرى كَريم", "O'Neil", "李明", "د. يسرى"])
def test_names_with_letters_pass_whatever_their_marks(name):
    loaded = RegistrationSchema().load(delegate(full_name_ar=None, full_name_en=name))
    assert loaded["full_name_en"] == name
