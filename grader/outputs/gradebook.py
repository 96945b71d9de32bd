"""The class gradebook, ``gradebook.csv``, and its exports for an LMS, built with pandas.

``gradebook.csv`` (for TAs): ``student, name, email, submission``, one column per test (its
points), one per student function (its points), ``total``, ``max``, ``errors``, and with a late
policy ``submitted_at, late_hours, penalty, final``. A group submission gives one row per member.

Exports (``grader export``), each from ``gradebook.csv``:

- ``canvas``: Canvas's gradebook import (``Student, ID, SIS User ID, SIS Login ID, Section``, then
  the homework's column, its points possible on the second row), the student id as SIS User ID;
- ``scores``: ``id,score``, the score after any late penalty;
- ``functions``: the compact gradebook, one column per student function.

Text a student chose (ids, names, paths, messages) can never be read as a spreadsheet formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import UserError
from grader.files import write_atomic
from grader.homework import manifest as manifests
from grader.outputs import formatting
from grader.outputs.results import GradingResult, TestResult

if TYPE_CHECKING:
    import pandas as pd

    from grader.batch.discover import Entry

LATE_COLUMNS = ("submitted_at", "late_hours", "penalty", "final")
EXPORTS = ("canvas", "scores", "functions")


def gradebook_columns(template: list[TestResult], manifest: manifests.Manifest) -> list[str]:
    late = list(LATE_COLUMNS) if manifest.deadline is not None else []
    identity = ["student", "name", "email", "submission"]
    return [*identity, *(t.name for t in template), *manifest.functions, "total", "max", *late, "errors"]


def gradebook_frame(
    ordered: list[tuple[Entry, GradingResult]], folder: Path, template: list[TestResult], manifest: manifests.Manifest
) -> pd.DataFrame:
    """One row per submitter: their points per test and per function, the total, lateness, problems."""
    import pandas as pd

    rows = []
    for entry, result in ordered:
        row = {t.name: formatting.points(t.score, 6) for t in result.tests}
        row.update({name: formatting.points(score, 6) for name, (score, _) in result.function_scores().items()})
        errors = "; ".join(result.errors)
        row.update(
            submission=_cell(entry.path.relative_to(folder).as_posix()),
            total=formatting.points(result.score, 6),
            max=formatting.points(result.max_score, 6),
            errors=_cell(errors if len(errors) <= 300 else errors[:299] + "…"),
        )
        if result.late:
            row.update({key: str(result.late.get(key, "")) for key in LATE_COLUMNS})
            row["final"] = formatting.points(result.late.get("final", result.score), 6)
        for person in entry.submitters:
            rows.append({**row, "student": _cell(person.id), "name": _cell(person.name), "email": _cell(person.email)})
    return pd.DataFrame(rows, columns=gradebook_columns(template, manifest), dtype=object).fillna("")


def write_gradebook(
    path: Path,
    ordered: list[tuple[Entry, GradingResult]],
    folder: Path,
    template: list[TestResult],
    manifest: manifests.Manifest,
) -> Path:
    """``gradebook.csv``, written atomically."""
    return write_atomic(path, gradebook_frame(ordered, folder, template, manifest).to_csv(index=False))


def export(gradebook: Path, manifest: manifests.Manifest, kind: str) -> str:
    """The ``kind`` export (one of EXPORTS) of the batch gradebook at ``gradebook``, as CSV text."""
    import pandas as pd

    try:
        book = pd.read_csv(gradebook, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as error:
        raise UserError(f"{gradebook} cannot be read as a gradebook ({error}): run grader batch first") from None
    missing = {"student", "name", "email", "total"} - set(book.columns)
    if missing:
        raise UserError(f"{gradebook} lacks the columns {sorted(missing)}: is it a grader batch gradebook?")
    score = book["final"] if "final" in book.columns else book["total"]
    if kind == "scores":
        return pd.DataFrame({"id": book["student"], "score": score}).to_csv(index=False)
    if kind == "functions":
        columns = ["student", "name", "email", *[f for f in manifest.functions if f in book.columns], "total"]
        return book[columns + (["final"] if "final" in book.columns else [])].to_csv(index=False)
    if kind == "canvas":
        column = f"{manifest.title} ({manifest.id})"
        frame = pd.DataFrame(
            {
                "Student": book["name"],
                "ID": "",
                "SIS User ID": book["student"],
                "SIS Login ID": book["email"],
                "Section": "",
                column: score,
            }
        )
        possible = pd.DataFrame([{"Student": "Points Possible", column: formatting.points(manifest.max_score)}])
        return pd.concat([possible, frame], ignore_index=True).fillna("").to_csv(index=False)
    raise UserError(f"unknown export {kind!r}: choose one of {', '.join(EXPORTS)}")


def _cell(text: str) -> str:
    """Text a student chose (a file or display name) as a spreadsheet shows it, never as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
