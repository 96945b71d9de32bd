"""The students' checker, ``check_<hw>.py``: built from the visible tests, run by the student without the solution.

Students never install this repository (it holds the solution), so what the
visible tests check travels as a record. At build time the visible tests run
once against the *solution* handout in the sandbox, and a :class:`Recorder`
keeps, for each test case and in order, every operation it made on the
submission (a call, and for homeworks with objects every method, operator and
attribute on a handle) and every check it made (grader/grading/checks.py) with
its arguments: the student's answers named by the operation that returned
them, the expected values as they were. The checker script carries that record
and the parts of the grader that repeat it (grader/authoring/bundle.py,
grader/grading/replay.py): the same operations on the student's code, the same
check functions on the student's answers, the same rule for a case's result.
Only visible cases are recorded; hidden tests and their values never reach it.

A visible test with logic of its own (a plain ``assert`` on what the test
computed) cannot be repeated without the solution; its case is recorded as
"answer by answer" (each answer against the solution's) and ``grader build``
says which cases those are and why.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from grader.authoring import bundle
from grader.authoring.module import build_module, checker_name, handout_names
from grader.errors import UserError
from grader.files import render, write_atomic
from grader.grading import checks
from grader.grading.cases import Credit, Leaderboard, Plots, Unprinted, WorkedExample
from grader.grading.grade import test_files
from grader.grading.harness import HarnessPlugin, run_tests
from grader.grading.submission import read_submission
from grader.homework.manifest import Manifest
from grader.sandbox import CallResult, Handle, Sandbox, Status, protocol
from grader.sandbox.handles import MODULE_PREFIX, ModuleFunction, identity, type_of


class Unrecordable(Exception):
    """A value a recording cannot hold (an object of the grader's or the reference's): why."""


class Recorder:
    """One visible test case as it runs on the solution: its operations and its checks, in order.

    An argument that is one of the solution's answers is recorded as where it came from
    (``{"from": [step, "value", key...]}``), so the checker passes the student's answer there
    instead. Answers are found by identity: every list, dict, array, float and handle an
    operation returned is remembered with its path. None, True, False, small integers and
    strings are shared by Python, so only a check's student arguments look for them, and
    find the latest answer that was that value.
    """

    def __init__(self):
        self.events: list[dict] = []
        self.fallback = ""
        """Why this case can be checked only answer by answer (empty: its checks are replayed)."""
        self._steps = 0
        self._paths: dict[int, list] = {}
        self._shared: dict[tuple, list] = {}
        self._kept: list = []  # the answers, alive while recording: an id stays theirs
        self._checked: set[int] = set()  # the steps whose answers a check looked at
        self._used: set[int] = set()  # the steps whose answers a later operation was given

    # ----- what the test did -----------------------------------------------------------
    def step(self, op: str, name, target, args, kwargs, result: CallResult, what: str) -> None:
        try:
            event = {
                "op": op,
                "name": name,
                "what": what,
                "target": self._encode(target, student=False),
                "args": self._encode(list(args), student=False),
                "kwargs": self._encode(dict(kwargs), student=False),
                "fails": result.status != Status.OK,
                "answer": _answer_of(result.value),
            }
        except Unrecordable as why:
            self._fall_back(f"{what} was given {why}")
            return
        index, self._steps = self._steps, self._steps + 1
        self.events.append({"step": {**event, "index": index}})
        self._used.update(_steps_named([event["target"], event["args"], event["kwargs"]]))
        self._kept.append(result)
        if result.status == Status.OK:
            self._remember(result.value, [index, "value"])
            self._remember(result.changed, [index, "changed"])

    def check(self, key: str, arguments: dict, students: tuple[str, ...]) -> None:
        encoded, traced = {}, False
        try:
            for parameter, value in arguments.items():
                student = parameter in students
                encoded[parameter] = self._encode(value, student=student, fixtures=True)
                traced |= student and _traced(encoded[parameter])
        except Unrecordable as why:
            self._fall_back(f"{key.rpartition('.')[2]} was given {why}")
            return
        if not traced:
            self._fall_back(f"{key.rpartition('.')[2]} checks a value the test computed from the answers")
        self.events.append({"check": {"key": key, "arguments": encoded}})
        self._checked.update(_steps_named(encoded))

    def finish(self) -> dict:
        """The record: an answer that no check looked at and no later operation was given (the test judged it
        by code of its own) is marked to be compared with the solution's."""
        for event in self.events:
            if "step" in event:
                event["step"]["compare"] = event["step"]["index"] not in self._checked | self._used
        return {"fallback": self.fallback, "events": self.events}

    def plain_assert(self, line: int, source: str) -> None:
        self._fall_back(f"the test's own assert on line {line} ({source[:80]})")

    def _fall_back(self, why: str) -> None:
        self.fallback = self.fallback or why

    # ----- values -------------------------------------------------------------------------
    def _remember(self, value, path: list) -> None:
        if value is None or isinstance(value, (bool, int, str)):
            self._shared[(type(value), value)] = path
            return
        if isinstance(value, Handle) and id(value) in self._paths:
            return  # an object is named by the operation that first returned it, not by a list it reappears in
        self._paths[id(value)] = path
        if isinstance(value, list):
            for index, item in enumerate(value):
                self._remember(item, [*path, index])
        elif isinstance(value, dict):
            for key, item in value.items():
                self._remember(item, [*path, key])

    def _encode(self, value, *, student: bool, fixtures: bool = False):
        if value is None or isinstance(value, (bool, int, str)):
            if student and (type(value), value) in self._shared:
                return {"from": self._shared[(type(value), value)]}
        elif id(value) in self._paths:
            return {"from": self._paths[id(value)]}
        if isinstance(value, Handle):
            raise Unrecordable(f"a {type_of(value)} object no operation of this test returned")
        if isinstance(value, ModuleFunction):
            return {"module": identity(value)[len(MODULE_PREFIX) :]}
        if isinstance(value, Unprinted):
            return {"unprinted": float(value)}
        if fixtures and type(value) in FIXTURES:
            return {"fixture": FIXTURES[type(value)]}
        if isinstance(value, (list, tuple)):
            items = [self._encode(item, student=student, fixtures=fixtures) for item in value]
            return {"tuple": items} if isinstance(value, tuple) else {"list": items}
        if isinstance(value, dict):
            return {
                "dict": [[self._encode(k, student=False), self._encode(v, student=student)] for k, v in value.items()]
            }
        try:
            return {"plain": protocol.to_plain(value)}
        except protocol.NotPlainData:
            raise Unrecordable(f"a {type(value).__name__}") from None


