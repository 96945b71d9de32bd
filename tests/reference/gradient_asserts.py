"""Assertions shared by the engine's tests: one place that says what "the gradients check" means."""

from __future__ import annotations

from collections.abc import Sequence

from reference.gradcheck import GradientCheck


def assert_gradients_pass(reports: Sequence[GradientCheck]) -> None:
    """Every input's analytic gradient matched the numeric one; the message lists all of them."""
    assert reports, "check_gradients returned no report"
    assert all(report.passed for report in reports), "\n".join(str(report) for report in reports)
