"""The pytest plugin that turns a homework's tests into graded results.

Tests are ordinary pytest tests. Each carries a marker::

    @pytest.mark.grade(points=2, functions=["backward_pass"])
    @pytest.mark.parametrize("seed", range(4))
    def test_backward_pass_on_random_networks(student, seed):
        ...
        got = student.backward_pass(weights, i, t, forward)     # runs in the sandbox
        assert_close(got, backprop.backward_pass(...), name="backward_pass")

``points`` is the test's worth, shared equally by its parametrized cases;
``functions`` names the student functions it exercises, the first being the
one it is charged to. Visibility comes from the folder: ``tests/visible`` or
``tests/hidden``. Fixtures:

- ``student``: calls into the submission (plain data in and out);
- ``solution``: the solution handout (the homework's sources with their
  bodies) as a module in the grader's process, the reference a test compares
  with: ``solution.sigmoid(z)``. Built once per run, from wherever the sources
  live (a course folder's ``reference/`` too, which tests cannot import);
- ``credit``: ``credit.award(fraction)`` for partial credit when the test fails;
- ``worked_example``: ``worked_example.check(function, rows)`` records the
  student's value of every intermediate beside the lecture's printed one;
- ``plots``: ``plots.add(title, {"yours": [...], "reference": [...]})`` draws
  curves (a trajectory per step) in the report of a visible test;
- ``leaderboard``: ``leaderboard.add("Accuracy", 0.967)`` puts a value the
  student's code reached on Gradescope's leaderboard (``order="asc"`` when
  lower ranks higher, as a time does).

A test passes, fails (a wrong answer: :class:`grader.grading.compare.Mismatch` or any
AssertionError), or ends in ``error``/``timeout`` when the student's code
raised, crashed, ran too long or returned the wrong type of value
(:class:`grader.grading.compare.WrongType`). Not-implemented functions fail with a plain
"not implemented yet". Anything else is a fault in the test itself and is
reported as a grader error, never blamed on the student. A failed plain
``assert`` of a visible test shows the values it compared, as
:mod:`grader.grading.introspection` renders them; a hidden test's shows none.
"""

from __future__ import annotations

import collections
import contextlib
import io
import math
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from grader.errors import UserError
from grader.grading import compare, introspection, tolerances
from grader.outputs.results import TestResult, TestStatus, Visibility
from grader.sandbox import OperationFailed, Sandbox, Status, Unavailable
from grader.sandbox.handles import ModuleFunction


