"""Path converters every service's routes share."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

DATABASE_ID_MAX = 2**31 - 1  # a PostgreSQL integer column


def _at_most(maximum: int) -> str:
    """A regular expression of the decimal numbers 1..maximum, without leading zeros."""
    digits = str(maximum)
    shorter = f"[1-9][0-9]{{0,{len(digits) - 2}}}" if len(digits) > 1 else None
    same_length = []
    for position, digit in enumerate(digits):
        rest = len(digits) - position - 1
        low = "1" if position == 0 else "0"
        if digit > low:
            below = f"[{low}-{int(digit) - 1}]" if int(digit) - 1 > int(low) else low
            same_length.append(digits[:position] + below + (f"[0-9]{{{rest}}}" if rest else ""))
    same_length.append(digits)
    return "(?:" + "|".join(filter(None, [shorter, *same_length])) + ")"


class DatabaseId(IntegerConverter):
    """`<id:name>`: a row id, 1 to 2**31 - 1, in plain ASCII digits.

    The range is in the pattern, not only checked after a match: werkzeug tells a method apart
    before it converts, so with `int(max=...)` a path shared by a GET and a POST rule answered an
    id out of range on the one with 405 ("Allow: GET") instead of 404.
    """

    regex = _at_most(DATABASE_ID_MAX)

    def __init__(self, map):
        super().__init__(map, min=1, max=DATABASE_ID_MAX)
