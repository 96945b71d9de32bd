"""Grade one submission: read it, load it in the sandbox, run the homework's tests, total the points.

Every submission gets a complete :class:`GradingResult`: one that cannot be
read or loaded still gets every test, each with status ``error`` and a
message saying why, and a score of 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.authoring.module import handout_names
from grader.errors import UserError
from grader.grading.loading import load_problems
from grader.grading.submission import Submission, read_submission
from grader.homework import manifest as manifests
from grader.outputs.results import GradingResult, TestResult
from grader.sandbox import Sandbox, Unavailable

if TYPE_CHECKING:
    from grader.grading.harness import TestSession

VISIBILITIES = ("visible", "hidden")


def test_files(manifest: manifests.Manifest, visibilities=VISIBILITIES) -> list[Path]:
    files = [f for v in visibilities for f in sorted(manifest.tests_dir(v).glob("test_*.py"))]
    if not files:
        raise UserError(
            f"{manifest.folder}/tests: no test_*.py files in {' or '.join(f'tests/{v}/' for v in visibilities)}"
        )
    return files


def check_points(manifest: manifests.Manifest, tests: list[TestResult]) -> None:
    """The points of the tests charged to each function must add up to the manifest's points for it."""
    charged: dict[str, float] = {}
    for test in tests:
        charged[test.functions[0]] = charged.get(test.functions[0], 0.0) + test.max_score
    problems = [
        f"{task.function} has {charged.get(task.function, 0.0):g} points of tests "
        f"but the manifest gives it {task.points:g}"
        for task in manifest.tasks
        if abs(charged.get(task.function, 0.0) - task.points) > 1e-6
    ]
    if problems:
        raise UserError(f"{manifest.folder / 'manifest.toml'}: points do not add up: " + "; ".join(problems))


def _sandbox_for(submission: Submission, manifest: manifests.Manifest, limits, use_namespaces: bool) -> Sandbox:
    """The submission's sandbox: the homework's limits and packages, its own and its course's folders hidden."""
    return Sandbox(
        submission,
        limits,
        module_name=manifest.id,
        use_namespaces=use_namespaces,
        remember_timeouts=True,
        packages=manifest.packages,
        private=[folder for folder in (manifest.folder, manifest.course) if folder is not None],
    )


def _loaded(sandbox: Sandbox, submission: Submission, errors: list[str]) -> Sandbox | Unavailable:
    """Wait for the submission to load; what the tests then call (the sandbox, or why nothing can run)."""
    report = sandbox.finish_loading()
    if report.fatal:
        errors.append(report.fatal)
        return Unavailable(report.fatal)
    problems, sandbox.missing_hints = load_problems(submission, report)
    errors.extend(problems)
    return sandbox


@dataclass
class Started:
    """A submission read and its sandbox started, still loading: what :func:`grade` goes on with."""

    submission: Submission | None
    sandbox: Sandbox | None
    errors: list[str]
    unreadable: str = ""
    """Why the submission could not be read (then there is no sandbox)."""


def start(
    submission_path: Path,
    assignment: str | manifests.Manifest,
    use_namespaces: bool = True,
    limits: manifests.Limits | None = None,
) -> Started:
    """Read ``submission_path`` and start its sandbox, without waiting for it to load.

    :func:`grade` does this itself; a batch worker does it for the next submission while it tests
    the current one, so that one's load costs no waiting.
    """
    manifest = manifests.of(assignment)
    try:
        submission = read_submission(Path(submission_path), assignment=manifest.id)
    except UserError as error:
        return Started(None, None, [str(error)], f"the submission could not be read: {error}")
    sandbox = _sandbox_for(submission, manifest, limits or manifest.limits, use_namespaces)
    try:
        sandbox.spawn()
    except BaseException:
        sandbox.close()  # its work folder and its user id
        raise
    return Started(submission, sandbox, list(submission.warnings))


def grade(
    submission_path: Path,
    assignment: str | manifests.Manifest,
    visibilities=VISIBILITIES,
    use_namespaces: bool = True,
    limits: manifests.Limits | None = None,
    session: TestSession | None = None,
    started: Started | None = None,
) -> GradingResult:
    """Grade ``submission_path`` (a .py, an .ipynb or a folder holding one) against ``assignment``'s tests
    (``assignment``: a homework id or folder, or its manifest as loaded).

    ``limits`` replaces the manifest's sandbox limits (tests use short ones). ``session``: the
    homework's tests (all of them) already collected, as a batch worker keeps them; else they are
    collected for this submission alone. ``started``: what :func:`start` gave for this submission
    (with the same ``use_namespaces`` and ``limits``), else it is started here.
    """
    began = time.monotonic()
    manifest = manifests.of(assignment)
    limits = limits or manifest.limits
    files = test_files(manifest, visibilities)
    sandbox = None
    try:
        # The child starts while the harness and pytest are imported, just below.
        started = started or start(submission_path, manifest, use_namespaces, limits)
        submission, sandbox, errors = started.submission, started.sandbox, started.errors
        from grader.grading.harness import HarnessPlugin, run_tests

        target = _loaded(sandbox, submission, errors) if sandbox is not None else Unavailable(started.unreadable)
        if session is not None:
            tests, grader_errors = session.run(target)
        else:
            plugin = HarnessPlugin(
                sandbox=target,
                functions=manifest.functions,
                tests_root=manifest.folder / "tests",
                names=handout_names(manifest),
            )
            tests, grader_errors = run_tests(plugin, files), plugin.grader_errors
    finally:
        if sandbox is not None:
            sandbox.close()
    if set(visibilities) == set(VISIBILITIES):
        check_points(manifest, tests)
    if sandbox is not None and sandbox.output_truncated:
        errors.append(f"the submission printed more than {limits.output_kb} KiB; only the first were kept")
    errors.extend(f"grader error in {e}" for e in grader_errors)
    label = "all tests" if set(visibilities) == set(VISIBILITIES) else " and ".join(visibilities) + " tests"
    return GradingResult.of(
        tests,
        assignment=manifest.id,
        submission=str(submission_path),
        errors=errors,
        label=label,
        functions=list(manifest.functions),
        protections=sandbox.protections if sandbox else {},
        protections_off=sandbox.protections_off if sandbox else [],
        execution_time=time.monotonic() - began,
    )
