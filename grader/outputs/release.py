"""What a TA hands back: one report per student, safe to give them, and the list of what was not graded.

``release/<student id>.html`` is the student's report (``html_report(..., for_student=True)``):
hidden tests show their name, verdict and points, nothing else. A group submission's report is
written once per member, each named by that member's id.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from grader.files import write_atomic
from grader.outputs.results import GradingResult

if TYPE_CHECKING:
    from grader.batch.discover import Entry


def write_release(folder: Path, ordered: list[tuple[Entry, GradingResult]]) -> Path:
    """Every student's report to hand back, in ``folder``; returns ``folder``."""
    from grader.batch.discover import safe_name
    from grader.outputs.report import html_report

    for entry, result in ordered:
        page = html_report(result, for_student=True)
        for person in entry.submitters:
            write_atomic(folder / f"{safe_name(person.id)}.html", page)
    return folder


def write_not_graded(path: Path, not_graded: list[tuple[str, str]]) -> Path:
    """``entry,reason``: what the class folder held that is no submission."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["entry", "reason"])
    writer.writerows(not_graded)
    return write_atomic(path, buffer.getvalue())
