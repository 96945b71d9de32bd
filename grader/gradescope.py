"""Gradescope: the autograder zip, and grading inside Gradescope's container.

Gradescope's specification (``gradescope/autograder_samples``, ``docs/specs.md``):
the zip holds ``setup.sh`` and ``run_autograder`` at its root; "/autograder/source
contains the extracted contents of your autograder zip file"; ``run_autograder``
is copied to ``/autograder/run_autograder``; ``setup.sh`` runs once, as root,
while the image is built; for every submission the student's files are put in
``/autograder/submission`` and ``/autograder/run_autograder`` runs, with
``/autograder`` as the working directory, and must write
``/autograder/results/results.json``.

:func:`build_autograder_zip` writes ``dist/<hw>/autograder.zip``, whose root is
what lands in ``/autograder/source``::

    setup.sh              a Python >= 3.11; a venv with the dependencies only; then ``grader gradescope self-test``
    run_autograder        ``grader gradescope run`` in that venv (a 0 saying so if the grader cannot start)
    grader_config.json    {"assignment": "<hw>"}
    pyproject.toml, README.md, reference/, grader/, templates/, assignments/<hw>/

The two scripts are rendered from ``templates/gradescope/``; environment
variables (documented in them) let the project's tests run them outside
Gradescope, with defaults that are Gradescope's paths. The project itself is
*not* pip-installed: it is imported from ``/autograder/source``
(``PYTHONPATH``), which :func:`run` makes readable by root only. An installed
copy in the venv's site-packages would be readable by the sandbox's user
wherever the sandbox cannot hide it (no mount namespace).

:func:`run` grades ``/autograder/submission`` and writes ``results.json``;
:func:`results_json` maps a :class:`~grader.results.GradingResult` to
Gradescope's schema (see its docstring for the status and visibility choices).
:func:`self_test` grades the reference solution where the image is built.
:func:`container_warnings` compares the manifest's ``[limits]`` with the
container of its ``[gradescope]`` table; ``grader build`` prints them.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
import tempfile
import time
import tomllib
import traceback
import zipfile
from pathlib import Path

from . import manifest as manifests
from .errors import UserError
from .files import render, write_atomic
from .grading import grade
from .handout import build_module
from .paths import PROJECT_ROOT
from .results import GradingResult, _finite, write_json_atomically
from .submission import SUBMISSION_SUFFIXES, read_submission

CONFIG_NAME = "grader_config.json"
VENV = "/opt/nn-grader-venv"
HIDDEN_VISIBILITY = "after_published"
GRADER_FOLDER = Path(__file__).resolve().parent
# Shown to students when grading never finished: the file is written before grading starts.
FALLBACK_MESSAGE = ("The autograder did not finish grading this submission (it was stopped before it could write "
                    "its result: out of memory or out of time?). This 0 is a placeholder written before grading "
                    "started, not your grade. Check that your file runs on its own, then submit again or ask your "
                    "instructor.")  # fmt: skip
ERROR_MESSAGE = ("autograder error: the grader itself failed ({what}). This is not a verdict on your code; "
                 "your instructor can see the details. Submit again later or ask your instructor.")  # fmt: skip


# ----- results.json -------------------------------------------------------------------------------------
def results_json(result: GradingResult, manifest: manifests.Manifest | None = None) -> dict:
    """``result`` as Gradescope's ``results.json`` (a dict of plain, finite JSON values).

    Mapping:

    - ``status``: our ``passed`` is Gradescope's ``passed``; ``failed``, ``error`` and ``timeout`` are
      ``failed``, the test's output starting with FAILED / ERROR / TIMEOUT to say which.
    - ``visibility``: visible tests are ``"visible"``; hidden tests are ``"after_published"``: the
      student sees their verdict and message (already redacted by the grader: no expected values,
      no source) once the instructor publishes the grades, so they cannot be used as an oracle by
      resubmitting before the deadline. Gradescope hides the total score from the student while any
      test is hidden, so the top-level ``output`` reports the visible tests' points only; the totals
      are in ``extra_data`` (stored, never shown to students). Hidden tests never carry the worked
      example's table of intermediates.
    - ``number``: the manifest's task id of the test's first function plus its index within that
      task (``"1.3.2"``); tests are listed in the manifest's task order.
    - ``tags``: the student functions the test exercises; ``extra_data``: our own status (passed, failed,
      error or timeout). ``score`` is the sum of the tests' scores.
    """
    if manifest is None:
        try:
            manifest = manifests.load(result.assignment)
        except UserError:
            manifest = None
    task_ids = {task.function: task.id for task in manifest.tasks} if manifest else {}
    order = {function: i for i, function in enumerate(task_ids or result.functions)}

    def task_of(test) -> str:
        return test.functions[0] if test.functions else ""

    ranked = sorted(enumerate(result.tests), key=lambda item: (order.get(task_of(item[1]), len(order)), item[0]))
    counters: dict[str, int] = {}
    tests = []
    for _, test in ranked:
        function = task_of(test)
        prefix = task_ids.get(function) or str(order.get(function, len(order)) + 1)
        counters[prefix] = counters.get(prefix, 0) + 1
        hidden = test.visibility != "visible"
        tests.append({
            "name": test.name + (" (hidden test)" if hidden else ""),
            "number": f"{prefix}.{counters[prefix]}",
            "score": _number(test.score),
            "max_score": _number(test.max_score),
            "status": "passed" if test.status == "passed" else "failed",
            "output": _test_output(test, hidden),
            "output_format": "text",
            "visibility": HIDDEN_VISIBILITY if hidden else "visible",
            "tags": [str(f) for f in test.functions],
            "extra_data": {"status": test.status},  # ours: error and timeout are both Gradescope's "failed"
        })  # fmt: skip
    function_scores = {name: {"score": _number(s), "max_score": _number(m)} for name, (s, m) in result.function_scores().items()}
    data = {
        "score": _number(sum(t["score"] for t in tests)),
        "execution_time": _number(result.execution_time, 3),
        "output": _summary(result),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": result.assignment,
            "submission": os.path.basename(str(result.submission)),
            "label": result.label,
            "score": _number(result.score),
            "max_score": _number(result.max_score),
            "function_scores": function_scores,
            "errors": list(result.errors),
            "protections": dict(result.protections),
            "protections_off": list(result.protections_off),
        },
    }  # fmt: skip
    return _finite(data)


def _number(value, digits: int = 6) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return round(value, digits) if value == value and abs(value) != float("inf") else 0.0


STATUS_WORDS = {"failed": "FAILED", "error": "ERROR", "timeout": "TIMEOUT"}


def _test_output(test, hidden: bool) -> str:
    lines = []
    if test.status == "passed":
        lines.append("passed" + (f": {test.message}" if test.message else ""))
    else:
        lines.append(f"{STATUS_WORDS.get(test.status, test.status.upper())}: {test.message or 'no message'}")
    if test.functions:
        lines.append(f"function: {', '.join(test.functions)}")
    if test.details and not hidden:
        lines += ["", "the lecture's worked example, intermediate by intermediate:"]
        lines += _details_table(test.details)
    return "\n".join(lines)


def _details_table(rows: list[dict]) -> list[str]:
    first = next((i for i, row in enumerate(rows) if not row.get("matches")), None)
    lines = [f"  {'value':10} {'yours':>14} {'lecture':>10}"]
    for i, row in enumerate(rows):
        student = row.get("student")
        shown = "missing" if student is None else f"{student:.6g}" if isinstance(student, float) else str(student)
        mark = "" if row.get("matches") else "  <- first to differ" if i == first else "  <- differs"
        lines.append(f"  {str(row.get('name', '')):10} {shown:>14} {str(row.get('lecture', '')):>10}{mark}")
    return lines


def _summary(result: GradingResult) -> str:
    """What the student sees at the top: the visible tests' points, load errors, per-function points."""
    visible = [t for t in result.tests if t.visibility == "visible"]
    hidden = [t for t in result.tests if t.visibility != "visible"]
    name = os.path.basename(str(result.submission))
    lines = [f"{result.assignment}: graded {name}" if name else result.assignment]
    lines.append(f"visible tests: {sum(_number(t.score) for t in visible):g} / {sum(_number(t.max_score) for t in visible):g} "
                 f"points, {sum(t.status == 'passed' for t in visible)} of {len(visible)} passed")  # fmt: skip
    if hidden:
        lines.append(f"hidden tests: {len(hidden)} tests worth {sum(_number(t.max_score) for t in hidden):g} points; "
                     "their verdicts and your total are shown when your instructor publishes the grades")  # fmt: skip
    if result.errors:
        lines += ["", "problems with the submission:"] + [f"  - {e}" for e in result.errors]
    scores: dict[str, tuple[float, float]] = {}
    for test in visible:
        key = test.functions[0] if test.functions else "(none)"
        s, m = scores.get(key, (0.0, 0.0))
        scores[key] = (s + _number(test.score), m + _number(test.max_score))
    if scores:
        lines += ["", "visible points per function:"]
        lines += [f"  {function:28} {s:6.2f} / {m:g}" for function, (s, m) in scores.items()]
    return "\n".join(lines)


