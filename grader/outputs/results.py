"""The one result model of grading: every output (terminal, HTML, gradebook, Gradescope) renders from it.

Its JSON is DESIGN.md's contract::

    {"assignment", "submission", "score", "max_score", "label",
     "tests": [{"name", "score", "max_score", "status": "passed|failed|error|timeout",
                "visibility": "visible|hidden", "functions": [...], "message", "details", "plots",
                "leaderboard": [{"name", "value", "order"}]}],
     "errors": [...], "protections": {...}, "protections_off": [...], "execution_time"}

Writing is atomic: a result file is either absent or complete.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.files import write_atomic
from grader.outputs import formatting


class TestStatus(enum.StrEnum):
    """How a test ended: a right answer, a wrong one, student code that raised or crashed, or ran too long."""

    __test__ = False  # not a pytest test class, whatever its name

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"

    @property
    def word(self) -> str:
        """As reports print it: "passed", or the failure in capitals ("FAILED", "ERROR", "TIMEOUT")."""
        return self.value if self is TestStatus.PASSED else self.value.upper()


class Visibility(enum.StrEnum):
    """Who sees a test's verdict and message: visible tests show expected values too; hidden ones never."""

    VISIBLE = "visible"
    HIDDEN = "hidden"


@dataclass
class TestResult:
    __test__ = False

    name: str
    score: float
    max_score: float
    status: TestStatus
    visibility: Visibility
    functions: list[str]
    message: str = ""
    details: list[dict] = field(default_factory=list)
    """Rows {"name", "student", "lecture", "matches"} for the lecture's worked examples."""
    plots: list[dict] = field(default_factory=list)
    """Curves {"title", "x_label", "y_label", "series": {name: [values]}}: the student's beside the reference's."""
    leaderboard: list[dict] = field(default_factory=list)
    """Entries {"name", "value", "order"} for Gradescope's leaderboard: what the student's code reached."""

    def __post_init__(self):
        self.status, self.visibility = TestStatus(self.status), Visibility(self.visibility)

    @property
    def passed(self) -> bool:
        return self.status is TestStatus.PASSED

    @property
    def hidden(self) -> bool:
        return self.visibility is Visibility.HIDDEN

    @property
    def charged_to(self) -> str:
        """The student function whose points this test is: the first it names."""
        return self.functions[0] if self.functions else "(none)"


@dataclass
class GradingResult:
    assignment: str
    submission: str
    score: float
    max_score: float
    tests: list[TestResult]
    errors: list[str] = field(default_factory=list)
    label: str = "all tests"
    functions: list[str] = field(default_factory=list)
    """The homework's student functions, in the manifest's order."""
    protections: dict[str, str] = field(default_factory=dict)
    protections_off: list[str] = field(default_factory=list)
    execution_time: float = 0.0
    late: dict = field(default_factory=dict)
    """What the homework's late policy did (grader/batch/lateness.py): submitted_at, late_hours, penalty,
    final (the score after the penalty), policy, note. Empty when no policy applies."""

    @classmethod
    def of(cls, tests: list[TestResult], **fields) -> GradingResult:
        """The result of ``tests``: its score and maximum are theirs summed (to 6 decimals, the one rule)."""
        score = round(sum(t.score for t in tests), 6)
        return cls(score=score, max_score=round(sum(t.max_score for t in tests), 6), tests=tests, **fields)

    @property
    def loaded(self) -> bool:
        """False when nothing could be graded: the submission did not load, so every test is an error."""
        return not (self.tests and all(test.status is TestStatus.ERROR for test in self.tests))

    @property
    def leaderboard(self) -> list[dict]:
        """The tests' leaderboard entries, one per name (a later test's value of a name replaces an earlier one)."""
        entries: dict[str, dict] = {}
        for test in self.tests:
            for entry in test.leaderboard:
                entries.pop(entry["name"], None)
                entries[entry["name"]] = entry
        return list(entries.values())

    def function_scores(self, visibility: Visibility | None = None) -> dict[str, tuple[float, float]]:
        """(score, max_score) per student function, each test charged to the first function it names.

        ``visibility`` counts only the tests of that visibility (what a student may see before
        the hidden tests are published).
        """
        totals: dict[str, list[float]] = {name: [0.0, 0.0] for name in self.functions}
        for test in self.tests:
            if visibility is not None and test.visibility != visibility:
                continue
            entry = totals.setdefault(test.charged_to, [0.0, 0.0])
            entry[0] += formatting.finite(test.score)
            entry[1] += formatting.finite(test.max_score)
        return {name: (s, m) for name, (s, m) in totals.items() if m > 0}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        data["execution_time"] = round(self.execution_time, 3)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> GradingResult:
        data = dict(data)
        data["tests"] = [TestResult(**t) for t in data.get("tests", [])]
        return cls(**data)


def write_json_atomically(path: Path, data) -> None:
    """Write ``data`` as strict JSON to ``path``, all or nothing (see :func:`grader.files.write_atomic`)."""
    text = json.dumps(formatting.json_safe(data), indent=2, ensure_ascii=False, allow_nan=False, default=_plain)
    write_atomic(path, text + "\n")


def _plain(value):
    """JSON for the few non-JSON values a result can hold (numpy numbers, NaN already excluded)."""
    try:
        return value.item()
    except AttributeError:
        return str(value)
