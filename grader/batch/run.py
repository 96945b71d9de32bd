"""Grading a class in parallel: every submission gets a result, whatever happens to the others.

The homework itself is checked once before anyone is graded (a bad manifest or tests that do not
collect stop the batch with a message); after that one broken submission never stops it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch.discover import Entry, discover
from grader.batch.fingerprint import fingerprint, homework_hash
from grader.batch.lateness import late_record, read_times
from grader.batch.workers import grade_jobs, usable_cores
from grader.errors import UserError
from grader.files import write_atomic
from grader.homework import manifest as manifests
from grader.outputs.gradebook import write_gradebook
from grader.outputs.release import write_not_graded, write_release
from grader.outputs.results import GradingResult, TestResult, write_json_atomically

if TYPE_CHECKING:
    from grader.grading.grade import Started
    from grader.grading.harness import TestSession
    from grader.grading.submission import Submission


def check_homework(manifest: manifests.Manifest) -> list[TestResult]:
    """Collect and run the homework's tests against nothing, in this process: the tests every result will have.

    A bad marker, a test file that does not import, or points that do not add
    up raise :class:`UserError` here, before anyone is graded.
    """
    from grader.authoring.module import handout_names
    from grader.grading.grade import VISIBILITIES, check_points, test_files
    from grader.grading.harness import HarnessPlugin, run_tests
    from grader.sandbox import Unavailable

    plugin = HarnessPlugin(
        sandbox=Unavailable("no submission (checking the homework)"),
        functions=manifest.functions,
        tests_root=manifest.folder / "tests",
        names=handout_names(manifest),
    )
    tests = run_tests(plugin, test_files(manifest, VISIBILITIES))
    if plugin.grader_errors:
        raise UserError(
            f"{manifest.folder / 'tests'}: tests fail before calling any student code: "
            + "; ".join(plugin.grader_errors[:5])
        )
    check_points(manifest, tests)
    return tests


def failed_result(
    tests: list[TestResult], submission: Path, manifest: manifests.Manifest, message: str
) -> GradingResult:
    """A complete result, every test an error with ``message``, for a submission the grader itself failed on."""
    return GradingResult.of(
        [replace(t, score=0.0, status="error", message=f"{t.functions[0]}: {message}", details=[]) for t in tests],
        assignment=manifest.id,
        submission=str(submission),
        errors=[message],
        functions=list(manifest.functions),
    )


@dataclass(frozen=True)
class _Job:
    """One student's submission to grade (``entry``), and where its report and result go (``out``/<student>/)."""

    entry: Entry
    manifest: manifests.Manifest
    tests: list[TestResult]
    limits: manifests.Limits
    out: Path
    extension: datetime | None = None


def _start_one(job: _Job) -> Started | None:
    """In a worker, ahead of grading: the submission read and its sandbox started (None if that failed:
    :func:`_grade_one` then starts it itself, and says what went wrong)."""
    from grader.grading.grade import start

    try:
        return start(job.entry.path, job.manifest, limits=job.limits)
    except Exception:
        return None


def _grade_one(job: _Job, session: TestSession | None, started: Started | None = None) -> tuple[dict, str]:
    """In a worker: grade the job and save its report and result; (the result's dict, the grader's own error or "").

    The worker saves them, not the batch's own process: workers write (and wait for the disk) side by
    side, and the process that hands out the jobs is never held up by a write.

    ``session``: the worker's tests, collected once (None: collected for this job alone);
    ``started``: what :func:`_start_one` gave for this job.
    """
    from grader.grading.grade import grade
    from grader.outputs.report import html_report

    crash = ""
    try:
        result = grade(job.entry.path, job.manifest, limits=job.limits, session=session, started=started)
    except Exception as error:  # one submission's grader failure must not stop the class: it gets a result
        crash = f"the grader failed on this submission ({type(error).__name__}: {error}); please tell the course staff"
        result = failed_result(job.tests, job.entry.path, job.manifest, crash)
    finally:
        if started is not None and started.sandbox is not None:
            started.sandbox.close()  # grading closes it; not if it failed before it could
    result.late = late_record(job.manifest.deadline, job.entry.submitted_at, job.extension, result.score)
    page, cells = _notebook_page(job, started.submission if started is not None else None)
    try:
        html = html_report(result, cells=cells)
    except Exception as error:
        crash = crash or f"the report could not be rendered ({type(error).__name__}: {error})"
        html = _plain_report(result, crash)
    data = result.to_dict()
    _save(job.out, job.entry, data, html, page)
    return data, crash


