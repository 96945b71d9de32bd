"""What loading a submission tells the student: the parts that failed, and what that means for their functions.

Shared by the grader and the students' checker, so both say the same thing about a submission that
does not load: each failing part once, with its lines, and each function defined there "could not be
tested" instead of "not defined".
"""

from __future__ import annotations

import re

from grader.grading.submission import Submission
from grader.sandbox.calls import LoadReport

# A top-level definition, found even in a part that does not parse.
DEFINITION = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


def load_problems(submission: Submission, report: LoadReport) -> tuple[list[str], dict[str, str]]:
    """(one problem per part that failed to load, why each function defined in such a part is missing)."""
    problems = [f"{e['label']}: {e['message']}" for e in report.errors]
    return problems, why_missing(submission, report.errors)


def why_missing(submission: Submission, load_errors: list[dict]) -> dict[str, str]:
    """For each function defined in a part of the submission that failed to load: why its tests cannot run.

    Without it every test of such a function would say "defines no function X (was it renamed?)",
    pointing the student away from the one real problem.
    """
    failed = {error["label"]: error["message"].splitlines()[0] for error in load_errors}
    hints = {}
    for chunk in submission.chunks:
        if chunk.label not in failed:
            continue
        for name in DEFINITION.findall(chunk.source):
            hints[name] = (
                f"{name} could not be tested: {chunk.label} did not load ({failed[chunk.label]}); "
                "fix that first (it is the problem shown at the top)"
            )
    return hints


def where_defined(submission: Submission) -> dict[str, str]:
    """The part (``"cell 7"``, ``"hw1_backprop.py"``) where each top-level function or class is last defined."""
    return {name: chunk.label for chunk in submission.chunks for name in DEFINITION.findall(chunk.source)}
