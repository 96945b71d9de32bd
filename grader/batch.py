"""Grade a class: every submission in a folder, in parallel, into a gradebook and one report per student.

    grader batch <folder> --assignment <hw> --out <dir> [--workers N]

``<folder>`` holds one ``.py``/``.ipynb`` file or one sub-folder per student
(the student id is the file's stem or the folder's name), or it is a
Gradescope "export submissions" folder: ``submission_metadata.yml`` at its
top, one ``submission_<id>/`` folder per submission, and the submitters'
names, emails and student ids in the metadata (the id is the first
submitter's sid, else their email).

Written, each file atomically:

- ``<dir>/<student>/report.html`` then ``<dir>/<student>/result.json``, as
  each submission finishes, so a killed batch keeps what it had done. The
  JSON is the ``grader grade --json`` result plus a ``fingerprint``;
- ``<dir>/gradebook.csv``: one row per student (per submitter, for group
  submissions): ``student, name, email, submission``, one column per test
  (its points), one per student function (its points), ``total``, ``max``,
  ``errors``;
- ``<dir>/summary.html``: the class view.

Re-running the same command reuses every result whose fingerprint is
unchanged: the submission's bytes, the homework id, and the homework's
manifest, tests and the reference engine the expected values come from. A
changed submission or changed tests regrade; nothing else does.

The homework itself is checked once before anyone is graded (a bad manifest
or tests that do not collect stop the batch with a message); after that one
broken submission never stops it: whatever happens, it gets a result.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path

import yaml

from . import manifest as manifests
from .errors import UserError
from .files import write_atomic
from .paths import REFERENCE_DIR
from .results import GradingResult, TestResult, write_json_atomically
from .submission import IGNORED_FOLDERS, SUBMISSION_SUFFIXES, file_kind, read_regular_file, submitted_files

GRADESCOPE_METADATA = "submission_metadata.yml"
FINGERPRINT_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True)
class Submitter:
    id: str
    name: str = ""
    email: str = ""


@dataclass
class Entry:
    """One submission of the class folder."""

    student: str
    """The output folder's name: a safe path component, unique in the batch."""
    path: Path
    submitters: list[Submitter]
    fingerprint: dict = field(default_factory=dict)


# ----- finding the submissions ------------------------------------------------------------------


def safe_name(text: str) -> str:
    """``text`` as one harmless path component: no separators, no leading dot, never empty."""
    name = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", str(text).strip())).lstrip(".")[:100]
    return name or "_"


def discover(folder: Path, out: Path | None = None) -> tuple[list[Entry], list[str]]:
    """The submissions in ``folder`` (sorted by student) and notes about what was left out or renamed."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give the folder holding one file or sub-folder per student, "
                        "or a Gradescope export")  # fmt: skip
    out_resolved = Path(out).resolve() if out is not None else None
    if out_resolved == folder.resolve():
        raise UserError(f"--out {out} is the submissions folder itself: write the results somewhere else")
    metadata_path = folder / GRADESCOPE_METADATA
    metadata = read_gradescope_metadata(metadata_path) if metadata_path.is_file() else None
    notes, entries = [], []
    for item in sorted(folder.iterdir()):
        if item.name.startswith(".") or item.name in IGNORED_FOLDERS or item.name == GRADESCOPE_METADATA:
            continue
        if out_resolved is not None and (out_resolved == item.resolve() or out_resolved.is_relative_to(item.resolve())):
            continue
        kind = file_kind(item)  # a link, a pipe or a device stays in: grading refuses it, in the student's row
        if kind == "file" and item.suffix.lower() not in SUBMISSION_SUFFIXES:
            notes.append(f"ignored {item.name}: neither a .py nor a .ipynb")
            continue
        key = item.stem if item.suffix.lower() in SUBMISSION_SUFFIXES else item.name
        if metadata is not None and item.name in metadata:
            submitters = metadata[item.name] or [Submitter(key)]
        else:
            if metadata is not None:
                notes.append(f"{item.name} is not in {GRADESCOPE_METADATA}: graded as student {key!r}")
            submitters = [Submitter(key)]
        entries.append(Entry(safe_name(submitters[0].id), item, submitters))
    if metadata is not None:
        missing = sorted(set(metadata) - {e.path.name for e in entries})
        if missing:
            notes.append(f"{GRADESCOPE_METADATA} lists {len(missing)} submission(s) with no folder: {', '.join(missing[:5])}")
    if not entries:
        raise UserError(f"{folder} holds no submissions: expected one .py or .ipynb file or one sub-folder per student"
                        f" (or a Gradescope export with its {GRADESCOPE_METADATA})")  # fmt: skip
    entries.sort(key=lambda e: (e.student.lower(), e.path.name))
    _make_unique(entries, notes)
    return entries, notes


def _make_unique(entries: list[Entry], notes: list[str]) -> None:
    """Two submissions with the same student id (alice.py and alice.ipynb) get alice and alice-2.

    The batch's own files are taken too: a student called summary.html gets summary.html-2.
    """
    taken = {"gradebook.csv", "summary.html"}
    for entry in entries:
        name, number = entry.student, 1
        while name.lower() in taken:
            number += 1
            name = f"{entry.student}-{number}"
        if name != entry.student:
            notes.append(f"{entry.path.name}: student {entry.student!r} has another submission; its results are in {name}/")
        entry.student = name
        taken.add(name.lower())


class _MetadataLoader(yaml.SafeLoader):
    """Safe YAML that reads Ruby-tagged values (``!ruby/object:...``) as their plain mapping, list or text."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_MetadataLoader.add_multi_constructor("!", _untagged)


