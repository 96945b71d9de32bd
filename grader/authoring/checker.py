"""The students' own visible checks: a script that needs only numpy, written by ``grader build``.

Students never install this repository (it holds the solution), so the
visible tests travel as data: at build time the visible tests run against
the *solution* handout in the sandbox, and every call they make is recorded
with the reference's answer. The script (``templates/checker.py.j2``) replays
those calls on the student's functions and compares each answer with the
recorded one by the course's tolerance policy. Only visible cases are
recorded; hidden tests and their values never reach it.
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
from grader.sandbox import CallResult, Sandbox, Status, protocol


def record_visible_cases(manifest: Manifest, workdir: Path) -> list[dict]:
    """Run the visible tests on the solution handout; returns each test case with its calls and answers."""
    solution = Path(workdir) / f"{manifest.id}.py"
    write_atomic(solution, build_module(manifest, solution=True))
    calls: dict[str, list[dict]] = {}
    cases: list[dict] = []
    failures: list[str] = []

    class Recording(Sandbox):
        """The solution's sandbox, recording every call of the visible tests with its answer."""

        def call(self, function: str, *args, **kwargs) -> CallResult:
            result = super().call(function, *args, **kwargs)
            if result.status == Status.OK:
                calls.setdefault(plugin.current.nodeid, []).append(
                    {
                        "function": function,
                        "args": protocol.to_plain(list(args)),
                        "kwargs": protocol.to_plain(kwargs),
                        "expected": protocol.to_plain(result.value),
                    }
                )
            return result

    def observe(item, result) -> None:
        if result.status != "passed":
            failures.append(f"{result.name}: {result.message}")
        cases.append(
            {
                "name": result.name,
                "points": result.max_score,
                "functions": result.functions,
                "partial": "credit" in item.fixturenames,
                "calls": calls.get(item.nodeid, []),
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
