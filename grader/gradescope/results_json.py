"""Gradescope's results.json from a grading result (its published schema, ``docs/specs.md``).

See :func:`results_json` for how our statuses, visibilities and numbering map onto Gradescope's.
"""

from __future__ import annotations

import os

from grader.errors import UserError
from grader.homework import manifest as manifests
from grader.outputs import formatting
from grader.outputs.results import GradingResult, TestResult, Visibility

HIDDEN_VISIBILITY = "after_published"


def results_json(result: GradingResult, manifest: manifests.Manifest | None = None) -> dict:
    """``result`` as Gradescope's ``results.json`` (a dict of plain, finite JSON values).

    Mapping:

    - ``status``: our ``passed`` is Gradescope's ``passed``; ``failed``, ``error`` and ``timeout`` are
      ``failed``, the test's output starting with FAILED / ERROR / TIMEOUT to say which.
    - ``visibility``: visible tests are ``"visible"``; hidden tests are ``"after_published"``: the
      student sees their verdict and message (already redacted by the grader: no expected values,
      no source) once the instructor publishes the grades, so they cannot be used as an oracle by
      resubmitting before the deadline. Gradescope hides the total score from the student while any
      test is hidden, so the top-level ``output`` reports the visible tests' points only; the totals
      are in ``extra_data`` (stored, never shown to students). Hidden tests never carry the worked
      example's table of intermediates.
    - ``number``: the manifest's task id of the test's first function plus its index within that
      task (``"1.3.2"``); tests are listed in the manifest's task order.
    - ``tags``: the student functions the test exercises; ``extra_data``: our own status (passed, failed,
      error or timeout). ``score`` is the sum of the tests' scores.
    - ``leaderboard``: only when a test recorded values for it (the ``leaderboard`` fixture), one
      ``{"name", "value", "order"}`` per name; Gradescope shows it when the assignment enables leaderboards.
    """
    if manifest is None:
        try:
            manifest = manifests.load(result.assignment)
        except UserError:
            manifest = None
    tests = _tests(result, manifest)
    function_scores = {
        name: {"score": formatting.finite(s), "max_score": formatting.finite(m)}
        for name, (s, m) in result.function_scores().items()
    }
    data = {
        "score": formatting.finite(sum(t["score"] for t in tests)),
        "execution_time": formatting.finite(result.execution_time, 3),
        "output": _summary(result),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": result.assignment,
            "submission": os.path.basename(str(result.submission)),
            "label": result.label,
            "score": formatting.finite(result.score),
            "max_score": formatting.finite(result.max_score),
            "function_scores": function_scores,
            "errors": list(result.errors),
            "protections": dict(result.protections),
            "protections_off": list(result.protections_off),
        },
    }
    if result.leaderboard:
        data["leaderboard"] = [
            {
                "name": str(entry["name"]),
                "value": formatting.finite(entry["value"]),
                "order": entry.get("order", "desc"),
            }
            for entry in result.leaderboard
        ]
    return formatting.json_safe(data)


def _tests(result: GradingResult, manifest: manifests.Manifest | None) -> list[dict]:
    """The tests in the manifest's task order, numbered "<task id>.<index in the task>"."""
    task_ids = {task.function: task.id for task in manifest.tasks} if manifest else {}
    order = {function: i for i, function in enumerate(task_ids or result.functions)}
    ranked = sorted(enumerate(result.tests), key=lambda item: (order.get(item[1].charged_to, len(order)), item[0]))
    counters: dict[str, int] = {}
    tests = []
    for _, test in ranked:
        prefix = task_ids.get(test.charged_to) or str(order.get(test.charged_to, len(order)) + 1)
        counters[prefix] = counters.get(prefix, 0) + 1
        tests.append(
            {
                "name": test.name + (" (hidden test)" if test.hidden else ""),
                "number": f"{prefix}.{counters[prefix]}",
                "score": formatting.finite(test.score),
                "max_score": formatting.finite(test.max_score),
                "status": "passed" if test.passed else "failed",
                "output": _test_output(test),
                "output_format": "text",
                "visibility": HIDDEN_VISIBILITY if test.hidden else "visible",
                "tags": [str(f) for f in test.functions],
                "extra_data": {"status": str(test.status)},  # ours: error and timeout are both Gradescope's "failed"
            }
        )
    return tests


def _test_output(test: TestResult) -> str:
    message = test.message or ("" if test.passed else "no message")
    lines = [test.status.word + (f": {message}" if message else "")]
    if test.functions:
        lines.append(f"function: {', '.join(test.functions)}")
    if test.details and not test.hidden:
        lines += ["", "the lecture's worked example, intermediate by intermediate:"]
        lines += formatting.worked_example_table(test.details)
    return "\n".join(lines)


def _summary(result: GradingResult) -> str:
    """What the student sees at the top: the visible tests' points, load errors, per-function points."""
    visible = [t for t in result.tests if not t.hidden]
    hidden = [t for t in result.tests if t.hidden]
    name = os.path.basename(str(result.submission))
    earned = formatting.points(sum(formatting.finite(t.score) for t in visible), 6)
    possible = formatting.points(sum(formatting.finite(t.max_score) for t in visible), 6)
    lines = [
        f"{result.assignment}: graded {name}" if name else result.assignment,
        f"visible tests: {earned} / {possible} points, {sum(t.passed for t in visible)} of {len(visible)} passed",
    ]
    if hidden:
        worth = formatting.points(sum(formatting.finite(t.max_score) for t in hidden), 6)
        lines.append(
            f"hidden tests: {len(hidden)} tests worth {worth} points; "
            "their verdicts and your total are shown when your instructor publishes the grades"
        )
    if result.errors:
        lines += ["", "problems with the submission:"] + [f"  - {e}" for e in result.errors]
    scores = result.function_scores(Visibility.VISIBLE)
    if scores:
        lines += ["", "visible points per function:"]
        lines += [f"  {function:28} {s:6.2f} / {formatting.points(m)}" for function, (s, m) in scores.items()]
    return "\n".join(lines)


def message_only(message: str, extra: dict | None = None) -> dict:
    """A 0-point results.json that only says ``message``."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": message,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": dict(extra or {}),
    }
