"""diagnose.named_variant: which known mistake a wrong answer matches."""

import numpy as np

from grader.grading.diagnose import named_variant

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
