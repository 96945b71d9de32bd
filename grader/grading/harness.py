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
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.errors import UserError
from grader.grading import compare, introspection
from grader.grading.cases import CaseInfo, Credit, Leaderboard, Plots, Student, WorkedExample, case_result
from grader.outputs.results import TestResult, Visibility
from grader.sandbox import Sandbox, Unavailable


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
    _cases: dict[str, CaseInfo] = field(default_factory=dict)
    _solution_source: str | None = None

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

    def refuse_unmarked_tests(self) -> None:
        """Raise the homework author's marking mistakes found at collection, if any (no test ran then)."""
        if self.authoring_errors:
            raise UserError("the homework's tests are not marked correctly:\n  " + "\n  ".join(self.authoring_errors))

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
        name = f"{Path(item.path).stem.removeprefix('test_')}::{item.name.removeprefix('test_')}"
        self._cases[item.nodeid] = CaseInfo(name, points / cases, functions, Visibility(folder))
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
        # Built on first use only: most homeworks' tests import the reference instead. Its source is built
        # once per plugin (a batch worker's runs the tests once per submission), its module afresh every run,
        # so that no submission's tests see what another's tests left in it.
        homework = self.tests_root.parent
        if self._solution_source is None:
            from grader.authoring.module import build_module
            from grader.homework import manifest as manifests

            self._solution_source = build_module(manifests.load(homework), solution=True)
        return load_solution(self._solution_source, f"{homework.name}_solution")

    @pytest.fixture
    def credit(self, request):
        credit = Credit()
        self._cases[request.node.nodeid].fixtures["credit"] = credit
        return credit

    @pytest.fixture
    def plots(self, request):
        plots = Plots()
        self._cases[request.node.nodeid].fixtures["plots"] = plots
        return plots

    @pytest.fixture
    def leaderboard(self, request):
        board = Leaderboard()
        self._cases[request.node.nodeid].fixtures["leaderboard"] = board
        return board

    @pytest.fixture
    def worked_example(self, request, credit):
        example = WorkedExample(credit)
        self._cases[request.node.nodeid].fixtures["worked_example"] = example
        return example

    # ----- running ------------------------------------------------------------------
    def pytest_runtest_setup(self, item):
        self.current = item
        self._cases[item.nodeid].fixtures.clear()  # a run before this one (another submission's) made its own
        self.sandbox.reset()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield
        # The copy of the submission this test used ends now, while pytest reports the test: the
        # next test's reset (in setup, above) then finds a fresh copy already there.
        self.sandbox.reset()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        token = compare.reveal_expected.set(self._cases[item.nodeid].visibility is Visibility.VISIBLE)
        try:
            with introspection.readable_values():  # a failed plain assert's values, as the student reads them
                yield
        finally:
            compare.reveal_expected.reset(token)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        """Grade the case from how its call (or its setup, if that failed) ended; pytest's report of it.

        The report is a plain one: pytest's own would render a failure's traceback, which nobody
        reads (the harness says what went wrong from the exception itself) and which takes longer
        than a small homework's tests. A skip is left to pytest to report.
        """
        error = call.excinfo.value if call.excinfo is not None else None
        skipped = isinstance(error, pytest.skip.Exception)
        if call.when == "call" or (call.when == "setup" and error is not None and not skipped):
            result = case_result(self._cases[item.nodeid], error, self.grader_errors)
            self.results.append(result)
            if self.observer is not None:
                self.observer(item, result)
        if skipped:
            return None
        return pytest.TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords={},
            outcome="passed" if error is None else "failed",
            longrepr=None if error is None else f"{type(error).__name__}: {error}",
            when=call.when,
            duration=call.duration,
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