def _notebook_page(job: _Job, submission: Submission | None = None) -> tuple[str | None, dict[str, str]]:
    """A notebook submission rendered for the TA, and the cell defining each function (else (None, {})).

    ``submission``: the job's, as :func:`_start_one` read it (else it is read here).
    """
    from grader.grading.loading import where_defined
    from grader.grading.submission import read_submission
    from grader.outputs import notebook_view

    try:
        submission = submission or read_submission(job.entry.path, job.manifest.id)
    except UserError:
        return None, {}
    if submission.kind != "notebook" or not submission.path.is_file():  # inside an archive: not on disk
        return None, {}
    page = notebook_view.render(submission.path)
    if page is None:
        return None, {}
    return page, {name: notebook_view.cell_anchor(label) for name, label in where_defined(submission).items()}


def _plain_report(result: GradingResult, problem: str) -> str:
    rows = "".join(
        f"<tr><td>{escape(t.name)}</td><td>{t.score:g} / {t.max_score:g}</td><td>{escape(t.status)}</td>"
        f"<td>{escape(t.message)}</td></tr>"
        for t in result.tests
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{escape(result.assignment)}</title>"
        f"<h1>{escape(result.assignment)}: {result.score:g} / {result.max_score:g}</h1><p>{escape(problem)}</p>"
        f"<table>{rows}</table>\n"
    )


def _load_previous(folder: Path, wanted: dict) -> GradingResult | None:
    """The result saved in ``folder`` if its fingerprint is ``wanted``, else None."""
    try:
        data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        if data.pop("fingerprint", None) != wanted:
            return None
        return GradingResult.from_dict(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _save(out: Path, entry: Entry, data: dict, html: str, notebook_page: str | None = None) -> None:
    """The report (and the notebook's page) first, the result last: a result.json on disk means this student is done."""
    if notebook_page is not None:
        write_atomic(out / entry.student / "notebook.html", notebook_page)
    write_atomic(out / entry.student / "report.html", html)
    write_json_atomically(out / entry.student / "result.json", {**data, "fingerprint": entry.fingerprint})


def _grade_all(jobs: dict[str, _Job], workers: int, on_done) -> None:
    """Grade every job; if a worker process dies, regrade what it took down one at a time, and only then give up."""
    lost = grade_jobs(jobs, workers, _start_one, _grade_one, on_done)
    for student, job in lost.items():
        if grade_jobs({student: job}, 1, _start_one, _grade_one, on_done):
            message = "the grading process died on this submission (out of memory?); please tell the course staff"
            result = failed_result(job.tests, job.entry.path, job.manifest, message)
            _save(job.out, job.entry, result.to_dict(), _plain_report(result, message))
            on_done(student, (result.to_dict(), message))


def run_batch(
    folder: Path,
    assignment: str,
    out: Path,
    workers: int | None = None,
    only: tuple[str, ...] = (),
    force: bool = False,
    times: Path | None = None,
    extensions: Path | None = None,
) -> int:
    """Grade every submission in ``folder`` into ``out``; 0 when every submission got its result from the grader.

    ``only`` regrades the submissions of those students (their ids) whatever their fingerprints say;
    ``force`` regrades every submission. ``times`` and ``extensions`` are CSVs (``student,submitted_at``,
    ``student,due``) for the homework's late policy. 1 when the grader itself failed on some
    submission (each still got a result, score 0, saying so).
    """
    started = time.monotonic()
    folder, out = Path(folder), Path(out)
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: give at least 1")
    manifest = manifests.load(assignment)
    found = discover(folder, out)
    prepare_output(out)
    regrade = _regrade_rule(found.entries, only, force)
    due_dates = _apply_times(found.entries, manifest, times, extensions)
    for note in found.notes:
        print(f"note: {note}", file=sys.stderr)
    for name, reason in found.not_graded:
        print(f"not graded: {name}: {reason}", file=sys.stderr)
    template = check_homework(manifest)
    results, jobs = _reuse_unchanged(found.entries, manifest, template, out, regrade, due_dates)
    skipped = len(results)
    crashes = _grade_with_progress(jobs, manifest, workers or usable_cores(), results)
    ordered = [(entry, results[entry.student]) for entry in found.entries]
    written = _write_class_files(out, ordered, folder, template, manifest, found.not_graded)
    _tell_totals(manifest, ordered, len(jobs), skipped, len(found.not_graded), time.monotonic() - started)
    print("\n".join(f"  {what:11}{where}" for what, where in written.items()))
    for student, crash in crashes.items():
        print(f"grader batch: {student}: {crash}", file=sys.stderr)
    return 1 if crashes else 0


def prepare_output(out: Path) -> None:
    """Check, before anything is graded, that results can be written to ``out`` (a folder, made if need be)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: give a folder for the gradebook, reports and results")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".nn-grader-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"--out {out} cannot be written ({error.strerror}): choose a folder you can write to") from None


def _regrade_rule(entries: list[Entry], only: tuple[str, ...], force: bool):
    """Which entries to grade again whatever their fingerprints; an --only id matching no one is a usage error."""
    ids = {entry.student: {entry.student, *(person.id for person in entry.submitters)} for entry in entries}
    unknown = sorted(set(only) - set().union(*ids.values()))
    if unknown:
        raise UserError(f"--only {' '.join(unknown)}: no submission of that student in this folder")
    return lambda entry: force or bool(ids[entry.student] & set(only))


def _tell_totals(manifest, ordered, graded: int, skipped: int, not_graded: int, seconds: float) -> None:
    scores = [r.score for _, r in ordered]
    unloadable = sum(not result.loaded for _, result in ordered)
    print(
        f"{manifest.id}: {len(ordered)} submissions: {graded} graded, "
        f"{skipped} skipped (unchanged, results reused); "
        f"mean {sum(scores) / len(scores):.2f} / {manifest.max_score:g}; "
        f"{unloadable} could not be loaded (every test an error)"
        + (f"; {not_graded} not graded (see not_graded.csv)" if not_graded else "")
        + f"; {seconds:.1f} s"
    )


def _reuse_unchanged(
    entries: list[Entry],
    manifest: manifests.Manifest,
    template: list[TestResult],
    out: Path,
    regrade=lambda entry: False,
    due_dates: dict[str, datetime] | None = None,
):
    """The saved results whose fingerprint is unchanged, and a job for every other submission (and those to regrade).

    A saved result whose late record no longer holds (new times, extensions or policy) is brought up
    to date, and its report written again: lateness never needs a regrade.
    """
    homework = homework_hash(manifest)
    results: dict[str, GradingResult] = {}
    jobs: dict[str, _Job] = {}
    for entry in entries:
        entry.fingerprint = fingerprint(entry.path, manifest, homework)
        extension = (due_dates or {}).get(entry.student)
        previous = None if regrade(entry) else _load_previous(out / entry.student, entry.fingerprint)
        if previous is None:
            jobs[entry.student] = _Job(entry, manifest, template, manifest.limits, out, extension)
            continue
        results[entry.student] = previous
        late = late_record(manifest.deadline, entry.submitted_at, extension, previous.score)
        if late != previous.late:
            from grader.outputs.report import html_report

            previous.late = late
            _save(out, entry, previous.to_dict(), html_report(previous))
        elif not (out / entry.student / "report.html").is_file():
            from grader.outputs.report import html_report

            write_atomic(out / entry.student / "report.html", html_report(previous))
    return results, jobs


def _apply_times(
    entries: list[Entry], manifest: manifests.Manifest, times: Path | None, extensions: Path | None
) -> dict[str, datetime]:
    """Each entry's submission time from the times CSV (over the export's), and each one's extended due time."""
    if (times or extensions) and manifest.deadline is None:
        raise UserError(f"--times and --extensions need a late policy: {manifest.id}'s manifest has no [deadline]")
    submitted = read_times(times, "submitted_at") if times else {}
    extended = read_times(extensions, "due") if extensions else {}
    due_dates = {}
    for entry in entries:
        ids = [entry.student, *(person.id for person in entry.submitters)]
        entry.submitted_at = next((submitted[i] for i in ids if i in submitted), entry.submitted_at)
        extension = next((extended[i] for i in ids if i in extended), None)
        if extension is not None:
            due_dates[entry.student] = extension
    return due_dates


