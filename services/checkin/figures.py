"""Attendance figures, pure: roll per-cell counts up to any breakdown (no SQL in here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product

DIMENSIONS = ("agency", "day", "category", "gender")
GENDER_ORDER = ("female", "male", "unspecified")
# With only these dimensions every agency and day is listed, even with nothing to count.
FULL_GRID = frozenset({"agency", "day"})
FIELDS = {"agency": "agency_id", "category": "category", "gender": "gender"}


@dataclass
class DayFigure:
    """Unique attendees on one day and their first and last arrival."""

    attended: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, other: DayFigure) -> None:
        self.attended += other.attended
        self.first = _earliest(self.first, other.first)
        self.last = _latest(self.last, other.last)


@dataclass
class Cell:
    """Delegates sharing agency, category and gender: the finest grain every report sums."""

    agency_id: int
    category: str
    gender: str
    registered: int = 0
    cancelled: int = 0
    attended: int = 0  # active delegates with a live entry on any list of the event
    days: dict[str, DayFigure] = field(default_factory=dict)

    def add(self, other: Cell) -> None:
        self.registered += other.registered
        self.cancelled += other.cancelled
        self.attended += other.attended
        for day, figure in other.days.items():
            self.days.setdefault(day, DayFigure()).add(figure)

    def arrivals(self) -> DayFigure:
        """First and last arrival over every day."""
        total = DayFigure(self.attended)
        for figure in self.days.values():
            total.first = _earliest(total.first, figure.first)
            total.last = _latest(total.last, figure.last)
        return total


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


def _latest(a, b):
    return b if a is None else a if b is None else max(a, b)


def parse_by(text: str | None) -> tuple[str, ...]:
    """`agency,day` → ("agency", "day"); unknown or repeated names raise ValueError."""
    names = tuple(part.strip() for part in (text or "agency").split(",") if part.strip())
    if not names or len(set(names)) != len(names) or not set(names) <= set(DIMENSIONS):
        raise ValueError(text)
    return names


def figures(cell: Cell, day: str | None, quota: int | None) -> dict:
    """The numbers of one row: for one day, or for the whole event when `day` is None."""
    figure = cell.days.get(day, DayFigure()) if day is not None else cell.arrivals()
    return {
        "quota": quota,
        "registered": cell.registered,
        "cancelled": cell.cancelled,
        "attended": figure.attended,
        "no_shows": cell.registered - figure.attended,
        "attendance_rate": rate(figure.attended, cell.registered),
        "first_arrival": figure.first,
        "last_arrival": figure.last,
    }


def rate(attended: int, registered: int) -> float | None:
    """Attended over registered, to three decimals; None when nobody is registered."""
    return round(attended / registered, 3) if registered else None


def total(cells: Iterable[Cell]) -> Cell:
    """Every cell summed (attendees are unique per cell, so sums stay unique)."""
    whole = Cell(0, "", "")
    for cell in cells:
        whole.add(cell)
    return whole


def rollup(cells: Iterable[Cell], by: Sequence[str]) -> dict[tuple, Cell]:
    """Cells summed by their agency, category and gender as far as `by` names them."""
    keys = [dimension for dimension in by if dimension != "day"]
    sums: dict[tuple, Cell] = {}
    for cell in cells:
        key = tuple(_value(cell, dimension) for dimension in keys)
        sums.setdefault(key, Cell(0, "", "")).add(cell)
    return sums


def _value(cell: Cell, dimension: str):
    return getattr(cell, FIELDS[dimension])


def breakdown(cells: list[Cell], by: Sequence[str], domains: dict, quotas: dict) -> list[dict]:
    """One row per combination of the `by` dimensions' values (`domains`), in their order."""
    sums = rollup(cells, by)
    # Agencies with no delegates still show their quota; empty category/gender rows are noise.
    keep_empty = set(by) <= FULL_GRID
    rows = []
    for combination in product(*(domains[dimension] for dimension in by)):
        values = dict(zip(by, combination, strict=True))
        key = tuple(values[d] for d in by if d != "day")
        cell = sums.get(key, Cell(0, "", ""))
        quota = quotas.get(values["agency"]) if "agency" in by and keep_empty else None
        row = figures(cell, values.get("day"), quota)
        if keep_empty or row["registered"] or row["cancelled"] or row["attended"]:
            rows.append({"values": values, **row})
    return rows


def gender_order(genders: Iterable[str]) -> list[str]:
    """Genders in the usual order, any other value after them."""
    known = [g for g in GENDER_ORDER if g in genders]
    return known + sorted(set(genders) - set(GENDER_ORDER))