def read_gradescope_metadata(path: Path) -> dict[str, list[Submitter]]:
    """``submission_metadata.yml``: {submission folder name: its submitters}.

    Gradescope writes Ruby-symbol keys (``:submitters:``, ``:name:``); plain
    keys (``submitters:``) are read the same.
    """
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_MetadataLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not readable YAML ({error}); re-download the Gradescope export") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of submission folders to their metadata")
    metadata = {}
    for folder, info in data.items():
        info = _plain_keys(info)
        people = info.get("submitters") if isinstance(info, dict) else None
        submitters = []
        for person in people if isinstance(people, list) else []:
            person = _plain_keys(person)
            if not isinstance(person, dict):
                continue
            name, email = _text(person.get("name")), _text(person.get("email"))
            ident = _text(person.get("sid")) or email or name
            if ident:
                submitters.append(Submitter(ident, name, email))
        metadata[str(folder)] = submitters
    return metadata


def _plain_keys(value):
    return {str(k).strip(":"): v for k, v in value.items()} if isinstance(value, dict) else value


def _text(value) -> str:
    return "" if value is None else str(value).strip()


# ----- fingerprints -----------------------------------------------------------------------------


def _hash_files(digest, root: Path, paths) -> None:
    for path in sorted(paths):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part in IGNORED_FOLDERS for part in relative.split("/")) or not path.is_file():
            continue
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())


