"""Every local gradient against the reference engine's, on seeded random inputs and shapes the visible tests do not use.

Batches, non-square matrices, three-dimensional arrays; a random upstream
gradient; no broadcasting (unbroadcast's own tests below do that).
"""

import numpy as np
import pytest

from grader.grading.compare import assert_close
from reference.tensor import unbroadcast

SEEDS = (101, 102)
SHAPES = {101: (5, 2), 102: (2, 3, 4)}  # a batch of 5 rows of 2, and a 3-D array


def normal(seed, shape, offset=0):
    return np.random.default_rng(seed + offset).standard_normal(shape)


def signed(seed, shape, low, high=2.5, offset=0):
    """Entries of either sign with |entry| in [low, high]: away from a kink or pole at 0."""
    rng = np.random.default_rng(seed + offset)
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)


def check(op_check, op, inputs, what, names, seed):
    op_check(op, inputs, what=what, names=names, seed=seed + 50, numeric=False, reference=True)


@pytest.mark.grade(points=0.25, functions=["Tensor.__add__"])
@pytest.mark.parametrize("seed", SEEDS)
def test_add(op_check, seed):
    shape = SHAPES[seed]
    check(op_check, lambda ns, a, b: a + b, [normal(seed, shape), normal(seed, shape, 1)], "a + b", "ab", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.__sub__"])
@pytest.mark.parametrize("seed", SEEDS)
def test_sub(op_check, seed):
    shape = SHAPES[seed]
    check(op_check, lambda ns, a, b: a - b, [normal(seed, shape), normal(seed, shape, 1)], "a - b", "ab", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.__mul__"])
@pytest.mark.parametrize("seed", SEEDS)
def test_mul(op_check, seed):
    shape = SHAPES[seed]
    check(op_check, lambda ns, a, b: a * b, [normal(seed, shape), normal(seed, shape, 1)], "a * b", "ab", seed)


@pytest.mark.grade(points=0.75, functions=["Tensor.__truediv__"])
@pytest.mark.parametrize("seed", SEEDS)
def test_div(op_check, seed):
    shape = SHAPES[seed]
    check(
        op_check, lambda ns, a, b: a / b, [normal(seed, shape), signed(seed, shape, 0.3, offset=1)], "a / b", "ab", seed
    )


@pytest.mark.grade(points=0.5, functions=["Tensor.__pow__"])
@pytest.mark.parametrize("seed, p", [(101, 1.7), (102, -2.0)])
def test_pow(op_check, seed, p):
    x = np.random.default_rng(seed).uniform(0.3, 2.0, SHAPES[seed])
    check(op_check, lambda ns, x: x**p, [x], f"x ** {p}", "x", seed)


MATMUL_SHAPES = [((5, 3), (3, 2)), ((4,), (4, 3)), ((2, 3), (3,)), ((2, 3, 4), (2, 4, 5))]


@pytest.mark.grade(points=0.5, functions=["Tensor.__matmul__"])
@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul(op_check, a_shape, b_shape):
    seed = 110 + len(a_shape) + 3 * len(b_shape)
    check(op_check, lambda ns, a, b: a @ b, [normal(seed, a_shape), normal(seed, b_shape, 1)], "A @ B", "AB", seed)


REDUCTIONS = [((4, 3), 0, False), ((2, 3, 4), 1, True), ((2, 3, 4), 2, False), ((3, 2, 2), None, True)]


@pytest.mark.grade(points=0.5, functions=["Tensor.sum"])
@pytest.mark.parametrize("shape, axis, keepdims", REDUCTIONS)
def test_sum(op_check, shape, axis, keepdims):
    seed = 120 + len(shape) + (axis or 0)
    what = f"x.sum(axis={axis}, keepdims={keepdims})"
    check(op_check, lambda ns, x: x.sum(axis=axis, keepdims=keepdims), [normal(seed, shape)], what, "x", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.mean"])
@pytest.mark.parametrize("shape, axis, keepdims", REDUCTIONS)
def test_mean(op_check, shape, axis, keepdims):
    seed = 130 + len(shape) + (axis or 0)
    what = f"x.mean(axis={axis}, keepdims={keepdims})"
    check(op_check, lambda ns, x: x.mean(axis=axis, keepdims=keepdims), [normal(seed, shape)], what, "x", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.exp"])
@pytest.mark.parametrize("seed", SEEDS)
def test_exp(op_check, seed):
    check(op_check, lambda ns, x: x.exp(), [normal(seed, SHAPES[seed])], "x.exp()", "x", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.log"])
@pytest.mark.parametrize("seed", SEEDS)
def test_log(op_check, seed):
    x = np.random.default_rng(seed).uniform(0.1, 5.0, SHAPES[seed])
    check(op_check, lambda ns, x: x.log(), [x], "x.log()", "x", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.sigmoid"])
@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid(op_check, seed):
    check(op_check, lambda ns, z: z.sigmoid(), [3 * normal(seed, SHAPES[seed])], "z.sigmoid()", "z", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.tanh"])
@pytest.mark.parametrize("seed", SEEDS)
def test_tanh(op_check, seed):
    check(op_check, lambda ns, z: z.tanh(), [2 * normal(seed, SHAPES[seed])], "z.tanh()", "z", seed)


@pytest.mark.grade(points=0.5, functions=["Tensor.relu"])
@pytest.mark.parametrize("seed", SEEDS)
def test_relu(op_check, seed):
    check(op_check, lambda ns, z: z.relu(), [signed(seed, SHAPES[seed], 0.05)], "z.relu()", "z", seed)


@pytest.mark.grade(points=0.125, functions=["sign"])
@pytest.mark.parametrize("seed", SEEDS)
def test_sign(op_check, seed):
    check(op_check, lambda ns, z: ns.sign(z), [signed(seed, SHAPES[seed], 0.05)], "sign(z)", "z", seed)


@pytest.mark.grade(points=0.5, functions=["leaky_relu"])
@pytest.mark.parametrize("seed, k", [(101, 0.2), (102, 0.01)])
def test_leaky_relu(op_check, seed, k):
    z = signed(seed, SHAPES[seed], 0.05)
    check(op_check, lambda ns, z: ns.leaky_relu(z, k), [z], f"leaky_relu(z, {k})", "z", seed)


@pytest.mark.grade(points=0.5, functions=["hardtanh"])
@pytest.mark.parametrize("seed", SEEDS)
def test_hardtanh(op_check, seed):
    z = signed(seed, SHAPES[seed], 0.05, high=3.0)
    z = np.where(np.abs(np.abs(z) - 1) < 0.05, 1.5 * z, z)  # away from ±1
    check(op_check, lambda ns, z: ns.hardtanh(z), [z], "hardtanh(z)", "z", seed)


@pytest.mark.grade(points=0.5, functions=["maximum"])
@pytest.mark.parametrize("seed", SEEDS)
def test_maximum(op_check, seed):
    a = normal(seed, SHAPES[seed])
    b = a + signed(seed, SHAPES[seed], 0.05, offset=1)  # no ties
    check(op_check, lambda ns, a, b: ns.maximum(a, b), [a, b], "maximum(a, b)", "ab", seed)


# ----- unbroadcast --------------------------------------------------------------------------------------------
DIRECT = [((4, 2, 3), (2, 3)), ((4, 2, 3), (1, 3)), ((5, 1, 3), (1, 1, 1)), ((6,), (1,))]


@pytest.mark.grade(points=0.5, functions=["unbroadcast"])
@pytest.mark.parametrize("grad_shape, shape", DIRECT, ids=[f"{g}->{s}" for g, s in DIRECT])
def test_unbroadcast_on_random_shapes(student, grad_shape, shape):
    grad = np.random.default_rng(140 + len(shape)).standard_normal(grad_shape)
    assert_close(student.unbroadcast(grad, list(shape)), unbroadcast(grad, shape), name=f"unbroadcast(grad, {shape})")


@pytest.mark.grade(points=0.25, functions=["unbroadcast", "Tensor.__sub__"])
def test_a_row_subtracted_from_a_batch(engine):
    rng = np.random.default_rng(150)
    big, small = rng.normal(size=(2, 5, 3)), rng.normal(size=(1, 3))
    engine.broadcast_matches_stretched(lambda ns, X, r: X - r, big, small, what="X - r", seed=151)


@pytest.mark.grade(points=0.25, functions=["unbroadcast", "maximum"])
def test_maximum_against_a_threshold_per_column(engine):
    rng = np.random.default_rng(152)
    big, small = rng.normal(size=(4, 3)), rng.normal(size=3) + 0.01  # no ties with the big entries
    engine.broadcast_matches_stretched(lambda ns, X, t: ns.maximum(X, t), big, small, what="maximum(X, t)", seed=153)
