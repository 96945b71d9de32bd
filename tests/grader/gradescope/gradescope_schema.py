"""Gradescope's results.json schema, as its published specification states it (for the tests).

gradescope/autograder_samples, docs/specs.md, "Output format":

    { "score": 44.0, // optional, but required if not on each test case below. Overrides total of tests if specified.
      "execution_time": 136, // optional, seconds
      "output": "Text relevant to the entire submission", // optional
      "output_format": "simple_format", // Optional output format settings
      "test_output_format": "text", // Optional default output format for test case outputs
      "test_name_format": "text", // Optional default output format for test case names
      "visibility": "after_due_date", // Optional visibility setting
      "stdout_visibility": "visible", // Optional stdout visibility setting
      "extra_data": {}, // Optional extra data to be stored
      "tests": // Optional, but required if no top-level score
        [ { "score": 2.0, "max_score": 2.0, "status": "passed", "name": "Your name here", "name_format": "text",
            "number": "1.1", "output": "Giant multiline string ...", "output_format": "text",
            "tags": ["tag1", "tag2", "tag3"], "visibility": "visible", "extra_data": {} }, ... ],
      "leaderboard": // Optional, will set up leaderboards for these values
        [ {"name": "Accuracy", "value": .926}, {"name": "Time", "value": 15.1, "order": "asc"},
          {"name": "Stars", "value": "*****"} ] }

Leaderboards (gradescope-autograders.readthedocs.io/en/latest/leaderboards/): "You can specify the sort
order for a quantity by specifying an "order" property. The default is "desc" for descending, i.e. higher
scores rank higher, but for quantities like execution time you may want to sort them in ascending order."

"Options for the visibility field are as follows: hidden ... after_due_date ... after_published:
test case will be shown only when the assignment is explicitly published from the "Review Grades"
page ... visible (default)". The "status" of a test is "passed" or "failed".
"""

import json
import math

import pytest

TOP_FIELDS = {
    "score": (int, float),
    "execution_time": (int, float),
    "output": str,
    "output_format": str,
    "test_output_format": str,
    "test_name_format": str,
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "tests": list,
    "leaderboard": list,
}
TEST_FIELDS = {
    "score": (int, float),
    "max_score": (int, float),
    "status": str,
    "name": str,
    "name_format": str,
    "number": str,
    "output": str,
    "output_format": str,
    "tags": list,
    "visibility": str,
    "extra_data": dict,
}
LEADERBOARD_FIELDS = {"name", "value", "order"}
# What our results.json always carries (the specification makes every field optional).
TOP_KEYS = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "visibility",
    "stdout_visibility",
    "tests",
    "extra_data",
}
TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility", "tags", "extra_data"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def check_schema(data: dict) -> None:
    """Field names and types of the specification, its enums, strict JSON; the score is the tests' sum."""
    json.dumps(data, allow_nan=False)
    assert set(data) <= set(TOP_FIELDS), set(data) - set(TOP_FIELDS)
    assert TOP_KEYS <= set(data), TOP_KEYS - set(data)
    for key, kind in TOP_FIELDS.items():
        assert key not in data or isinstance(data[key], kind), (key, data.get(key))
    assert math.isfinite(data["score"]) and data["output"]
    assert data["output_format"] in FORMATS and data["visibility"] in VISIBILITIES
    assert data["stdout_visibility"] == "hidden"  # stdout is for instructors only
    for test in data["tests"]:
        assert set(test) <= set(TEST_FIELDS), set(test) - set(TEST_FIELDS)
        assert TEST_KEYS <= set(test), TEST_KEYS - set(test)
        for key, kind in TEST_FIELDS.items():
            assert key not in test or isinstance(test[key], kind), (key, test.get(key))
        assert all(math.isfinite(test[k]) for k in ("score", "max_score"))
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in VISIBILITIES
        assert all(isinstance(t, str) for t in test["tags"])
    if data["tests"]:
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    for entry in data.get("leaderboard", []):
        assert set(entry) <= LEADERBOARD_FIELDS and {"name", "value"} <= set(entry), entry
        assert isinstance(entry["name"], str) and isinstance(entry["value"], (int, float, str)), entry
        assert entry.get("order", "desc") in ("asc", "desc"), entry


def read_results(path) -> dict:
    """results.json as strict JSON: NaN or Infinity would make Gradescope reject the file."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"results.json holds {c}, which is not JSON"))