class Student:
    """``student.forward_pass(...)`` calls the submission's function in the sandbox.

    What comes back is plain data, or handles for objects that stay in the
    sandbox (grader/sandbox/handles.py). A call that does not return raises
    :class:`~grader.sandbox.OperationFailed`, which ends the test. Any
    top-level name of the handout can be reached (``student.Tensor``); passed
    as an argument, ``student.tanh`` names the submission's own function.
    """

    def __init__(self, sandbox: Sandbox | Unavailable, allowed: tuple[str, ...]):
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
        assert not wrong, (
            f"{function}: {', '.join(wrong)} {verb} not match the lecture's worked example (see the table)"
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
class _CaseInfo:
    points: float
    functions: list[str]
    visibility: Visibility


@dataclass(eq=False)  # pytest keeps plugins in sets: identity hashing
class HarnessPlugin:
    """Collects the homework's tests, runs them against one submission, and keeps the results."""

    sandbox: Sandbox | Unavailable
    """Where the submission runs; reset before each test case, so each gets a fresh copy of it as loaded."""
    functions: tuple[str, ...]
    tests_root: Path
    names: tuple[str, ...] = ()
    """The handout's top-level names a test may reach through ``student`` (besides the task functions)."""
    results: list[TestResult] = field(default_factory=list)
    grader_errors: list[str] = field(default_factory=list)
    authoring_errors: list[str] = field(default_factory=list)
    observer: Callable[[pytest.Item, TestResult], None] | None = None
    """Called with each test case and its result (the build records visible cases through it)."""
    current: pytest.Item | None = None
    """The test case running now."""
    _cases: dict[str, _CaseInfo] = field(default_factory=dict)
    _extras: dict[str, dict] = field(default_factory=dict)

    # ----- configuration and collection ---------------------------------------------
    def pytest_configure(self, config):
        config.addinivalue_line("markers", "grade(points, functions): points and student functions of a graded test")

    def pytest_collection_modifyitems(self, session, config, items):
        per_test = collections.Counter(self._test_key(item) for item in items)
        for item in items:
            problem = self._describe(item, per_test[self._test_key(item)])
            if problem:
                self.authoring_errors.append(f"{item.path.relative_to(self.tests_root.parent)}::{item.name}: {problem}")
        if self.authoring_errors:
            items[:] = []

    def _describe(self, item, cases: int) -> str:
        """Record the test's points, functions and visibility; returns what is wrong with its marker, if anything."""
        marker = item.get_closest_marker("grade")
        if marker is None:
            return "a graded test needs @pytest.mark.grade(points=..., functions=[...])"
        points, functions = marker.kwargs.get("points"), list(marker.kwargs.get("functions", []))
        if not isinstance(points, (int, float)) or points < 0 or not functions:
            return "@pytest.mark.grade needs points ≥ 0 and a non-empty functions list"
        unknown = [f for f in functions if f not in self.functions]
        if unknown:
            return f"functions {unknown} are not tasks of this homework ({list(self.functions)})"
        folder = item.path.parent.name
        if folder not in set(Visibility):
            return f"tests live in tests/visible/ or tests/hidden/, not in {item.path.parent.name}/"
        self._cases[item.nodeid] = _CaseInfo(points / cases, functions, Visibility(folder))
        return ""

    @staticmethod
    def _test_key(item) -> tuple:
        return (str(item.path), getattr(item, "originalname", item.name))

    # ----- fixtures -----------------------------------------------------------------
    @pytest.fixture
    def student(self):
        return Student(self.sandbox, tuple(self.functions) + tuple(self.names))

    @pytest.fixture(scope="session")
    def solution(self):
        # Built on first use only: most homeworks' tests import the reference instead.
        from grader.authoring.module import build_module
        from grader.homework import manifest as manifests

        homework = self.tests_root.parent
        return load_solution(build_module(manifests.load(homework), solution=True), f"{homework.name}_solution")

    @pytest.fixture
    def credit(self, request):
        credit = Credit()
        self._extras.setdefault(request.node.nodeid, {})["credit"] = credit
        return credit

    @pytest.fixture
    def plots(self, request):
        plots = Plots()
        self._extras.setdefault(request.node.nodeid, {})["plots"] = plots
        return plots

    @pytest.fixture
    def leaderboard(self, request):
        board = Leaderboard()
        self._extras.setdefault(request.node.nodeid, {})["leaderboard"] = board
        return board

    @pytest.fixture
    def worked_example(self, request, credit):
        example = WorkedExample(credit)
        self._extras.setdefault(request.node.nodeid, {})["worked_example"] = example
        return example

    # ----- running ------------------------------------------------------------------
    def pytest_runtest_setup(self, item):
        self.current = item
        self.sandbox.reset()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        token = compare.reveal_expected.set(self._cases[item.nodeid].visibility is Visibility.VISIBLE)
        try:
            with introspection.readable_values():  # a failed plain assert's values, as the student reads them
                yield
        finally:
            compare.reveal_expected.reset(token)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and report.failed):
            result = self._result(item, call)
            self.results.append(result)
            if self.observer is not None:
                self.observer(item, result)

    def _result(self, item, call) -> TestResult:
        info = self._cases[item.nodeid]
        extras = self._extras.pop(item.nodeid, {})
        rows = extras["worked_example"].rows if "worked_example" in extras else []
        name = f"{Path(item.path).stem.removeprefix('test_')}::{item.name.removeprefix('test_')}"
        drawn = extras["plots"].plots if "plots" in extras else []
        result = TestResult(
            name,
            0.0,
            round(info.points, 6),
            TestStatus.PASSED,
            info.visibility,
            info.functions,
            details=rows,
            plots=drawn,
            leaderboard=extras["leaderboard"].entries if "leaderboard" in extras else [],
        )
        error = call.excinfo.value if call.excinfo is not None else None
        if error is None:
            result.score = result.max_score
            return result
        result.status, result.message = self._failure(error, result)
        credit = extras.get("credit")
        if result.status is TestStatus.FAILED and credit is not None and credit.fraction:
            result.score = round(result.max_score * credit.fraction, 6)
        if not result.message.startswith(result.charged_to):
            result.message = f"{result.charged_to}: {result.message}"
        return result

    def _failure(self, error: BaseException, result: TestResult) -> tuple[TestStatus, str]:
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
        self.grader_errors.append(f"{result.name}: {type(error).__name__}: {error}")
        return (
            TestStatus.ERROR,
            f"the test itself failed ({type(error).__name__}: {error}); please tell the course staff",
        )


def load_solution(source: str, name: str) -> types.ModuleType:
    """The solution handout's ``source`` run as a module named ``name``, in this process (it is the instructor's)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module  # while it runs: dataclasses and the like look their module up there
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


def _student_failure(error: OperationFailed) -> tuple[TestStatus, str]:
    """A test's (status, message) when student code did not return: a blank still to fill is a plain failure."""
    if error.status == Status.TIMEOUT:
        return TestStatus.TIMEOUT, error.message
    what, raised, _ = error.message.partition(" raised NotImplementedError")
    if raised:
        return TestStatus.FAILED, f"{what} is not implemented yet (it still raises NotImplementedError)"
    return TestStatus.ERROR, error.message


def _forget_test_modules(tests_root: Path) -> None:
    """Drop the homework's test modules from sys.modules after a run.

    pytest names them by path relative to the homework ("tests.visible.test_x"),
    so another homework's tests (or the same tests, edited) graded later in
    this process would otherwise silently reuse these modules.
    """
    root = str(tests_root.resolve())
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(root + os.sep):
            del sys.modules[name]


@contextlib.contextmanager
def _no_plugin_autoload():
    """Installed pytest plugins (hypothesis, benchmark...) stay out of grading: they cost time and change nothing."""
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous


def run_tests(plugin: HarnessPlugin, test_files: list[Path]) -> list[TestResult]:
    """Run ``test_files`` under ``plugin``, quietly; returns the per-case results."""
    args = [str(p) for p in test_files] + [
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--import-mode=importlib",
        "--rootdir",
        str(plugin.tests_root.parent),
        "-o",
        "addopts=",
        "-o",
        "python_files=test_*.py",
    ]
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output), _no_plugin_autoload():
            code = pytest.main(args, plugins=[plugin])
    finally:
        _forget_test_modules(plugin.tests_root)
    if plugin.authoring_errors:
        raise UserError("the homework's tests are not marked correctly:\n  " + "\n  ".join(plugin.authoring_errors))
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR) or (
        code == pytest.ExitCode.INTERRUPTED and not plugin.results
    ):
        lines = [line for line in output.getvalue().splitlines() if line.strip()]
        raise UserError("the homework's tests could not be collected:\n  " + "\n  ".join(lines[-15:]))
    return plugin.results