FIXTURES = {Credit: "credit", WorkedExample: "worked_example", Plots: "plots", Leaderboard: "leaderboard"}


def _steps_named(encoded) -> set[int]:
    """The steps whose answers an encoded value holds."""
    if isinstance(encoded, dict):
        if "from" in encoded:
            return {encoded["from"][0]}
        return set().union(*(_steps_named(item) for item in encoded.values()))
    if isinstance(encoded, list):
        return set().union(*(_steps_named(item) for item in encoded))
    return set()


def _traced(encoded) -> bool:
    """Whether an encoded value holds one of the student's answers."""
    if isinstance(encoded, dict):
        if "from" in encoded:
            return True
        return any(_traced(item) for item in encoded.values())
    if isinstance(encoded, list):
        return any(_traced(item) for item in encoded)
    return False


def _answer_of(value):
    """The solution's answer as plain data, its objects as {"object": type}: what the checker compares
    a student's answer with when a test's own checks cannot be replayed."""
    if isinstance(value, Handle):
        return {"object": type_of(value)}
    if isinstance(value, list):
        return {"list": [_answer_of(item) for item in value]}
    if isinstance(value, dict):
        return {"dict": [[{"plain": key}, _answer_of(item)] for key, item in value.items()]}
    try:
        return {"plain": protocol.to_plain(value)}
    except protocol.NotPlainData:
        return {"plain": None}


