"""The door desk's search: found the way door staff type, never the roster letter by letter."""

from __future__ import annotations

import pytest

from services.checkin import operations
from services.checkin.operations.desk import SEARCH_LIMIT
from shared.problems import DomainError
from tests.services.checkin.conftest import roster_event


def found(session, query: str) -> list[int]:
    return sorted(e.badge_id for e in operations.search(session, 1, query))


def refusal(session, query: str) -> tuple:
    with pytest.raises(DomainError) as refused:
        operations.search(session, 1, query)
    [error] = refused.value.fields
    return refused.value.code, refused.value.status, error.field, error.params


@pytest.mark.parametrize(
    "query,badge_ids",
    [
        ("اسراء", [2]),
        ("إسراء", [2]),
        ("يسرى", [1, 3]),
        ("يسري", [1, 3]),
        ("يُسْرى", [1, 3]),
        ("يـــسرى العلاق", [1]),
        ("ISRAA", [2]),
        ("al-alaq", [1]),
        ("0770 123 4567", [2]),
        ("+964 770 123 4567", [2]),
        ("00964-770-123-4567", [2]),
        ("D2@Example.org", [2]),
        ("MOE", [3]),
        ("nobody", []),
    ],
)
def test_search_finds_delegates_the_way_door_staff_type(roster, query, badge_ids):
    assert found(roster, query) == badge_ids


@pytest.mark.parametrize(
    "query",
    [
        *("ي", "يس", "يُسْ", "يـــس", "ـيـُـسـّ", "ـــ", "\u064b\u064b\u064b", "a", "y u", "Al"),
        *("ا ا ا", "a a a", "ي ي ي", "يس ر", "Yu s"),
    ],
)
def test_a_name_without_a_word_of_three_letters_is_refused_however_it_is_padded(roster, query):
    # One letter found up to 25 delegates: a door device could walk the roster letter by letter.
    # Diacritics and tatweel are no letters of the search key, so they do not lengthen a query;
    # nor do more short words ("a a a" asks for names holding an "a").
    assert refusal(roster, query) == ("search_too_short", 422, "q", {"min": 3})


@pytest.mark.parametrize("query", ["يسر", "يُسـر", "يـسْـرٰ", "YUS"])
def test_three_letters_of_a_name_find_it_however_it_is_spelled(roster, query):
    assert found(roster, query) == [1, 3]


def test_an_agency_code_is_found_exactly_even_when_shorter_than_a_name(roster):
    operations.apply_roster_event(roster, roster_event(4, agency="UN", name_ar="زينب", name_en="Z"))
    assert (found(roster, "UN"), found(roster, "un"), found(roster, "MOE")) == ([4], [4], [3])
    assert refusal(roster, "MO")[0] == "search_too_short"
    assert found(roster, "IWE") == []  # three letters: a name, and no agency code starts it


@pytest.mark.parametrize("query", ["d2@Example.org", " D2@EXAMPLE.ORG "])
def test_an_email_address_in_full_finds_its_delegate(roster, query):
    assert found(roster, query) == [2]


@pytest.mark.parametrize("query", ["d2@", "@example.org", "d2@example", "d@"])
def test_part_of_an_email_address_is_refused(roster, query):
    assert refusal(roster, query)[0] == "search_too_short"


@pytest.mark.parametrize("query", ["0770 123 4567", "+964 770 123 4567", "٠٧٧٠١٢٣٤٥٦٧"])
def test_a_phone_number_in_full_finds_its_delegate(roster, query):
    assert found(roster, query) == [2]


@pytest.mark.parametrize("query", ["0770", "770 123", "0770 123 45", "1234567"])
def test_part_of_a_phone_number_is_refused(roster, query):
    assert refusal(roster, query)[0] == "search_too_short"


def test_a_name_found_in_many_gives_at_most_25(roster):
    for badge_id in range(10, 10 + SEARCH_LIMIT + 5):
        operations.apply_roster_event(roster, roster_event(badge_id, name_en=f"Yusra {badge_id}"))
    assert SEARCH_LIMIT == 25 and len(found(roster, "yusra")) == 25