def _message_only(message: str, extra: dict | None = None) -> dict:
    """A 0-point results.json that only says ``message``."""
    return {"score": 0.0, "execution_time": 0.0, "output": message, "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": [], "extra_data": dict(extra or {})}  # fmt: skip


# ----- inside the container -----------------------------------------------------------------------------
def run(root: Path = Path("/autograder"), *, limits: manifests.Limits | None = None) -> int:
    """Grade ``root/submission`` with the homework of ``root/source/grader_config.json``; write ``root/results/results.json``.

    A valid results.json exists on every path: a 0-point placeholder saying that grading did not
    finish is written first, before any student code runs, and replaced (atomically) by the real
    result; an exception in the grader becomes a 0 with an "autograder error" message (the
    traceback goes to stdout, which only instructors see, and to ``extra_data``).

    Before student code runs, when root, ``root/source`` (hidden tests, reference) and
    ``root/results`` are made ``0o700`` and ``submission_metadata.json`` ``0o600``, so the sandbox's
    user cannot read the tests or write a result even where the sandbox gets no namespaces.

    Exit status: 0 whenever a valid results.json was written, whatever the score and even after an
    autograder error (Gradescope reads the file, not the status); 1 only if no results.json could be
    written at all.
    """
    root = Path(root)
    results_path = root / "results" / "results.json"
    started = time.monotonic()
    try:
        write_json_atomically(results_path, _message_only(FALLBACK_MESSAGE, {"placeholder": True}))
    except OSError as error:
        print(f"grader gradescope run: cannot write {results_path}: {error}", file=sys.stderr)
        return 1
    try:
        protect(root)
        data = _grade_for_gradescope(root, limits)
    except Exception as error:  # our own fault, never the student's: still a valid file
        details = traceback.format_exc()
        print(details, file=sys.stdout)
        data = _message_only(ERROR_MESSAGE.format(what=type(error).__name__),
                             {"autograder_error": True, "traceback": details[-4000:]})  # fmt: skip
    data["execution_time"] = round(time.monotonic() - started, 3)
    data.setdefault("extra_data", {})["grader"] = str(GRADER_FOLDER)  # which copy graded: the zip's, for instructors
    try:
        write_json_atomically(results_path, data)
    except (OSError, TypeError, ValueError) as error:
        print(f"grader gradescope run: cannot write {results_path}: {error}; the placeholder stays", file=sys.stderr)
        return 0 if results_path.is_file() else 1
    print(data.get("output", ""))
    print(f"\nresults written to {results_path}: {data.get('score', 0):g} points")
    return 0


