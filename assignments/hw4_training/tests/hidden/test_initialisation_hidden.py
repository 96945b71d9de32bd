"""Hidden: initialisers of other bounds and shapes, drawn from the generator they are given.

Each statistical check fails a correct solution with probability at most 10⁻⁸ (see checks.py).
"""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, assert_close
from reference import init


@pytest.mark.grade(points=0.5, functions=["uniform"])
@pytest.mark.parametrize(("a", "shape"), [(0.05, (300, 400)), (0.5, (120_000,))])
def test_uniform_of_another_bound_and_shape(student, hw4, a, shape):
    """False-failure probability ≤ 4·10⁻⁸ per case (four checks)."""
    weights = student.uniform(shape, a=a, rng=hw4.generator(student, 11))
    hw4.check_uniform(weights, a, shape, f"uniform({shape}, a={a})")


@pytest.mark.grade(points=0.5, functions=["uniform"])
def test_uniform_draws_from_the_generator_it_is_given(student, hw4):
    """The same seed gives the same weights, another seed others (equal by chance: probability 0 in float64)."""
    first, again, other = (student.uniform((20, 30), rng=hw4.generator(student, seed)) for seed in (12, 12, 13))
    hw4.array_of(first, (20, 30), "uniform((20, 30))")
    if not np.array_equal(first, again):
        raise Mismatch("uniform: two generators seeded alike gave different weights: draw from rng, the one given")
    if np.array_equal(first, other):
        raise Mismatch("uniform: generators of different seeds gave the same weights: draw from rng, the one given")


@pytest.mark.grade(points=0.5, functions=["xavier_bound"])
def test_xavier_bound_of_other_layers(student):
    for fan_in, fan_out in [(784, 100), (3, 1), (10, 250)]:
        got, expected = student.xavier_bound(fan_in, fan_out), init.xavier_bound(fan_in, fan_out)
        assert_close(got, expected, name=f"xavier_bound({fan_in}, {fan_out})")


@pytest.mark.grade(points=1, functions=["xavier_uniform", "xavier_bound", "uniform"])
@pytest.mark.parametrize(("fan_in", "fan_out"), [(64, 10), (1000, 200)])
def test_xavier_uniform_of_other_layers(student, hw4, fan_in, fan_out):
    """False-failure probability ≤ 4·10⁻⁸ per case (four checks)."""
    weights = student.xavier_uniform(fan_in, fan_out, rng=hw4.generator(student, 14))
    name = f"xavier_uniform(fan_in={fan_in}, fan_out={fan_out})"
    bound = init.xavier_bound(fan_in, fan_out)
    hw4.check_uniform(weights, bound, (fan_out, fan_in), name, shape_hint=" (W is (fan_out, fan_in))")
