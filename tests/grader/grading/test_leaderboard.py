"""The ``leaderboard`` fixture's entries: one per name, finite numbers only, kept on the test's result."""

import math

import pytest

from grader.grading.harness import Leaderboard
from grader.outputs.results import GradingResult, TestResult


def test_an_entry_has_a_name_a_value_and_an_order_and_a_name_appears_once():
    board = Leaderboard()
    board.add("Accuracy", 0.5)
    board.add("Time", 15.1, order="asc")
    board.add("Accuracy", 0.926)
    assert board.entries == [
        {"name": "Time", "value": 15.1, "order": "asc"},
        {"name": "Accuracy", "value": 0.926, "order": "desc"},
    ]


def test_a_value_json_cannot_hold_is_left_out_and_a_wrong_order_is_the_tests_mistake():
    board = Leaderboard()
    board.add("Accuracy", math.nan)
    assert board.entries == []
    with pytest.raises(ValueError, match="asc"):
        board.add("Accuracy", 0.9, order="ascending")


def test_the_grading_result_gathers_the_tests_entries_and_keeps_them_through_json():
    first = TestResult("a::one", 1, 1, "passed", "visible", ["f"], leaderboard=[{"name": "Accuracy", "value": 0.5}])
    second = TestResult("a::two", 1, 1, "passed", "hidden", ["f"], leaderboard=[{"name": "Accuracy", "value": 0.9}])
    result = GradingResult(
        "hw", "s.py", 2, 2, [first, second, TestResult("a::three", 1, 1, "passed", "visible", ["f"])]
    )
    assert result.leaderboard == [{"name": "Accuracy", "value": 0.9}]
    assert GradingResult.from_dict(result.to_dict()).leaderboard == result.leaderboard