def protect(root: Path) -> None:
    """Keep the grader's files from the sandbox's user: only root may read or write them.

    Modes are changed through a descriptor opened without following links, so
    a link in their place never makes its target private (or anything else).
    """
    if os.geteuid() != 0:
        return
    for path, mode, kind in ((root / "source", 0o700, os.O_DIRECTORY), (root / "results", 0o700, os.O_DIRECTORY),
                             (root / "submission_metadata.json", 0o600, 0)):  # fmt: skip
        # submission_metadata.json: previous submissions' results, the group's e-mails
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | kind)
        except OSError:  # absent, or a link: nothing of ours to protect there
            continue
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode) or stat.S_ISREG(os.fstat(fd).st_mode):
                os.fchmod(fd, mode)
        finally:
            os.close(fd)


def read_config(root: Path) -> dict:
    path = root / "source" / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RuntimeError(f"{path} is missing or not valid JSON ({error}): rebuild the autograder zip") from None
    if not isinstance(config, dict) or not isinstance(config.get("assignment"), str):
        raise RuntimeError(f"{path} names no homework: expected {{\"assignment\": \"<hw>\"}}")
    return config


def _grade_for_gradescope(root: Path, limits: manifests.Limits | None) -> dict:
    assignment = read_config(root)["assignment"]
    manifest = manifests.load(assignment)
    folder = root / "submission"
    try:
        submission = read_submission(folder, assignment=manifest.id)
    except UserError as error:
        return _unreadable(manifest, folder, error, limits)
    result = grade(submission.path, manifest.id, limits=limits)
    return results_json(result, manifest)


NOT_RUN = "not run: your submission could not be read (see the message at the top)"
SHOWN_FILES = 5  # of a submission holding no file to grade: enough to see the mistake


