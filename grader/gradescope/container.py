"""Grading inside Gradescope's container: ``grader gradescope run`` and ``grader gradescope self-test``.

Gradescope's specification (``gradescope/autograder_samples``, ``docs/specs.md``): for every
submission the student's files are put in ``/autograder/submission`` and
``/autograder/run_autograder`` runs, as root, with ``/autograder`` as the working directory, and
must write ``/autograder/results/results.json``. :func:`run` does that, on every path (crash,
timeout, out of memory); :func:`self_test` grades the reference solution where the image is built.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
import time
import traceback
from pathlib import Path

from grader.errors import UserError
from grader.files import write_atomic
from grader.gradescope.autograder_zip import CONFIG_NAME, COURSE_FOLDER, container_warnings
from grader.gradescope.results_json import message_only, results_json
from grader.grading.grade import grade
from grader.grading.submission import SUBMISSION_SUFFIXES, read_submission
from grader.homework import course as courses
from grader.homework import manifest as manifests
from grader.outputs.results import write_json_atomically

GRADER_FOLDER = Path(__file__).resolve().parent.parent
# Shown to students when grading never finished: the file is written before grading starts.
FALLBACK_MESSAGE = (
    "The autograder did not finish grading this submission (it was stopped before it could write "
    "its result: out of memory or out of time?). This 0 is a placeholder written before grading "
    "started, not your grade. Check that your file runs on its own, then submit again or ask your "
    "instructor."
)
ERROR_MESSAGE = (
    "autograder error: the grader itself failed ({what}). This is not a verdict on your code; "
    "your instructor can see the details. Submit again later or ask your instructor."
)


def run(root: Path = Path("/autograder"), *, limits: manifests.Limits | None = None) -> int:
    """Grade ``root/submission`` with the homework of ``root/source/grader_config.json``.

    Writes ``root/results/results.json``.

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
        write_json_atomically(results_path, message_only(FALLBACK_MESSAGE, {"placeholder": True}))
    except OSError as error:
        print(f"grader gradescope run: cannot write {results_path}: {error}", file=sys.stderr)
        return 1
    try:
        protect(root)
        data = _grade_for_gradescope(root, limits)
    except Exception as error:  # our own fault, never the student's: still a valid file
        details = traceback.format_exc()
        print(details, file=sys.stdout)
        data = message_only(
            ERROR_MESSAGE.format(what=type(error).__name__), {"autograder_error": True, "traceback": details[-4000:]}
        )
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
    for path, mode, kind in (
        (root / "source", 0o700, os.O_DIRECTORY),
        (root / "results", 0o700, os.O_DIRECTORY),
        (root / "submission_metadata.json", 0o600, 0),
    ):
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
    """The zip's ``grader_config.json``; a homework from a course folder makes the zip's ``course/`` searched first."""
    path = root / "source" / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RuntimeError(f"{path} is missing or not valid JSON ({error}): rebuild the autograder zip") from None
    if not isinstance(config, dict) or not isinstance(config.get("assignment"), str):
        raise RuntimeError(f'{path} names no homework: expected {{"assignment": "<hw>"}}')
    if "course" in config:
        if config["course"] != COURSE_FOLDER:
            raise RuntimeError(f'{path}: "course" must be "{COURSE_FOLDER}", the zip\'s course folder')
        courses.use(root / "source" / COURSE_FOLDER)
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
    files = (
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    )
    if not files:
        return f"Nothing was submitted: {wanted}."
    if not any(Path(name).suffix.lower() in SUBMISSION_SUFFIXES for name in files):
        shown = ", ".join(files[:SHOWN_FILES]) + (
            f" and {len(files) - SHOWN_FILES} more" if len(files) > SHOWN_FILES else ""
        )
        return f"Your submission has no .py or .ipynb file (it has {shown}): {wanted}."
    text = str(error).replace(f"{folder}/", "")
    if text.startswith(str(folder)):
        text = "Your submission" + text[len(str(folder)) :]
    return text.replace(str(folder), "your submission")


def self_test(root: Path = Path("/autograder")) -> int:
    """Grade the reference solution in this container; setup.sh runs it while Gradescope builds the image.

    Prints the score, the protections that hold and those that are off, and the container warnings.
    Exit status 0 only for full marks: an autograder that cannot work in the container fails the
    image build, with the reason in the build's output, instead of giving every student a wrong grade.
    """
    from grader.authoring.module import build_module  # only here: grading a submission never needs the handout builder

    try:
        manifest = manifests.load(read_config(root)["assignment"])
    except RuntimeError as error:
        raise UserError(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="nn-grader-self-test-") as folder:
        path = write_atomic(Path(folder) / f"{manifest.id}.py", build_module(manifest, solution=True))
        result = grade(path, manifest.id)
    print(f"self-test: the reference solution of {manifest.id} scores {result.score:g} / {result.max_score:g} here")
    print(
        "\n".join(
            [f"  holds: {name}: {how}" for name, how in result.protections.items()]
            + [f"  off:   {what}" for what in result.protections_off]
            + [f"  warning: {warning}" for warning in container_warnings(manifest)]
        )
    )
    if abs(result.score - result.max_score) < 1e-9 and not result.errors:
        return 0
    for test in result.tests:
        if not test.passed:
            print(f"  {test.name}: {test.status}: {test.message}")
    for error in result.errors:
        print(f"  {error}")
    print(
        "self-test: the autograder does not work in this container: the solution must score full marks", file=sys.stderr
    )
    return 1