def _grade_with_progress(
    jobs: dict[str, _Job], manifest: manifests.Manifest, pool_size: int, results: dict[str, GradingResult]
) -> dict[str, str]:
    """Grade ``jobs`` behind a progress bar, each saved as it comes; returns the grader's own failures."""
    crashes: dict[str, str] = {}
    if not jobs:
        return crashes
    from tqdm import tqdm

    bar = tqdm(
        total=len(jobs),
        desc=f"grading {manifest.id}",
        unit="submission",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        dynamic_ncols=True,
    )

    def on_done(student: str, outcome: tuple[dict, str]) -> None:
        data, crash = outcome  # saved already, by the worker
        results[student] = GradingResult.from_dict(data)
        if crash:
            crashes[student] = crash
        bar.update(1)

    try:
        _grade_all(jobs, min(pool_size, len(jobs)), on_done)
    finally:
        bar.close()
    return crashes


def _write_class_files(
    out: Path,
    ordered: list[tuple[Entry, GradingResult]],
    folder: Path,
    template: list[TestResult],
    manifest: manifests.Manifest,
    not_graded: list[tuple[str, str]],
) -> dict[str, Path]:
    """The gradebook, the class summary, the not-graded list and the reports to hand back, each written atomically."""
    from grader.outputs.report import class_summary

    gradebook = write_gradebook(out / "gradebook.csv", ordered, folder, template, manifest)
    summary = class_summary([(e.student, r) for e, r in ordered], title=manifest.title)
    written = {"gradebook": gradebook, "summary": write_atomic(out / "summary.html", summary)}
    written["reports"] = out / "<student>" / "report.html"
    written["release"] = write_release(out / "release", ordered)
    if not_graded:
        written["not graded"] = write_not_graded(out / "not_graded.csv", not_graded)
    return written
