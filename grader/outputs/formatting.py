"""How results are written out: numbers, values and the worked example's table, one way everywhere.

The terminal summary, the HTML report, the gradebook and Gradescope's results.json all call
these, so a score or a student's value reads the same in each.
"""

from __future__ import annotations

import math

NOTES = {"matches": "", "first": "<- first to differ", "differs": "<- differs"}


def points(value: float, digits: int = 3) -> str:
    """A score as text: rounded to ``digits`` decimals, no trailing zeros ("13.8", "20", "0.333")."""
    return f"{round(finite(value), digits):g}"


def all_passed(count: int) -> str:
    """ "all 42 tests passed", or "the one test passed": said the same in every report."""
    return "the one test passed" if count == 1 else f"all {count} tests passed"


AS_ABOVE = "(the same as above)"


def said_once(messages: list[str]) -> list[str]:
    """Each message, or :data:`AS_ABOVE` where it repeats the one before it: when a function's tests all fail
    for one reason (its file did not load), the reason is said once, not once per test."""
    return [AS_ABOVE if m and n and m == messages[n - 1] else m for n, m in enumerate(messages)]


def finite(value, digits: int = 6) -> float:
    """A number strict JSON readers accept: rounded, and 0.0 for NaN, ±inf or what is not a number."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return round(value, digits) if math.isfinite(value) else 0.0


def json_safe(value):
    """``value`` with NaN and ±inf as strings ("nan"): strict JSON readers (Gradescope's) reject them as numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def shown_value(value) -> str:
    """A student's or the lecture's value: floats to 6 significant digits, None as "missing"."""
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def first_divergence(rows: list[dict]) -> int | None:
    """Index of the first worked-example row whose value differs from the lecture's, or None."""
    return next((i for i, row in enumerate(rows) if not row.get("matches")), None)


def worked_example_rows(rows: list[dict]) -> list[dict]:
    """The worked example's rows as text, each with its verdict: "matches", "first" (to differ) or "differs".

    A row the lecture does not print shows the reference's value, marked "(ref.)"."""
    first = first_divergence(rows)
    shown = []
    for i, row in enumerate(rows):
        verdict = "matches" if row.get("matches") else "first" if i == first else "differs"
        shown.append(
            {
                "name": str(row.get("name", "")),
                "student": shown_value(row.get("student")),
                "lecture": shown_value(row.get("lecture")) + (" (ref.)" if row.get("source") == "reference" else ""),
                "verdict": verdict,
                "note": NOTES[verdict],
            }
        )
    return shown


def worked_example_table(rows: list[dict], indent: str = "  ") -> list[str]:
    """The worked example as lines of plain text: each intermediate, the student's value beside the lecture's."""
    lines = [f"{indent}{'value':10} {'yours':>14} {'lecture':>10}"]
    for row in worked_example_rows(rows):
        note = f"  {row['note']}" if row["note"] else ""
        lines.append(f"{indent}{row['name']:10} {row['student']:>14} {row['lecture']:>10}{note}")
    return lines
