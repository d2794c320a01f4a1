"""SMS encoding and part counting, at every boundary that costs money."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.sms_segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    encoding,
    fits,
    length,
    segments,
)

ARABIC = "ا"
EMOJI = "😀"


def test_default_alphabet_has_127_characters_and_nine_extensions_plus_form_feed():
    assert len(GSM7_BASIC) == 127
    assert "\x1b" not in GSM7_BASIC
    assert set("^{}\\[~]|€\f") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, Baghdad!", "GSM-7"),
        ("é à ñ Ä ß Ω £ € [x]", "GSM-7"),
        ("", "GSM-7"),
        ("مرحباً", "UCS-2"),
        ("Dr. Yusra د. يسرى", "UCS-2"),
        ("ç", "UCS-2"),  # only capital Ç is in the default alphabet
        ("curly ’quote", "UCS-2"),
        (EMOJI, "UCS-2"),
    ],
)
def test_encoding(text, expected):
    assert encoding(text) == expected


@pytest.mark.parametrize(
    ("size", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_boundaries(size, parts):
    assert segments("a" * size) == parts


@pytest.mark.parametrize(
    ("size", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_boundaries(size, parts):
    assert segments(ARABIC * size) == parts


def test_empty_text_is_one_message():
    assert segments("") == 1


def test_extension_characters_count_two_septets():
    assert length("€") == 2
    assert segments("€" * 80) == 1
    assert segments("€" * 80 + "a") == 2
    assert segments("a" * 159 + "€") == 2


def test_an_extension_character_is_not_split_across_parts():
    # 306 septets would fill two parts exactly, but part one ends on 152 septets: the
    # escape-and-€ pair cannot start at its last septet, so it moves to part two.
    text = "a" * 152 + "€" + "a" * 152
    assert length(text) == 306
    assert segments(text) == 3
    assert segments("a" * 151 + "€" + "a" * 153) == 2


def test_emoji_counts_two_utf16_units():
    assert length(EMOJI) == 2
    assert segments(EMOJI * 35) == 1
    assert segments(EMOJI * 35 + ARABIC) == 2


def test_a_surrogate_pair_is_not_split_across_parts():
    text = ARABIC * 66 + EMOJI + ARABIC * 66
    assert length(text) == 134
    assert segments(text) == 3
    assert segments(ARABIC * 65 + EMOJI + ARABIC * 67) == 2


def test_one_arabic_letter_turns_a_gsm7_text_into_ucs2():
    assert segments("a" * 100) == 1
    assert segments("a" * 100 + ARABIC) == 2


def test_fits():
    assert fits("a" * 306, 2)
    assert not fits("a" * 307, 2)
    assert fits(ARABIC * 134, 2)
    assert not fits(ARABIC * 135, 2)


GSM7_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700)
UCS2_TEXT = st.text(alphabet=st.sampled_from([ARABIC, "ب", " ", "1", "a", EMOJI]), max_size=400)


@given(st.one_of(st.tuples(GSM7_TEXT, GSM7_TEXT), st.tuples(UCS2_TEXT, UCS2_TEXT)))
def test_more_text_of_the_same_alphabet_never_needs_fewer_parts(texts):
    head, tail = texts
    if encoding(head) == encoding(head + tail):
        assert segments(head) <= segments(head + tail)


@given(UCS2_TEXT.filter(lambda t: any(ord(c) > 127 for c in t)))
def test_ucs2_length_is_utf16_code_units(text):
    assert length(text) == len(text.encode("utf-16-le")) // 2
