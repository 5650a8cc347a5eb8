"""Small inline SVG charts, computed here so the templates and the script only draw.

Colour is never the only signal: every series has a text label and a legend, and counts
are printed next to the bars (WCAG 1.4.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

CHART_W: Final = 560
CHART_H: Final = 120
BAR_W: Final = 240


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    width: float  # 0..BAR_W


def polyline(
    values: Sequence[int], *, top: int, width: int = CHART_W, height: int = CHART_H
) -> str:
    """SVG ``points`` for ``values`` scaled so that ``top`` reaches the top edge."""
    if not values:
        return ""
    step = width / max(1, len(values) - 1)
    scale = (height - 4) / max(1, top)
    return " ".join(f"{i * step:.1f},{height - 2 - v * scale:.1f}" for i, v in enumerate(values))


def lines(series: Mapping[str, Sequence[int]]) -> dict[str, object]:
    """Points per series and the shared scale (the busiest second)."""
    top = max((max(v, default=0) for v in series.values()), default=0)
    return {
        "top": top,
        "lines": {name: polyline(values, top=top) for name, values in series.items()},
        "totals": {name: sum(values) for name, values in series.items()},
    }


def bars(counts: Mapping[str, int], order: Sequence[str]) -> list[Bar]:
    top = max(counts.values(), default=0)
    return [
        Bar(label, counts.get(label, 0), BAR_W * counts.get(label, 0) / top if top else 0.0)
        for label in order
    ]
