"""Hints on wrong answers: given where the mistake they name can happen, worded as English."""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, assert_close
from grader.grading.diagnose import shape_hint, value_hint


def message(got, expected) -> str:
    with pytest.raises(Mismatch) as raised:
        assert_close(got, expected, name="f")
    return str(raised.value)


def test_a_batch_axis_is_talked_of_only_where_the_expected_value_has_one():
    assert "batch axis" in shape_hint((3,), (5, 3))
    assert "batch axis" in shape_hint((5, 4, 3), (4, 3))
    assert "batch axis" not in shape_hint((), (3,))  # a dot product where a vector belongs: no batch here
    assert "batch axis" not in shape_hint((3,), ())


def test_a_value_copied_with_the_lectures_rounding_is_recognised():
    assert "rounded to 4 decimals" in message(0.5013, 0.501249997)
    assert "rounded to 2 decimals" in message(np.array([0.25, 0.5]), np.array([0.2512345, 0.5012345]))


def test_a_single_number_gets_sign_and_factor_hints_but_no_pattern_from_one_ratio():
    assert "sign is flipped" in message(-0.25, 0.25)
    assert "factor of 2: a missing ½" in message(0.5062, 0.2531)
    assert "constant factor" not in message(0.7, 0.2531)
    assert value_hint(np.array(3.0), np.array(1.0)) == ""


def test_a_pattern_of_factors_is_named_when_several_entries_show_it():
    assert "factor of 4: a sum where a mean belongs" in message(np.array([4.0, 8.0]), np.array([1.0, 2.0]))