def _unreadable(manifest: manifests.Manifest, folder: Path, error: UserError, limits) -> dict:
    """The submission could not be read: one message saying what to submit, and every test at 0, not run.

    The message is the whole top-level output, said once, in the student's terms: file names as
    they submitted them, never the container's paths. The tests stay listed so the breakdown shows.
    """
    message = what_to_submit(manifest, folder, error)
    result = grade(folder, manifest.id, limits=limits)  # every test, each failing at once: nothing is loaded
    data = results_json(result, manifest)
    for test in data["tests"]:
        test["output"] = NOT_RUN
    data["output"] = message
    data["extra_data"]["errors"] = [message]
    data["extra_data"]["unreadable"] = message
    return data


def what_to_submit(manifest: manifests.Manifest, folder: Path, error: UserError) -> str:
    """Why ``folder`` holds nothing to grade, in one line that names the files to submit."""
    wanted = f"submit {manifest.id}.py or {manifest.id}.ipynb"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    if not files:
        return f"Nothing was submitted: {wanted}."
    if not any(Path(name).suffix.lower() in SUBMISSION_SUFFIXES for name in files):
        shown = ", ".join(files[:SHOWN_FILES]) + (f" and {len(files) - SHOWN_FILES} more" if len(files) > SHOWN_FILES else "")
        return f"Your submission has no .py or .ipynb file (it has {shown}): {wanted}."
    text = str(error).replace(f"{folder}/", "")
    if text.startswith(str(folder)):
        text = "Your submission" + text[len(str(folder)):]
    return text.replace(str(folder), "your submission")


def self_test(root: Path = Path("/autograder")) -> int:
    """Grade the reference solution in this container; setup.sh runs it while Gradescope builds the image.

    Prints the score, the protections that hold and those that are off, and the container warnings.
    Exit status 0 only for full marks: an autograder that cannot work in the container fails the
    image build, with the reason in the build's output, instead of giving every student a wrong grade.
    """
    from .handout import build_module  # only here: grading a submission never needs the handout builder

    try:
        manifest = manifests.load(read_config(root)["assignment"])
    except RuntimeError as error:
        raise UserError(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="nn-grader-self-test-") as folder:
        path = write_atomic(Path(folder) / f"{manifest.id}.py", build_module(manifest, solution=True))
        result = grade(path, manifest.id)
    print(f"self-test: the reference solution of {manifest.id} scores {result.score:g} / {result.max_score:g} here")
    print("\n".join([f"  holds: {name}: {how}" for name, how in result.protections.items()]
                    + [f"  off:   {what}" for what in result.protections_off]
                    + [f"  warning: {warning}" for warning in container_warnings(manifest)]))  # fmt: skip
    if abs(result.score - result.max_score) < 1e-9 and not result.errors:
        return 0
    for test in result.tests:
        if test.status != "passed":
            print(f"  {test.name}: {test.status}: {test.message}")
    for error in result.errors:
        print(f"  {error}")
    print("self-test: the autograder does not work in this container: the solution must score full marks", file=sys.stderr)
    return 1


