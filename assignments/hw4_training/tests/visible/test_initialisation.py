"""Uniform and Xavier initialisation: the bounds, mean, variance and shape of your draws.

Your draws are never compared with the reference's (any correct way of drawing passes): each statistical
check fails a correct solution with probability at most 10⁻⁸ (see checks.py for the bounds).
"""

import math

import pytest

from reference import init


@pytest.mark.grade(points=1, functions=["uniform"])
def test_uniform_fills_minus_to_plus_a_tenth(student, hw4):
    """10,000 draws of U[−0.1, 0.1], the default a: false-failure probability ≤ 4·10⁻⁸ (four checks)."""
    weights = student.uniform((100, 100), rng=hw4.generator(student, 1))
    hw4.check_uniform(weights, 0.1, (100, 100), "uniform((100, 100))")


@pytest.mark.grade(points=0.5, functions=["xavier_bound"])
@pytest.mark.parametrize(("fan_in", "fan_out"), [(64, 64), (64, 10)])
def test_xavier_bound(student, hw4, fan_in, fan_out):
    hw4.assert_close_naming(
        student.xavier_bound(fan_in, fan_out),
        init.xavier_bound(fan_in, fan_out),
        name=f"xavier_bound({fan_in}, {fan_out})",
        mistakes={
            "√(6 / fan_in): fan_out belongs in the sum too": math.sqrt(6 / fan_in),
            "√6 / (fan_in + fan_out): the square root is of the whole fraction": math.sqrt(6) / (fan_in + fan_out),
            "√(2 / (fan_in + fan_out)) is the standard deviation of Xavier's normal, not the uniform bound": math.sqrt(
                2 / (fan_in + fan_out)
            ),
        },
    )


@pytest.mark.grade(points=1, functions=["xavier_uniform", "xavier_bound", "uniform"])
def test_xavier_uniform_draws_a_fan_out_by_fan_in_matrix_from_its_range(student, hw4):
    """W of shape (50, 200) from U[±√(6/250)]: false-failure probability ≤ 4·10⁻⁸ (four checks)."""
    weights = student.xavier_uniform(200, 50, rng=hw4.generator(student, 2))
    hw4.check_uniform(
        weights,
        init.xavier_bound(200, 50),
        (50, 200),
        "xavier_uniform(fan_in=200, fan_out=50)",
        shape_hint=" (W is (fan_out, fan_in), the shape of W in z = Wx + b)",
    )
