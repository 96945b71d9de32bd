"""Hints on wrong answers: given where the mistake they name can happen, worded as English; and which
known mistake (a named variant, computed by the grader) a wrong answer matches."""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, assert_close
from grader.grading.diagnose import named_variant, shape_hint, value_hint


def message(got, expected) -> str:
    with pytest.raises(Mismatch) as raised:
        assert_close(got, expected, name="f")
    return str(raised.value)


def test_a_batch_axis_is_talked_of_only_where_the_expected_value_has_one():
    assert "batch axis" in shape_hint((3,), (5, 3))
    assert "batch axis" in shape_hint((5, 4, 3), (4, 3))
    assert "batch axis" not in shape_hint((), (3,))  # a dot product where a vector belongs: no batch here
    assert "batch axis" not in shape_hint((3,), ())
    # A leading axis of length 1 is a reshape (np.array(delta)[None, :]), not a batch: hw1 has none.
    assert "batch axis" not in shape_hint((1, 2), (2,))
    assert "batch axis" not in shape_hint((3,), (1, 3))


def test_a_value_copied_with_the_lectures_rounding_is_recognised():
    assert "rounded to 4 decimals" in message(0.5013, 0.501249997)
    assert "rounded to 2 decimals" in message(np.array([0.25, 0.5]), np.array([0.2512345, 0.5012345]))


def test_zero_is_not_taken_for_a_rounded_value():
    """0 is every small number rounded to 1 decimal: a gradient left at zero is not a rounding."""
    assert "rounded" not in message(0.0, -0.000695)
    assert "rounded" not in message(np.zeros(3), np.array([0.01, 0.02, -0.03]))


def test_a_single_number_gets_sign_and_factor_hints_but_no_pattern_from_one_ratio():
    assert "sign is flipped" in message(-0.25, 0.25)
    assert "factor of 2: a missing ½" in message(0.5062, 0.2531)
    assert "constant factor" not in message(0.7, 0.2531)
    assert value_hint(np.array(3.0), np.array(1.0)) == ""


def test_a_pattern_of_factors_is_named_when_several_entries_show_it():
    assert "factor of 4: a sum where a mean belongs" in message(np.array([4.0, 8.0]), np.array([1.0, 2.0]))


TOLERANCES = {"rtol": 1e-7, "atol": 1e-12}


def test_the_first_matching_variant_is_named():
    variants = {"doubled": [2.0, 4.0], "negated": [-1.0, -2.0], "also negated": [-1.0, -2.0]}
    assert named_variant(np.array([-1.0, -2.0]), variants, **TOLERANCES) == "negated"


def test_no_match_gives_none():
    assert named_variant([1.0, 2.5], {"doubled": [2.0, 4.0]}, **TOLERANCES) is None


def test_values_are_compared_within_the_tolerances():
    assert named_variant([1.0 + 1e-9], {"one": [1.0]}, **TOLERANCES) == "one"
    assert named_variant([1.0 + 1e-5], {"one": [1.0]}, **TOLERANCES) is None


def test_nested_lists_of_dicts_of_arrays_are_compared_entry_by_entry():
    trajectory = [{"W": np.eye(2), "b": np.zeros(2)}, {"W": 2 * np.eye(2), "b": np.ones(2)}]
    other = [{"W": np.eye(2), "b": np.zeros(2)}, {"W": 2 * np.eye(2), "b": np.full(2, 3.0)}]
    assert named_variant(trajectory, {"other": other, "same": trajectory}, **TOLERANCES) == "same"


def test_another_shape_or_structure_does_not_match_and_does_not_raise():
    variants = {"row": np.ones((1, 2)), "dict": {"a": 1.0}, "text": "x", "ragged": [[1.0], [1.0, 2.0]]}
    assert named_variant(np.ones(2), variants, **TOLERANCES) is None
    assert named_variant({"a": 1.0, "b": 2.0}, variants, **TOLERANCES) is None
    assert named_variant(None, variants, **TOLERANCES) is None


def test_a_variant_given_as_a_function_is_computed_only_when_no_earlier_one_matched():
    calls = []

    def expensive():
        calls.append(1)
        return [5.0]

    assert named_variant([1.0], {"one": [1.0], "five": expensive}, **TOLERANCES) == "one"
    assert calls == []
    assert named_variant([5.0], {"one": [1.0], "five": expensive}, **TOLERANCES) == "five"
    assert calls == [1]