@dataclasses.dataclass(eq=False)
class _RecordingPlugin(HarnessPlugin):
    """The harness, with a :class:`Recorder` per test case and an eye on the test's own plain asserts."""

    recorders: dict[str, Recorder] = dataclasses.field(default_factory=dict)

    def pytest_runtest_setup(self, item):
        self.recorders[item.nodeid] = recorder = Recorder()
        self._recording = checks.recording.set(recorder)
        super().pytest_runtest_setup(item)

    def pytest_runtest_teardown(self, item):
        checks.recording.reset(self._recording)

    def pytest_assertion_pass(self, item, lineno, orig, expl):
        if not checks.inside_a_check():
            self.recorders[item.nodeid].plain_assert(lineno, orig)


class _RecordingSandbox(Sandbox):
    """The solution's sandbox, telling the recorder of the running case about every operation."""

    def request(self, op, *, target=None, name=None, args=(), kwargs=None, what):
        result = super().request(op, target=target, name=name, args=args, kwargs=kwargs, what=what)
        recorder = checks.recording.get()
        if recorder is not None:
            recorder.step(op, name, target, args, kwargs or {}, result, what)
        return result


def record_visible_cases(manifest: Manifest, workdir: Path) -> list[dict]:
    """Run the visible tests on the solution handout; returns each case with its record."""
    solution = Path(workdir) / f"{manifest.id}.py"
    write_atomic(solution, build_module(manifest, solution=True))
    cases: list[dict] = []
    failures: list[str] = []

    def observe(item, result) -> None:
        if not result.passed:
            failures.append(f"{result.name}: {result.message}")
        record = plugin.recorders[item.nodeid].finish()
        cases.append({"name": result.name, "points": result.max_score, "functions": result.functions, **record})

    sandbox = _RecordingSandbox(
        read_submission(solution), manifest.limits, module_name=manifest.id, packages=manifest.packages
    )
    with sandbox:
        plugin = _RecordingPlugin(
            sandbox=sandbox,
            functions=manifest.functions,
            tests_root=manifest.folder / "tests",
            observer=observe,
            names=handout_names(manifest),
        )
        # The test modules rewritten afresh (not from a cache written without it), with the hook that sees
        # every plain assert that passes.
        with tempfile.TemporaryDirectory(prefix="nn-grader-pycache-") as cache:
            previous, sys.pycache_prefix = sys.pycache_prefix, cache
            try:
                run_tests(plugin, test_files(manifest, ["visible"]), options=["enable_assertion_pass_hook=true"])
            finally:
                sys.pycache_prefix = previous
    if failures:
        raise UserError("the reference solution does not pass these visible tests:\n  " + "\n  ".join(failures))
    return cases


def answer_by_answer(cases: list[dict]) -> list[str]:
    """The cases the checker can only compare answer by answer, each with why (for the build to say)."""
    return [f"{case['name']} answer by answer: {case['fallback']}" for case in cases if case["fallback"]]


def write_checker(manifest: Manifest, folder: Path, cases: list[dict]) -> Path:
    """Render the checker script for ``manifest`` into ``folder``."""
    homework = {
        "id": manifest.id,
        "title": manifest.title,
        "functions": list(manifest.functions),
        "packages": list(manifest.packages),
        "limits": dataclasses.asdict(manifest.limits),
        "cases": cases,
    }
    text = render(
        "checker.py.j2",
        assignment=manifest.id,
        title=manifest.title,
        module_name=f"{manifest.id}.py",
        notebook_name=f"{manifest.id}.ipynb",
        modules_json=json.dumps(bundle.modules(manifest), separators=(",", ":")),
        homework_json=json.dumps(homework, separators=(",", ":")),
    )
    return write_atomic(Path(folder) / checker_name(manifest), text)
