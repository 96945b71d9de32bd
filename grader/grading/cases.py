"""A graded test case: the fixtures a test uses to grade, and the result of how it ended.

Pytest-free, so the grader's harness (grader/grading/harness.py, a pytest
plugin) and the students' checker (grader/grading/replay.py) build a test's
result by the same rule: what passed, what failed and why, the partial
credit, the worked example's table and the plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from grader.grading import compare, introspection, tolerances
from grader.grading.checks import check
from grader.outputs.results import TestResult, TestStatus, Visibility
from grader.sandbox.calls import OperationFailed, Status, Unavailable
from grader.sandbox.handles import ModuleFunction

if TYPE_CHECKING:
    from grader.sandbox.client import SandboxClient


class Student:
    """``student.forward_pass(...)`` calls the submission's function in the sandbox.

    What comes back is plain data, or handles for objects that stay in the
    sandbox (grader/sandbox/handles.py). A call that does not return raises
    :class:`~grader.sandbox.OperationFailed`, which ends the test. Any
    top-level name of the handout can be reached (``student.Tensor``); passed
    as an argument, ``student.tanh`` names the submission's own function.
    """

    def __init__(self, sandbox: SandboxClient | Unavailable, allowed: tuple[str, ...]):
        self._sandbox, self._allowed = sandbox, allowed

    def __getattr__(self, name: str) -> ModuleFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._allowed:
            raise AttributeError(f"{name} is not a top-level name of this homework's handout")
        return ModuleFunction(self._sandbox, name)

    def __repr__(self) -> str:  # as a failed assert's explanation shows it: student.sigmoid(0.0)
        return "student"


class Credit:
    def __init__(self):
        self.fraction: float | None = None

    @check(student=("fraction",))
    def award(self, fraction: float) -> None:
        """The share of this test's points earned if it fails (it earns all of them if it passes)."""
        self.fraction = min(1.0, max(0.0, float(fraction)))


class Unprinted(float):
    """An intermediate the lecture does not print: the reference's value stands in (``worked_example.reference``)."""


class WorkedExample:
    """The lecture's worked example, intermediate by intermediate (every homework with printed numbers uses it).

    Rows the lecture prints are compared at the precision it prints them, and decide the test; rows it
    does not print are shown beside the reference's value (at the reference tolerance), so the table
    marks where the student's computation really first parts from the right one.
    """

    def __init__(self, credit: Credit):
        self.rows: list[dict] = []
        self.credit = credit

    @staticmethod
    def reference(value: float) -> Unprinted:
        """Stands for the lecture's printed value of an intermediate the lecture does not print."""
        return Unprinted(value)

    def row(self, name: str, student_value, printed: str | Unprinted) -> bool:
        """Record the student's ``name`` beside the lecture's ``printed`` value; returns whether they match."""
        try:
            value = float(student_value)
            if isinstance(printed, Unprinted):
                matches = bool(np.isclose(value, printed, rtol=tolerances.FORWARD_RTOL, atol=tolerances.FORWARD_ATOL))
            else:
                matches = compare.matches_printed(value, printed)
        except (TypeError, ValueError):
            value, matches = None, False
        self.rows.append(
            {
                "name": name,
                "student": value if value is None or math.isfinite(value) else str(value),
                "lecture": float(printed) if isinstance(printed, Unprinted) else printed,
                "matches": matches,
                "source": "reference" if isinstance(printed, Unprinted) else "lecture",
            }
        )
        return matches

    @check(student=("rows",))
    def check(self, function: str, rows: list[tuple[str, object, str | Unprinted]]) -> None:
        """Record every (name, student's value, lecture's printed value or ``reference(value)``), in the order
        the computation goes. The test earns the share of the lecture's printed rows that match, and fails
        naming those that do not (the report shows every row, the first to differ marked)."""
        verdicts = [
            (name, self.row(name, value, printed), isinstance(printed, Unprinted)) for name, value, printed in rows
        ]
        printed = [(name, ok) for name, ok, unprinted in verdicts if not unprinted]
        self.credit.award(sum(ok for _, ok in printed) / len(printed))
        wrong = [name for name, ok in printed if not ok]
        verb = "does" if len(wrong) == 1 else "do"
        first = next(name for name, ok, _ in verdicts if not ok) if wrong else ""
        where = f"; the first value to differ is {first}" if first and first != wrong[0] else ""
        assert not wrong, (
            f"{function}: {', '.join(wrong)} {verb} not match the lecture's worked example{where} (see the table)"
        )


