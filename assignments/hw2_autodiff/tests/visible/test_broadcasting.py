"""unbroadcast: a broadcast operand's gradient summed back to the operand's own shape.

numpy broadcasting prepends axes and stretches axes of length 1; each copy the
stretching made gets its share of the upstream gradient, and the operand's
gradient is their sum. Tested directly, and end to end through an operation:
x + b with a bias b of shape (4,) added to every row must give b the sum over
the rows of what the same operation gives a b stretched by hand. Both sides
use the student's own local gradient, so only the reduction is tested here.
"""

import numpy as np
import pytest

from grader.grading.compare import assert_close
from reference.tensor import unbroadcast

DIRECT = [((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)), ((2, 3), ())]


@pytest.mark.grade(points=0.5, functions=["unbroadcast"])
@pytest.mark.parametrize("grad_shape, shape", DIRECT, ids=[f"{g}->{s}" for g, s in DIRECT])
def test_unbroadcast_sums_over_the_broadcast_axes(student, grad_shape, shape):
    grad = np.random.default_rng(len(grad_shape) + len(shape)).standard_normal(grad_shape)
    assert_close(student.unbroadcast(grad, list(shape)), unbroadcast(grad, shape), name=f"unbroadcast(grad, {shape})")


@pytest.mark.grade(points=0.25, functions=["unbroadcast", "Tensor.__add__"])
def test_a_bias_added_to_every_row_gets_the_sum_over_the_rows(engine):
    rng = np.random.default_rng(7)
    engine.broadcast_matches_stretched(
        lambda ns, X, b: X + b, rng.normal(size=(3, 4)), rng.normal(size=4), what="X + b", seed=8
    )


@pytest.mark.grade(points=0.25, functions=["unbroadcast", "Tensor.__mul__"])
def test_a_column_scaling_every_column_gets_the_sum_over_the_columns(engine):
    rng = np.random.default_rng(9)
    engine.broadcast_matches_stretched(
        lambda ns, X, c: X * c, rng.normal(size=(3, 4)), rng.normal(size=(3, 1)), what="X * c", seed=10
    )