# ----- the autograder zip --------------------------------------------------------------------------------
PROJECT_FILES = ("pyproject.toml", "README.md")
PROJECT_FOLDERS = ("reference", "grader", "templates")
EXCLUDED_PARTS = frozenset({"__pycache__", ".ipynb_checkpoints", "dist"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed: the same project gives the same zip
SCRIPTS = {"setup.sh": "gradescope/setup.sh.j2", "run_autograder": "gradescope/run_autograder.j2"}
# What run_autograder writes when the grader cannot even start (no venv: setup.sh failed?).
NO_GRADER_RESULT = {"score": 0, "execution_time": 0, "output": "autograder error: the grader could not start. This is not a "
                    "verdict on your code; ask your instructor.", "output_format": "text", "visibility": "visible",
                    "stdout_visibility": "hidden", "extra_data": {"autograder_error": True}, "tests": []}  # fmt: skip


def python_minimum() -> tuple[int, int]:
    """The oldest Python the project runs on: pyproject.toml's ``requires-python = ">=X.Y"``."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as f:
        requirement = tomllib.load(f)["project"]["requires-python"]
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)\s*", requirement)
    if not match:
        raise UserError(f"pyproject.toml: requires-python = {requirement!r}; setup.sh understands only \">=X.Y\"")
    return int(match[1]), int(match[2])


def render_scripts(manifest: manifests.Manifest) -> dict[str, str]:
    """setup.sh and run_autograder for ``manifest``, from ``templates/gradescope/``."""
    minimum = python_minimum()
    fallback = json.dumps(NO_GRADER_RESULT)
    assert "'" not in fallback  # run_autograder prints it between single quotes
    context = {"assignment": manifest.id, "venv": VENV, "python_minimum": "%d.%d" % minimum,
               "python_minimum_tuple": "%d, %d" % minimum, "fallback_json": fallback}  # fmt: skip
    return {name: render(template, **context) for name, template in SCRIPTS.items()}


def _project_files(manifest: manifests.Manifest) -> list[tuple[str, Path]]:
    """(name in the zip, file on disk) of the project copy at the zip's root: never tests/, dist/, .git."""
    files = [(name, PROJECT_ROOT / name) for name in PROJECT_FILES if (PROJECT_ROOT / name).is_file()]
    for folder in [PROJECT_ROOT / name for name in PROJECT_FOLDERS] + [PROJECT_ROOT / "assignments" / manifest.id]:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(PROJECT_ROOT)
            if (path.is_file() and not any(part.startswith(".") or part in EXCLUDED_PARTS for part in relative.parts)
                    and path.suffix not in EXCLUDED_SUFFIXES):  # fmt: skip
                files.append((relative.as_posix(), path))
    return files


def build_autograder_zip(manifest: manifests.Manifest, dist_dir: Path) -> Path:
    """Write ``dist_dir/<hw>/autograder.zip`` (atomically) for Gradescope; returns its path.

    The zip's root is what Gradescope unpacks into ``/autograder/source``: ``setup.sh`` and
    ``run_autograder`` (mode 0755), ``grader_config.json``, and the project files the grader needs,
    with only this homework's folder (its hidden tests included: the zip is the instructor's
    upload, never the students').
    """
    if manifest.folder.resolve() != (PROJECT_ROOT / "assignments" / manifest.id).resolve():
        raise UserError(f"{manifest.folder}: the autograder zip needs the homework under assignments/{manifest.id}/")
    target = Path(dist_dir) / manifest.id / "autograder.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    entries = [(name, text.encode(), 0o755) for name, text in render_scripts(manifest).items()]
    entries.append((CONFIG_NAME, (json.dumps({"assignment": manifest.id}, indent=2) + "\n").encode(), 0o644))
    entries += [(name, path.read_bytes(), 0o644) for name, path in _project_files(manifest)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix: unzip honours the mode bits below
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    write_atomic(target, buffer.getvalue())
    return target


# ----- does the homework fit Gradescope's container? ----------------------------------------------------
# The container's memory the grader needs beside one sandbox process: its own process (about 50 MB
# measured), the sandbox's loaded copy of the submission (about 30 MB), and room to spare.
GRADER_MEMORY_MB = 256
# Starting Python, pytest and the homework's tests in the container, on half a CPU, generously.
START_SECONDS = 30


def worst_case_seconds(manifest: manifests.Manifest) -> float:
    """The longest grading of one submission whose every function times out.

    A function that timed out is not run again, so each function costs one ``call_seconds`` at most;
    each time-out restarts the sandbox, which loads the submission again (``load_seconds``). Not
    counted: a submission whose every call takes just under ``call_seconds`` (hw1 makes 42 calls).
    """
    limits, functions = manifest.limits, len(manifest.functions)
    return START_SECONDS + limits.load_seconds * (functions + 1) + limits.call_seconds * functions


def container_warnings(manifest: manifests.Manifest) -> list[str]:
    """Where the manifest's ``[limits]`` exceed the container of its ``[gradescope]`` table, one line each."""
    limits, container = manifest.limits, manifest.gradescope
    warnings = []
    room = container.memory_mb - GRADER_MEMORY_MB
    if limits.memory_mb > room:
        warnings.append(f"[limits] memory_mb = {limits.memory_mb} lets student code take more memory than Gradescope's "
                        f"container has ({container.memory_mb} MB, of which the grader needs about {GRADER_MEMORY_MB}): "
                        f"lower it to {max(room, 0)}, or give the container {limits.memory_mb + GRADER_MEMORY_MB} MB "
                        "in Gradescope's Autograder Settings and in [gradescope] memory_mb")  # fmt: skip
    seconds = worst_case_seconds(manifest)
    if seconds > container.timeout_minutes * 60:
        warnings.append(f"grading one submission can take {seconds:g} s (load_seconds once, then call_seconds and a reload "
                        f"for each of the {len(manifest.functions)} functions, when all time out) but Gradescope stops "
                        f"it after {container.timeout_minutes:g} minutes with a 0 and no breakdown: lower [limits] "
                        "call_seconds or load_seconds, or raise the timeout in Gradescope's Autograder Settings and in "
                        "[gradescope] timeout_minutes")  # fmt: skip
    return warnings
