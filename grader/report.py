"""Reports of a grading result: the terminal summary (HTML reports build on the same result)."""

from __future__ import annotations

import sys

from .results import GradingResult

MARK = {"passed": "ok", "failed": "FAILED", "error": "ERROR", "timeout": "TIMEOUT"}


def print_summary(result: GradingResult, stream=None) -> None:
    """Score, points per function, and every test that did not pass with its message."""
    out = stream or sys.stdout
    print(f"{result.assignment}: {result.label}: {result.score:g} / {result.max_score:g} points", file=out)
    print(f"submission: {result.submission}", file=out)
    for message in result.errors:
        print(f"  ! {message}", file=out)
    print("\n  function                      points", file=out)
    for function, (score, possible) in result.function_scores().items():
        print(f"  {function:28} {score:6.2f} / {possible:<5g}", file=out)
    failing = [t for t in result.tests if t.status != "passed"]
    if failing:
        print("\n  tests that did not pass:", file=out)
    for test in failing:
        print(f"  {MARK[test.status]:8} {test.score:5.2f}/{test.max_score:<5g} {test.name} ({test.visibility})", file=out)
        if test.message:
            print(f"           {test.message}", file=out)
        for row in _diverging(test.details):
            print(f"           {row}", file=out)
    if not failing:
        print(f"\n  all {len(result.tests)} {result.label} passed", file=out)
    if result.protections_off:
        print("\n  sandbox protections that were off: " + "; ".join(result.protections_off), file=out)


def _diverging(rows: list[dict]) -> list[str]:
    """The worked example's rows, the first that diverges marked."""
    first = next((i for i, row in enumerate(rows) if not row["matches"]), None)
    if first is None:
        return []
    lines = []
    for i, row in enumerate(rows):
        marker = "<- first to differ" if i == first else ("" if row["matches"] else "<- differs")
        value = "missing" if row["student"] is None else f"{row['student']:.6g}" if isinstance(row["student"], float) else row["student"]
        lines.append(f"  {row['name']:8} yours {value:>12}  lecture {row['lecture']:>10} {marker}")
    return lines
