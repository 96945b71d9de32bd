"""Reports of grading results: the terminal summary, the student's HTML page, the class summary page.

The pages are rendered from ``templates/report.html.j2`` and ``templates/summary.html.j2``
with autoescaping on: messages, submission names and values come from student code and
must show as text, never become markup. Everything a template shows is prepared here as
plain strings and numbers, so the templates hold layout only.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections import Counter
from urllib.parse import quote

from markupsafe import Markup

from grader.errors import UserError
from grader.files import render
from grader.outputs import formatting, plots
from grader.outputs.formatting import first_divergence, points, worked_example_rows
from grader.outputs.results import GradingResult, TestResult

HISTOGRAM_BINS = 10
COMMON_MESSAGES = 10
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])|\b(?:nan|inf)\b", re.IGNORECASE)


def html_report(result: GradingResult, for_student: bool = False, cells: dict[str, str] | None = None) -> str:
    """One self-contained HTML page of feedback for one submission (inline CSS, no scripts).

    ``for_student``: the page to hand back (``release/``): a hidden test shows its name, verdict and
    points only, never its message (which may hold the values the student's code returned on its
    inputs), and the sandbox's protections, a TA's concern, are left out. ``cells``: for a notebook,
    the link to the cell defining each function in the rendered notebook (a TA's report).
    """
    scores = result.function_scores()
    groups = []
    for function, tests in _tests_by_function(result).items():
        earned, possible = scores.get(function, (sum(t.score for t in tests), sum(t.max_score for t in tests)))
        failing = [t for t in tests if not t.passed]
        groups.append(
            {
                "function": function,
                "anchor": _anchor(function),
                "cell": (cells or {}).get(function.split(".")[0], ""),
                "score": points(earned),
                "max_score": points(possible),
                "state": _state(earned, possible, bool(failing)),
                "failing": len(failing),
                "all_passed": formatting.all_passed(len(tests)),
                "tests": _test_views(failing, for_student) + [_test_view(t, for_student) for t in tests if t.passed],
            }
        )
    failing_groups = [g for g in groups if g["failing"]]
    return render(
        "report.html.j2",
        autoescape=True,
        assignment=result.assignment,
        title=_assignment_title(result.assignment),
        submission=result.submission,
        score=points(result.score),
        max_score=points(result.max_score),
        percent=_percent(result.score, result.max_score),
        label=result.label,
        visible_only=result.label != "all tests",
        state=_state(result.score, result.max_score, any(g["failing"] for g in groups)),
        errors=list(result.errors),
        functions=groups,
        failing_functions=[g["function"] for g in failing_groups],
        failing_count=sum(g["failing"] for g in groups),
        test_count=len(result.tests),
        all_passed=formatting.all_passed(len(result.tests)),
        protections_off=[] if for_student else list(result.protections_off),
        execution_time=f"{result.execution_time:.2f}",
        late={**result.late, "final": points(result.late["final"])} if result.late.get("submitted_at") else result.late,
    )


def class_summary(results: list[tuple[str, GradingResult]], title: str = "") -> str:
    """The class view for TAs: score distribution, pass rates, common failures, links to every report.

    ``results`` pairs each student's id with their result; each report is linked
    as ``<student>/report.html``, relative to the summary page.
    """
    assignment = results[0][1].assignment if results else ""
    fractions = [r.score / r.max_score if r.max_score else 0.0 for _, r in results]
    scores = [r.score for _, r in results]
    max_score = max((r.max_score for _, r in results), default=0.0)
    return render(
        "summary.html.j2",
        autoescape=True,
        title=title or (f"{assignment}: {_assignment_title(assignment)}" if assignment else "Class summary"),
        count=len(results),
        not_loaded=[
            {
                "id": str(student),
                "href": quote(str(student)) + "/report.html",
                "problem": (result.errors or ["every test failed"])[0].splitlines()[0],
            }
            for student, result in sorted(results, key=lambda p: str(p[0]))
            if not result.loaded
        ],
        other_problems=sum(1 for _, r in results if r.loaded and r.errors),
        max_score=points(max_score),
        mean=points(statistics.fmean(scores)) if scores else "–",
        median=points(statistics.median(scores)) if scores else "–",
        mean_percent=_percent(statistics.fmean(fractions), 1) if fractions else "–",
        histogram=_histogram(fractions),
        tests=_test_pass_rates(results),
        functions=_function_pass_rates(results),
        messages=_common_messages(results),
        students=[_student_row(student, result) for student, result in sorted(results, key=lambda p: str(p[0]))],
    )


def normalise_message(message: str) -> str:
    """A failure message with its numbers replaced by "#", so "got 0.123" and "got 0.456" count as one."""
    return _NUMBER.sub("#", message.strip())


def _tests_by_function(result: GradingResult) -> dict[str, list[TestResult]]:
    """Tests grouped by the function each is charged to (its first), in the manifest's order."""
    groups: dict[str, list[TestResult]] = {name: [] for name in result.functions}
    for test in result.tests:
        groups.setdefault(test.charged_to, []).append(test)
    return {name: tests for name, tests in groups.items() if tests}


def _test_views(failing: list[TestResult], for_student: bool) -> list[dict]:
    """The views of a function's failing tests, a reason shared by the one before said once."""
    views = [_test_view(t, for_student) for t in failing]
    for view, message in zip(views, formatting.said_once([v["message"] for v in views])):
        view["message"] = message
    return views


def _test_view(test: TestResult, for_student: bool = False) -> dict:
    hidden = test.hidden
    return {
        "name": test.name,
        "status": test.status,
        "visibility": test.visibility,
        "score": points(test.score),
        "max_score": points(test.max_score),
        "charged": test.functions[0] if test.functions else "",
        "also": list(test.functions[1:]),
        "message": "" if hidden and for_student else test.message,
        # A hidden test shows its verdict and message only: its worked rows could reveal expected values.
        "rows": [] if hidden else worked_example_rows(test.details),
        "diverges": not hidden and first_divergence(test.details) is not None,
        "plots": [] if hidden else [Markup(drawn) for drawn in map(plots.svg, test.plots) if drawn],
    }


def _state(score: float, possible: float, failing: bool) -> str:
    if not failing and score >= possible:
        return "full"
    return "zero" if score <= 0 else "partial"


def _percent(score: float, possible: float) -> str:
    return f"{100 * score / possible:.0f}%" if possible else "–"


def _anchor(function: str) -> str:
    return "fn-" + re.sub(r"[^A-Za-z0-9_-]", "-", function)


@functools.cache
def _assignment_title(assignment: str) -> str:
    """The homework's title from its manifest; a result for a homework not in this checkout keeps just its id."""
    from grader.homework import manifest as manifests

    try:
        return manifests.load(assignment).title
    except UserError:
        return ""


def _histogram(fractions: list[float]) -> list[dict]:
    """Students per tenth of the maximum score (the last bin holds full marks), with bar heights in %."""
    counts = [0] * HISTOGRAM_BINS
    for fraction in fractions:
        counts[min(HISTOGRAM_BINS - 1, max(0, int(fraction * HISTOGRAM_BINS)))] += 1
    tallest = max(counts, default=0) or 1
    width = 100 // HISTOGRAM_BINS
    return [
        {"label": f"{i * width}–{(i + 1) * width}%", "count": count, "height": round(100 * count / tallest)}
        for i, count in enumerate(counts)
    ]


def _rate_row(name: str, passed: int, total: int, **extra) -> dict:
    rate = passed / total if total else 0.0
    return {
        "name": name,
        "passed": passed,
        "total": total,
        "rate": rate,
        "percent": f"{100 * rate:.0f}%",
        "width": round(100 * rate),
        **extra,
    }


def _test_pass_rates(results: list[tuple[str, GradingResult]]) -> list[dict]:
    """Per test: how many students passed it, hardest first (ties in the homework's order)."""
    seen: dict[str, list] = {}
    for _, result in results:
        for test in result.tests:
            entry = seen.setdefault(test.name, [0, 0, test])
            entry[0] += test.passed
            entry[1] += 1
    rows = [
        _rate_row(name, passed, total, visibility=test.visibility, function=test.functions[0] if test.functions else "")
        for name, (passed, total, test) in seen.items()
    ]
    return sorted(rows, key=lambda row: row["rate"])


def _function_pass_rates(results: list[tuple[str, GradingResult]]) -> list[dict]:
    """Per student function: how many students earned all its points, and the mean share earned."""
    seen: dict[str, list] = {}
    for _, result in results:
        for function, (earned, possible) in result.function_scores().items():
            entry = seen.setdefault(function, [0, 0, 0.0])
            entry[0] += earned >= possible - 1e-9
            entry[1] += 1
            entry[2] += earned / possible
    rows = [
        _rate_row(name, full, total, mean_percent=f"{100 * share / total:.0f}%")
        for name, (full, total, share) in seen.items()
    ]
    return sorted(rows, key=lambda row: row["rate"])


def _common_messages(results: list[tuple[str, GradingResult]]) -> list[dict]:
    """The test failures most students met (numbers ignored), among submissions that loaded: how many
    students, how often, an example."""
    counts: Counter = Counter()
    students: dict[str, set] = {}
    example: dict[str, tuple[str, TestResult]] = {}
    for student, result in results:
        for test in result.tests if result.loaded else ():  # a file that did not load is one problem, listed apart
            if test.passed:
                continue
            key = normalise_message(test.message) or f"({test.status}, no message)"
            counts[key] += 1
            students.setdefault(key, set()).add(student)
            example.setdefault(key, (test.message, test))
    return [
        {
            "pattern": key,
            "count": count,
            "students": len(students[key]),
            "example": example[key][0],
            "test": example[key][1].name,
            "status": example[key][1].status,
        }
        for key, count in sorted(counts.items(), key=lambda item: (-len(students[item[0]]), -item[1]))[:COMMON_MESSAGES]
    ]


def _student_row(student: str, result: GradingResult) -> dict:
    failing = sum(1 for t in result.tests if not t.passed)
    return {
        "id": str(student),
        "href": quote(str(student)) + "/report.html",
        "score": points(result.score),
        "max_score": points(result.max_score),
        "percent": _percent(result.score, result.max_score),
        "state": _state(result.score, result.max_score, failing > 0),
        "failing": failing,
        "errors": list(result.errors),
    }
