"""The `id` path converter: 1 to 2**31 - 1 in its pattern, so ids out of range match no rule."""

import re

import pytest
from flask import Flask

from shared.routing import DATABASE_ID_MAX, DatabaseId, _at_most


@pytest.mark.parametrize("maximum", [*range(1, 400), 1000, 1009, 20500, 99999])
def test_the_pattern_matches_exactly_one_to_the_maximum(maximum):
    pattern = re.compile(_at_most(maximum) + r"\Z")
    matched = [n for n in range(maximum * 10 + 20) if pattern.match(str(n))]
    assert matched == list(range(1, maximum + 1))


@pytest.mark.parametrize(
    "text,matches",
    [
        ("1", True),
        ("2147483647", True),
        ("2147483639", True),
        ("1999999999", True),
        ("2147483648", False),
        ("9999999999", False),
        (str(2**63), False),
        ("0", False),
        ("01", False),
        ("-1", False),
        ("١", False),  # an Arabic-Indic digit: \d took it, int() read it as 1
    ],
)
def test_database_ids_are_ascii_digits_within_an_integer_column(text, matches):
    assert bool(re.compile(_at_most(DATABASE_ID_MAX) + r"\Z").match(text)) is matches


def test_an_id_out_of_range_is_not_found_on_a_path_two_rules_share():
    # Found by fuzzing: with int(max=...), POST /lists/2147483648 answered 405 "Allow: GET".
    app = Flask(__name__)
    app.url_map.converters["id"] = DatabaseId
    app.add_url_rule("/lists/<id:list_id>", "read", lambda list_id: "read", methods=["GET"])
    app.add_url_rule("/lists/<id:list_id>", "add", lambda list_id: "add", methods=["POST"])
    urls = app.url_map.bind("hudoor.test")
    assert urls.match("/lists/2147483647", method="POST") == ("add", {"list_id": 2147483647})
    for method in ("GET", "POST"):
        with pytest.raises(Exception) as caught:
            urls.match("/lists/2147483648", method=method)
        assert caught.value.code == 404
