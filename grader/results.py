"""Grading results as dataclasses, and their JSON (DESIGN.md's contract).

::

    {"assignment", "submission", "score", "max_score", "label",
     "tests": [{"name", "score", "max_score", "status": "passed|failed|error|timeout",
                "visibility": "visible|hidden", "functions": [...], "message", "details"}],
     "errors": [...], "protections": {...}, "protections_off": [...], "execution_time"}

Writing is atomic: a result file is either absent or complete.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .files import write_atomic


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    status: str
    visibility: str
    functions: list[str]
    message: str = ""
    details: list[dict] = field(default_factory=list)
    """Rows {"name", "student", "lecture", "matches"} for the lecture's worked examples."""


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

    def function_scores(self) -> dict[str, tuple[float, float]]:
        """(score, max_score) per student function, each test charged to the first function it names."""
        totals: dict[str, list[float]] = {name: [0.0, 0.0] for name in self.functions}
        for test in self.tests:
            key = test.functions[0] if test.functions else "(none)"
            entry = totals.setdefault(key, [0.0, 0.0])
            entry[0] += test.score
            entry[1] += test.max_score
        return {name: (s, m) for name, (s, m) in totals.items() if m > 0}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        data["execution_time"] = round(self.execution_time, 3)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "GradingResult":
        data = dict(data)
        data["tests"] = [TestResult(**t) for t in data.get("tests", [])]
        return cls(**data)


def write_json_atomically(path: Path, data) -> None:
    """Write ``data`` as JSON to ``path``, all or nothing (see :func:`grader.files.write_atomic`)."""
    write_atomic(path, json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False, default=_plain) + "\n")


def _finite(value):
    """NaN and ±inf become strings: strict JSON readers (Gradescope's) reject them as numbers."""
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plain(value):
    """JSON for the few non-JSON values a result can hold (numpy numbers, NaN already excluded)."""
    try:
        return value.item()
    except AttributeError:
        return str(value)
