"""The late policy: when each submission came in, how late it was, and the penalty the homework states.

The homework's manifest states the policy (``[deadline]``, see grader/homework/manifest.py): a due
time with its time zone, a grace period, a penalty per started day or hour late, and a cap. Each
submission's time comes from Gradescope's export (``:created_at:`` in ``submission_metadata.yml``)
or from a CSV of times (``student,submitted_at``); a CSV of extensions (``student,due``) moves the
due time for those students. The penalty is a fraction of the score: the final score is
``score × (1 − penalty)``. The raw score is never changed: the gradebook shows both.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from grader.errors import UserError
from grader.homework.deadline import LatePolicy, aware


def late_record(
    policy: LatePolicy | None, submitted: datetime | None, extension: datetime | None, score: float
) -> dict:
    """What the late policy did to one submission, for its result and its report (empty without a policy)."""
    if policy is None:
        return {}
    if submitted is None:
        return {
            "policy": policy.describe(),
            "submitted_at": "",
            "late_hours": 0.0,
            "penalty": 0.0,
            "final": score,
            "note": "no submission time known: no penalty applied",
        }
    hours, penalty = policy.penalty(submitted, extension)
    return {
        "policy": policy.describe(),
        "submitted_at": submitted.isoformat(" ", "seconds"),
        "due": (extension or policy.due).isoformat(" ", "minutes"),
        "late_hours": round(hours, 2),
        "penalty": round(penalty, 6),
        "final": round(score * (1 - penalty), 6),
        "note": ("extended " if extension else "") + (f"{hours:.1f} h late: −{penalty:.0%}" if hours else "on time"),
    }


def read_times(path: Path, column: str) -> dict[str, datetime]:
    """``student,<column>`` rows: each student's time (ISO 8601 with a time zone)."""
    times = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                student, text = (row.get("student") or "").strip(), (row.get(column) or "").strip()
                if not student or not text:
                    raise UserError(f"{path}, line {number}: expected the columns student,{column}")
                times[student] = aware(text, f"{path}, line {number}")
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror})") from None
    return times
