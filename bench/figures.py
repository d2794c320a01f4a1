"""One figure of a benchmark as a row of the combined table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figure:
    """A named figure, its unit and, when measured in the same run, the bare-Flask ceiling."""

    bench: str
    name: str
    value: float
    unit: str
    bare: float | None = None

    @property
    def ratio(self) -> float | None:
        """Return value / bare, or None without a ceiling."""
        return self.value / self.bare if self.bare else None


def markdown(figures: list[Figure]) -> str:
    """Render figures as a Markdown table."""
    lines = [
        "| benchmark | figure | value | unit | bare Flask | ratio |",
        "|---|---|---:|---|---:|---:|",
    ]
    for f in figures:
        bare = number(f.bare) if f.bare else "-"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        lines.append(f"| {f.bench} | {f.name} | {number(f.value)} | {f.unit} | {bare} | {ratio} |")
    return "\n".join(lines)


def number(value: float) -> str:
    """Format a figure with about three significant digits, without an exponent."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