@dataclass(eq=False)
class TestSession:
    """A homework's tests collected once, then run for one submission after another (a batch worker's).

    Given to :func:`run_tests` beside its plugin, it takes over pytest's loop over the tests: once
    collection is done it calls ``serve(self)``, and ``serve`` calls :meth:`run` once per submission,
    until it returns. Each run is a complete one: every fixture, the session's included, is torn down
    after its last test and made again for the next run, and each case's records (credit, plots ...)
    are made afresh. What stays is what collection built: the test modules as imported, so a test
    keeps nothing in a module's globals that a later test reads.
    """

    __test__ = False  # not a test class, whatever its name says
    plugin: HarnessPlugin
    serve: Callable[[TestSession], None]
    broken: bool = False
    """A run ended half way (pytest itself failed): what it set up may not be torn down, so no run follows."""
    _session: pytest.Session | None = None
    _collection_errors: int = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        self._session, self._collection_errors = session, session.testsfailed
        self.serve(self)
        return True  # the tests ran under serve: pytest's own loop must not run them once more

    def run(self, target: Sandbox | Unavailable) -> tuple[list[TestResult], list[str]]:
        """Every collected test against ``target``: the results, and the tests' own faults (grader errors).

        Each test goes through pytest's whole protocol, as in a run of its own: the plugins that
        wrap a test (the values of a failed assert, the test's warning filters) wrap it here too.
        """
        plugin, session = self.plugin, self._session
        plugin.refuse_unmarked_tests()
        if self._collection_errors:  # a test file that does not import
            raise UserError(f"{plugin.tests_root}: the homework's tests could not be collected")
        if self.broken:
            raise UserError("an earlier run of the tests ended half way; the tests must be collected again")
        plugin.sandbox, plugin.results, plugin.grader_errors = target, [], []
        items = session.items
        self.broken = True
        for index, item in enumerate(items):
            # After the last test nothing comes next: every fixture is torn down, the session's too.
            item.ihook.pytest_runtest_protocol(item=item, nextitem=items[index + 1] if index + 1 < len(items) else None)
        self.broken = False
        plugin.sandbox = Unavailable("no submission (between two)")
        return plugin.results, plugin.grader_errors


@contextlib.contextmanager
def _no_input():
    """A test that reads input meets its end at once (EOFError), never waits for the grader's terminal."""
    previous, sys.stdin = sys.stdin, io.StringIO()
    try:
        yield
    finally:
        sys.stdin = previous


def run_tests(
    plugin: HarnessPlugin, test_files: list[Path], options: list[str] = (), session: TestSession | None = None
) -> list[TestResult]:
    """Run ``test_files`` under ``plugin``, quietly; returns the per-case results.

    ``options``: more ini settings (``name=value``). The tests' folder is importable while they run,
    so a homework's tests and conftest import its ``tests/checks.py`` as ``checks``. With ``session``,
    the tests are collected once and run as often as it asks (see :class:`TestSession`).
    """
    args = [str(p) for p in test_files] + [
        "-q",
        # pytest's long tracebacks of failing tests cost a blank handout a second, and are never read:
        # the harness reports each failure from its exception (collection errors still show in full).
        "--tb=line",
        # What tests print is never shown, and this process's output is redirected (below) while they run:
        # capturing it again for each test, at the level of file descriptors, costs a few percent of grading.
        "--capture=no",
        *("-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:doctest", "-p", "no:junitxml"),
        *("-p", "no:pastebin", "-p", "no:stepwise", "-p", "no:logging", "-p", "no:faulthandler"),
        # These two look for exceptions nobody could catch, the first by five full garbage collections at
        # the end of every run (a fifth of a small homework's grading); the harness reports none of them.
        *("-p", "no:unraisableexception", "-p", "no:threadexception"),
        "--import-mode=importlib",
        "--rootdir",
        str(plugin.tests_root.parent),
        "-o",
        "addopts=",
        "-o",
        "python_files=test_*.py",
        *(part for option in options for part in ("-o", option)),
    ]
    output = io.StringIO()
    sys.path.insert(0, str(plugin.tests_root))
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output), _no_plugin_autoload():
            with _no_input():
                code = pytest.main(args, plugins=[plugin] + ([session] if session is not None else []))
    finally:
        sys.path.remove(str(plugin.tests_root))
        _forget_test_modules(plugin.tests_root)
    plugin.refuse_unmarked_tests()
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR) or (
        code == pytest.ExitCode.INTERRUPTED and not plugin.results
    ):
        lines = [line for line in output.getvalue().splitlines() if line.strip()]
        raise UserError("the homework's tests could not be collected:\n  " + "\n  ".join(lines[-15:]))
    return plugin.results