def content_hash(path: Path) -> str:
    """sha256 of a submission file, or of every file of a submission folder with its relative name.

    Read as grading reads it, without following links: a submission grading
    refuses gets the hash of the refusal.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        if file_kind(path) != "folder":
            return hashlib.sha256(read_regular_file(path)).hexdigest()
        for file in submitted_files(path):
            data = read_regular_file(file)
            digest.update(f"{file.relative_to(path).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    except UserError as error:
        return hashlib.sha256(f"refused: {error}".encode()).hexdigest()
    return digest.hexdigest()


def homework_hash(manifest: manifests.Manifest) -> str:
    """sha256 of what decides a grade besides the submission: the manifest, the tests, the reference engine."""
    digest = hashlib.sha256()
    _hash_files(digest, manifest.folder, [manifest.folder / "manifest.toml", *(manifest.folder / "tests").rglob("*")])
    _hash_files(digest, REFERENCE_DIR.parent, REFERENCE_DIR.rglob("*"))
    return digest.hexdigest()


def fingerprint(submission: Path, manifest: manifests.Manifest, homework: str) -> dict:
    return {"version": FINGERPRINT_VERSION, "assignment": manifest.id, "submission_sha256": content_hash(submission),
            "homework_sha256": homework}  # fmt: skip


# ----- grading ----------------------------------------------------------------------------------


def check_homework(manifest: manifests.Manifest) -> list[TestResult]:
    """Collect and run the homework's tests against nothing, in this process: the tests every result will have.

    A bad marker, a test file that does not import, or points that do not add
    up raise :class:`UserError` here, before anyone is graded.
    """
    from .grading import VISIBILITIES, check_points, test_files
    from .harness import HarnessPlugin, run_tests
    from .sandbox import Unavailable

    plugin = HarnessPlugin(sandbox=Unavailable("no submission (checking the homework)"), functions=manifest.functions,
                           tests_root=manifest.folder / "tests")  # fmt: skip
    tests = run_tests(plugin, test_files(manifest, VISIBILITIES))
    if plugin.grader_errors:
        raise UserError(f"{manifest.folder / 'tests'}: tests fail before calling any student code: "
                        + "; ".join(plugin.grader_errors[:5]))  # fmt: skip
    check_points(manifest, tests)
    return tests


def failed_result(tests: list[TestResult], submission: Path, manifest: manifests.Manifest, message: str) -> GradingResult:
    """A complete result, every test an error with ``message``, for a submission the grader itself failed on."""
    return GradingResult(
        assignment=manifest.id,
        submission=str(submission),
        score=0.0,
        max_score=round(sum(t.max_score for t in tests), 6),
        tests=[replace(t, score=0.0, status="error", message=f"{t.functions[0]}: {message}", details=[]) for t in tests],
        errors=[message],
        functions=list(manifest.functions),
    )


@dataclass(frozen=True)
class _Job:
    path: Path
    assignment: str
    manifest: manifests.Manifest
    tests: list[TestResult]
    limits: manifests.Limits


def _grade_one(job: _Job) -> tuple[dict, str, str]:
    """In a worker: (the result's dict, its HTML report, the grader's own error or "")."""
    from .grading import grade
    from .report import html_report

    crash = ""
    try:
        result = grade(job.path, job.assignment, limits=job.limits)
    except Exception as error:  # one submission's grader failure must not stop the class: it gets a result
        crash = f"the grader failed on this submission ({type(error).__name__}: {error}); please tell the course staff"
        result = failed_result(job.tests, job.path, job.manifest, crash)
    try:
        html = html_report(result)
    except Exception as error:
        crash = crash or f"the report could not be rendered ({type(error).__name__}: {error})"
        html = _plain_report(result, crash)
    return result.to_dict(), html, crash


def _plain_report(result: GradingResult, problem: str) -> str:
    rows = "".join(f"<tr><td>{escape(t.name)}</td><td>{t.score:g} / {t.max_score:g}</td><td>{escape(t.status)}</td>"
                   f"<td>{escape(t.message)}</td></tr>" for t in result.tests)  # fmt: skip
    return (f"<!doctype html><meta charset='utf-8'><title>{escape(result.assignment)}</title>"
            f"<h1>{escape(result.assignment)}: {result.score:g} / {result.max_score:g}</h1><p>{escape(problem)}</p>"
            f"<table>{rows}</table>\n")  # fmt: skip


def _load_previous(folder: Path, wanted: dict) -> GradingResult | None:
    """The result saved in ``folder`` if its fingerprint is ``wanted``, else None."""
    try:
        data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        if data.pop("fingerprint", None) != wanted:
            return None
        return GradingResult.from_dict(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _save(out: Path, entry: Entry, data: dict, html: str) -> None:
    """The report first, the result last: a result.json on disk means this student is done."""
    write_atomic(out / entry.student / "report.html", html)
    write_json_atomically(out / entry.student / "result.json", {**data, "fingerprint": entry.fingerprint})


def _run_pool(jobs: dict[str, _Job], workers: int, on_done) -> dict[str, _Job]:
    """Grade ``jobs`` in ``workers`` processes, calling ``on_done(student, outcome)``; returns the jobs a dead worker lost."""
    lost = {}
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(_grade_one, job): student for student, job in jobs.items()}
        for future in as_completed(futures):
            student = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool:
                lost[student] = jobs[student]
                continue
            on_done(student, outcome)
    except BaseException:  # Ctrl-C or a failed write: stop now, not after grading everything still queued
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return lost


def _grade_all(jobs: dict[str, _Job], workers: int, on_done) -> None:
    """Grade every job; if a worker process dies, regrade what it took down one at a time, and only then give up."""
    lost = _run_pool(jobs, workers, on_done)
    for student, job in lost.items():
        if _run_pool({student: job}, 1, on_done):
            message = "the grading process died on this submission (out of memory?); please tell the course staff"
            result = failed_result(job.tests, job.path, job.manifest, message)
            on_done(student, (result.to_dict(), _plain_report(result, message), message))


def run_batch(folder: Path, assignment: str, out: Path, workers: int | None = None) -> int:
    """Grade every submission in ``folder`` into ``out``; 0 when every submission got its result from the grader.

    1 when the grader itself failed on some submission (each still got a
    result, score 0, saying so).
    """
    started = time.monotonic()
    folder, out = Path(folder), Path(out)
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: give at least 1")
    manifest = manifests.load(assignment)
    entries, notes = discover(folder, out)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    template = check_homework(manifest)
    homework = homework_hash(manifest)
    pool_size = workers or os.cpu_count() or 1
    results: dict[str, GradingResult] = {}
    jobs: dict[str, _Job] = {}
    for entry in entries:
        entry.fingerprint = fingerprint(entry.path, manifest, homework)
        previous = _load_previous(out / entry.student, entry.fingerprint)
        if previous is not None:
            results[entry.student] = previous
            if not (out / entry.student / "report.html").is_file():
                from .report import html_report

                write_atomic(out / entry.student / "report.html", html_report(previous))
        else:
            jobs[entry.student] = _Job(entry.path, str(assignment), manifest, template, manifest.limits)
    skipped = len(results)

    by_student = {entry.student: entry for entry in entries}
    crashes: dict[str, str] = {}
    if jobs:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc=f"grading {manifest.id}", unit="submission", file=sys.stderr,
                   disable=not sys.stderr.isatty(), dynamic_ncols=True)  # fmt: skip

        def on_done(student: str, outcome: tuple[dict, str, str]) -> None:
            data, html, crash = outcome
            _save(out, by_student[student], data, html)
            results[student] = GradingResult.from_dict(data)
            if crash:
                crashes[student] = crash
            bar.update(1)

        try:
            _grade_all(jobs, min(pool_size, len(jobs)), on_done)
        finally:
            bar.close()

    ordered = [(entry, results[entry.student]) for entry in entries]
    gradebook = write_gradebook(out / "gradebook.csv", ordered, folder, template, manifest)
    from .report import class_summary

    summary = write_atomic(out / "summary.html", class_summary([(e.student, r) for e, r in ordered], title=manifest.title))

    scores = [r.score for _, r in ordered]
    unloadable = sum(1 for _, r in ordered if r.tests and all(t.status == "error" for t in r.tests))
    print(f"{manifest.id}: {len(entries)} submissions: {len(jobs)} graded, {skipped} skipped (unchanged, results reused); "
          f"mean {sum(scores) / len(scores):.2f} / {manifest.max_score:g}; {unloadable} could not be loaded (every test an error); "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    print(f"  gradebook  {gradebook}\n  summary    {summary}\n  reports    {out / '<student>' / 'report.html'}"
          f" (and result.json)")  # fmt: skip
    for student, crash in crashes.items():
        print(f"grader batch: {student}: {crash}", file=sys.stderr)
    return 1 if crashes else 0


# ----- the gradebook ----------------------------------------------------------------------------


def gradebook_columns(template: list[TestResult], manifest: manifests.Manifest) -> list[str]:
    return ["student", "name", "email", "submission", *(t.name for t in template), *manifest.functions,
            "total", "max", "errors"]  # fmt: skip


def write_gradebook(path: Path, ordered: list[tuple[Entry, GradingResult]], folder: Path, template: list[TestResult],
                    manifest: manifests.Manifest) -> Path:  # fmt: skip
    """One row per submitter: their points per test and per function, the total; written atomically."""
    columns = gradebook_columns(template, manifest)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for entry, result in ordered:
        row = {t.name: _number(t.score) for t in result.tests}
        row.update({name: _number(score) for name, (score, _) in result.function_scores().items()})
        errors = "; ".join(result.errors)
        row.update(submission=_cell(entry.path.relative_to(folder).as_posix()), total=_number(result.score),
                   max=_number(result.max_score), errors=_cell(errors if len(errors) <= 300 else errors[:299] + "…"))  # fmt: skip
        for person in entry.submitters:
            writer.writerow({**row, "student": _cell(person.id), "name": _cell(person.name), "email": _cell(person.email)})
    return write_atomic(path, buffer.getvalue())


def _cell(text: str) -> str:
    """Text a student chose (a file or display name) as a spreadsheet shows it, never as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float) -> str:
    return format(round(value, 6), "g")
