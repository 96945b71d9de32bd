"""Curves as inline SVG: a student's values beside the reference's, so a report shows where they part.

A plot is plain data, as tests record it (``plots.add`` in the harness) and
results store it: ``{"title", "x_label", "y_label", "series": {name: [y, ...]}}``,
each series indexed 0, 1, 2... (steps, epochs). :func:`svg` draws it with
no script and no external file; every text in it is escaped, since series
names and values can come from a submission.
"""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 420, 220
MARGIN = {"left": 56, "right": 12, "top": 26, "bottom": 34}
COLOURS = ("#c0392b", "#2c7fb8", "#7a7a7a", "#41ab5d")  # the student's first, then the reference's
MAX_POINTS = 2000  # per series: a longer one is thinned evenly (the shape survives; the file stays small)


def svg(plot: dict) -> str:
    """One plot as an ``<svg>`` element (an empty string if it holds nothing finite to draw)."""
    series = {str(name): _thinned(values) for name, values in dict(plot.get("series", {})).items()}
    finite = [y for values in series.values() for _, y in values if math.isfinite(y)]
    if not finite:
        return ""
    longest = max((len(values) for values in series.values()), default=1)
    low, high = min(finite), max(finite)
    if high == low:
        low, high = low - 1.0, high + 1.0
    left, top = MARGIN["left"], MARGIN["top"]
    inner_w, inner_h = WIDTH - left - MARGIN["right"], HEIGHT - top - MARGIN["bottom"]

    def point(x: float, y: float) -> str:
        px = left + inner_w * (x / max(longest - 1, 1))
        py = top + inner_h * (1 - (y - low) / (high - low))
        return f"{px:.1f},{py:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(str(plot.get("title", "")))}">',
        f'<text x="{left}" y="16" font-size="12" font-weight="bold">{escape(str(plot.get("title", "")))}</text>',
        f'<rect x="{left}" y="{top}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#ccc"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{escape(_tick(high))}</text>',
        f'<text x="{left - 4}" y="{top + inner_h}" font-size="10" text-anchor="end">{escape(_tick(low))}</text>',
        f'<text x="{left + inner_w / 2:.0f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle">'
        f"{escape(str(plot.get('x_label', '')))} (0 to {longest - 1})</text>",
        f'<text x="12" y="{top + inner_h / 2:.0f}" font-size="10" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + inner_h / 2:.0f})">{escape(str(plot.get("y_label", "")))}</text>',
    ]
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(point(x, y) for x, y in values if math.isfinite(y))
        dash = ' stroke-dasharray="5 3"' if index else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>')
        parts.append(
            f'<text x="{left + 8 + 110 * index}" y="{top + 14}" font-size="10" fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _thinned(values) -> list[tuple[int, float]]:
    """(index, value) pairs of a series, at most MAX_POINTS of them; what is not a number is left out."""
    numbers = []
    for index, value in enumerate(values if isinstance(values, (list, tuple)) else []):
        try:
            numbers.append((index, float(value)))
        except (TypeError, ValueError):
            continue
    step = max(1, math.ceil(len(numbers) / MAX_POINTS))
    return numbers[::step]


def _tick(value: float) -> str:
    return f"{value:.4g}"
