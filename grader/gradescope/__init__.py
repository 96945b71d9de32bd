"""Gradescope: the autograder zip (``autograder_zip``), grading inside its container (``container``),
and its results.json (``results_json``)."""

from grader.gradescope.autograder_zip import (
    GRADER_MEMORY_MB,
    START_SECONDS,
    VENV,
    build_autograder_zip,
    container_warnings,
    worst_case_seconds,
)
from grader.gradescope.container import NOT_RUN, protect, run, self_test
from grader.gradescope.results_json import results_json

__all__ = [
    "GRADER_MEMORY_MB",
    "NOT_RUN",
    "START_SECONDS",
    "VENV",
    "build_autograder_zip",
    "container_warnings",
    "protect",
    "results_json",
    "run",
    "self_test",
    "worst_case_seconds",
]
