"""The students' own visible checks: a script that needs only numpy, written by ``grader build``.

Students never install this repository (it holds the solution), so the
visible tests travel as data: at build time the visible tests run against
the *solution* handout in the sandbox, and every operation they make (a
call of a function, and for homeworks with objects, every method, operator
and attribute on a handle) is recorded with the solution's answer, as a
:class:`Trace` per test case. Objects are named by labels ``h1``, ``h2``...
in the order they first came back, so the trace does not depend on the
sandbox's random ids. The script (``templates/checker.py.j2``) replays each
trace on the student's code, in the student's own process, naming their
objects in the same order, and compares each plain answer with the recorded
one by the course's tolerance policy. Only visible cases are recorded;
hidden tests and their values never reach it.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.authoring.module import build_module, checker_name, handout_names
from grader.errors import UserError
from grader.files import render, write_atomic
from grader.grading import tolerances
from grader.grading.grade import test_files
from grader.grading.harness import HarnessPlugin, run_tests
from grader.grading.submission import read_submission
from grader.homework.manifest import Manifest
from grader.sandbox import Sandbox, Status, protocol
from grader.sandbox.handles import MODULE_PREFIX, identity


class Trace:
    """One test case's operations with the solution's answers, objects named by labels."""

    def __init__(self):
        self.steps: list[dict] = []
        self._labels: dict[str, str] = {}

    def record(self, op: str, name: str | None, target, args: tuple, kwargs: dict, value, what: str) -> None:
        self.steps.append(
            {
                "op": op,
                "name": name,
                "what": what,
                "target": self._plain(target),
                "args": self._plain(list(args)),
                "kwargs": self._plain(dict(kwargs)),
                "expected": self._plain(value),
            }
        )

    def _plain(self, value):
        return protocol.to_plain(value, on_object=self._label)

    def _label(self, handle) -> dict:
        key = identity(handle)
        if key.startswith(MODULE_PREFIX):
            return protocol.handle_reference(key)
        if key not in self._labels:
            self._labels[key] = f"h{len(self._labels) + 1}"
        return protocol.handle_reference(self._labels[key])


def record_visible_cases(manifest: Manifest, workdir: Path) -> list[dict]:
    """Run the visible tests on the solution handout; returns each test case with its trace."""
    solution = Path(workdir) / f"{manifest.id}.py"
    write_atomic(solution, build_module(manifest, solution=True))
    traces: dict[str, Trace] = {}
    cases: list[dict] = []
    failures: list[str] = []

    class Recording(Sandbox):
        """The solution's sandbox, recording every operation of the visible tests with its answer."""

        def request(self, op, *, target=None, name=None, args=(), kwargs=None, what):
            result = super().request(op, target=target, name=name, args=args, kwargs=kwargs, what=what)
            if result.status == Status.OK:
                trace = traces.setdefault(plugin.current.nodeid, Trace())
                trace.record(op, name, target, args, kwargs or {}, result.value, what)
            return result

    def observe(item, result) -> None:
        if not result.passed:
            failures.append(f"{result.name}: {result.message}")
        trace = traces.get(item.nodeid)
        cases.append(
            {
                "name": result.name,
                "points": result.max_score,
                "functions": result.functions,
                "partial": "credit" in item.fixturenames,
                "steps": trace.steps if trace else [],
            }
        )

    with Recording(read_submission(solution), manifest.limits, module_name=manifest.id) as sandbox:
        plugin = HarnessPlugin(
            sandbox=sandbox,
            functions=manifest.functions,
            tests_root=manifest.folder / "tests",
            observer=observe,
            names=handout_names(manifest),
        )
        run_tests(plugin, test_files(manifest, ["visible"]))
    if failures:
        raise UserError("the reference solution does not pass these visible tests:\n  " + "\n  ".join(failures))
    return cases


def write_checker(manifest: Manifest, folder: Path, cases: list[dict]) -> Path:
    """Render the checker script for ``manifest`` into ``folder``."""
    text = render(
        "checker.py.j2",
        assignment=manifest.id,
        title=manifest.title,
        module_name=f"{manifest.id}.py",
        notebook_name=f"{manifest.id}.ipynb",
        functions=list(manifest.functions),
        cases_json=json.dumps(cases, separators=(",", ":")),
        rtol=tolerances.FORWARD_RTOL,
        atol=tolerances.FORWARD_ATOL,
        call_seconds=int(manifest.limits.call_seconds),
    )
    return write_atomic(Path(folder) / checker_name(manifest), text)