class Plots:
    """Curves a test draws for the report: ``plots.add("loss per step", {"yours": [...], "reference": [...]})``.

    Shown for visible tests only: a hidden test's curves would show its expected values.
    """

    MAX_PLOTS, MAX_VALUES = 6, 10_000

    def __init__(self):
        self.plots: list[dict] = []

    def add(self, title: str, series: dict[str, list[float]], *, x_label: str = "step", y_label: str = "") -> None:
        if len(self.plots) >= self.MAX_PLOTS:
            return
        kept = {str(name): [float(v) for v in list(values)[: self.MAX_VALUES]] for name, values in series.items()}
        self.plots.append({"title": title, "x_label": x_label, "y_label": y_label, "series": kept})


class Leaderboard:
    """Values for Gradescope's leaderboard: ``leaderboard.add("Accuracy", 0.967)``, one entry per name.

    Higher ranks higher (``order="desc"``, Gradescope's default) unless ``order="asc"``. A value that is not a
    finite number (a NaN the student's code reached) is left out: results.json cannot hold it.
    """

    ORDERS = ("desc", "asc")

    def __init__(self):
        self.entries: list[dict] = []

    def add(self, name: str, value: float, *, order: str = "desc") -> None:
        if order not in self.ORDERS:
            raise ValueError(f"a leaderboard's order is 'desc' (higher ranks higher) or 'asc', not {order!r}")
        self.entries = [entry for entry in self.entries if entry["name"] != str(name)]
        if math.isfinite(float(value)):
            self.entries.append({"name": str(name), "value": float(value), "order": order})


@dataclass
class CaseInfo:
    """A test case as collected: its name in results, its share of the test's points, its functions."""

    name: str
    points: float
    functions: list[str]
    visibility: Visibility
    fixtures: dict = field(default_factory=dict)
    """The case's credit, worked_example, plots and leaderboard, once the test asked for them."""


def case_result(info: CaseInfo, error: BaseException | None, grader_errors: list[str]) -> TestResult:
    """The result of a case that ended by raising ``error`` (None: it passed).

    A test's own fault (an error that is neither the student's code failing nor a wrong value) is
    added to ``grader_errors`` and never blamed on the student.
    """
    fixtures = info.fixtures
    result = TestResult(
        info.name,
        0.0,
        round(info.points, 6),
        TestStatus.PASSED,
        info.visibility,
        info.functions,
        details=fixtures["worked_example"].rows if "worked_example" in fixtures else [],
        plots=fixtures["plots"].plots if "plots" in fixtures else [],
        leaderboard=fixtures["leaderboard"].entries if "leaderboard" in fixtures else [],
    )
    if error is None:
        result.score = result.max_score
        return result
    result.status, result.message = _failure(error, result, grader_errors)
    credit = fixtures.get("credit")
    if result.status is TestStatus.FAILED and credit is not None and credit.fraction:
        result.score = round(result.max_score * credit.fraction, 6)
    if not result.message.startswith(result.charged_to):
        result.message = f"{result.charged_to}: {result.message}"
    return result


def _failure(error: BaseException, result: TestResult, grader_errors: list[str]) -> tuple[TestStatus, str]:
    """How the test ended, and the message for the student, from what it raised."""
    if isinstance(error, OperationFailed):
        return _student_failure(error)
    if isinstance(error, compare.WrongType):
        return TestStatus.ERROR, str(error)
    if isinstance(error, compare.Mismatch):
        return TestStatus.FAILED, str(error)
    if isinstance(error, AssertionError):
        if result.hidden:
            return TestStatus.FAILED, "wrong result (a hidden test: its details are not shown)"
        return TestStatus.FAILED, introspection.student_message(error)
    # Anything else is the test's own fault (TestMistake included), never the student's.
    grader_errors.append(f"{result.name}: {type(error).__name__}: {error}")
    return (
        TestStatus.ERROR,
        f"the test itself failed ({type(error).__name__}: {error}); please tell the course staff",
    )


def _student_failure(error: OperationFailed) -> tuple[TestStatus, str]:
    """A test's (status, message) when student code did not return: a blank still to fill is a plain failure."""
    if error.status == Status.TIMEOUT:
        return TestStatus.TIMEOUT, error.message
    what, raised, _ = error.message.partition(" raised NotImplementedError")
    if raised:
        return TestStatus.FAILED, f"{what} is not implemented yet (it still raises NotImplementedError)"
    return TestStatus.ERROR, error.message
