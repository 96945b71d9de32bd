"""The class gradebook, ``gradebook.csv``: one row per student, one column per test and per function.

Columns: ``student, name, email, submission``, one per test (its points), one per student function
(its points), ``total``, ``max``, ``errors``. Group submissions give one row per submitter. Text a
student chose (ids, names, paths, messages) can never be read as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from grader.files import write_atomic
from grader.homework import manifest as manifests
from grader.outputs import formatting
from grader.outputs.results import GradingResult, TestResult

if TYPE_CHECKING:
    from grader.batch.discover import Entry


def gradebook_columns(template: list[TestResult], manifest: manifests.Manifest) -> list[str]:
    return [
        "student",
        "name",
        "email",
        "submission",
        *(t.name for t in template),
        *manifest.functions,
        "total",
        "max",
        "errors",
    ]


def write_gradebook(
    path: Path,
    ordered: list[tuple[Entry, GradingResult]],
    folder: Path,
    template: list[TestResult],
    manifest: manifests.Manifest,
) -> Path:
    """One row per submitter: their points per test and per function, the total; written atomically."""
    columns = gradebook_columns(template, manifest)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
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
        for person in entry.submitters:
            writer.writerow(
                {**row, "student": _cell(person.id), "name": _cell(person.name), "email": _cell(person.email)}
            )
    return write_atomic(path, buffer.getvalue())


def _cell(text: str) -> str:
    """Text a student chose (a file or display name) as a spreadsheet shows it, never as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
