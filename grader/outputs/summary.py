"""The terminal summary of a grading: what `grader grade`, `grader check` and the students' checker print."""

from __future__ import annotations

import sys
import textwrap

from grader.outputs import formatting
from grader.outputs.formatting import first_divergence, worked_example_table
from grader.outputs.results import GradingResult


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
    failing = [t for t in result.tests if not t.passed]
    if failing:
        print("\n  tests that did not pass:", file=out)
    order = {function: n for n, function in enumerate(result.function_scores())}
    failing.sort(key=lambda t: order.get(t.functions[0] if t.functions else "", len(order)))  # by function
    for test, message in zip(failing, formatting.said_once([t.message for t in failing])):
        print(
            f"  {test.status.word:8} {test.score:5.2f}/{test.max_score:<5g} {test.name} ({test.visibility})", file=out
        )
        if message:
            print(textwrap.indent(message, " " * 11), file=out)  # a plain assert's where-lines too
        if first_divergence(test.details) is not None:
            print("\n".join(worked_example_table(test.details, indent=" " * 13)), file=out)
    if not failing:
        which = "" if result.label == "all tests" else f" ({result.label} only)"
        print(f"\n  {formatting.all_passed(len(result.tests))}{which}", file=out)
    if result.protections_off:
        print("\n  sandbox protections that were off: " + "; ".join(result.protections_off), file=out)
