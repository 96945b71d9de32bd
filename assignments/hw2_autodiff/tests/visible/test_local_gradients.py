"""Each operation's local gradient against the centred differences of its own forward computation.

downstream gradient = upstream gradient × local gradient: every test gives the
operation a random upstream gradient u (a ones upstream hides transposed and
mis-broadcast gradients) and checks the gradient it sends to every input
against (f(x + h) − f(x − h)) / 2h of f = Σ u ∘ op(...), the student's own
forward computation, entry by entry. Inputs keep away from kinks and poles;
each kink's convention has a test of its own (test_kinks.py). No test here
broadcasts: unbroadcast has tests of its own.
"""

import numpy as np
import pytest

from grader.grading import tolerances

KINK = tolerances.GRADCHECK_KINK


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def positive(seed, *shape, low=0.5, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def away_from_zero(seed, *shape, margin=0.5):
    """Entries of either sign, at least ``margin`` from 0 (a divisor, a kink at 0)."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(margin, 2.0, shape)


def leaky_relu_mistakes(k):
    return [
        ("k for z > 0 too: the slope is 1 there", lambda u, z: [u * k]),
        ("1 for z ≤ 0 too: the slope is k there", lambda u, z: [u]),
        ("leaky'(z) is 1 for z > 0 and k for z ≤ 0, k at the kink", lambda u, z: [u * np.where(z >= 0, 1.0, k)]),
    ]


def away_from(values, kinks, margin=0.1):
    """``values`` with every entry closer than ``margin`` to a kink moved out to ``margin`` from it."""
    values = np.array(values, dtype=np.float64)
    for kink in kinks:
        near = np.abs(values - kink) < margin
        values[near] = kink + np.where(values[near] >= kink, margin, -margin)
    return values


@pytest.mark.grade(points=0.25, functions=["Tensor.__add__"])
def test_add_distributes_the_upstream_gradient(op_check):
    op_check(lambda ns, a, b: a + b, [normal(1, 3, 4), normal(2, 3, 4)], what="a + b", names="ab", seed=3)


@pytest.mark.grade(points=0.5, functions=["Tensor.__sub__"])
def test_sub_gives_minus_the_upstream_gradient_to_b(op_check):
    op_check(lambda ns, a, b: a - b, [normal(4, 3, 4), normal(5, 3, 4)], what="a - b", names="ab", seed=6)


@pytest.mark.grade(points=0.5, functions=["Tensor.__mul__"])
def test_mul_switches_the_operands(op_check):
    op_check(lambda ns, a, b: a * b, [normal(7, 3, 4), normal(8, 3, 4)], what="a * b", names="ab", seed=9)


@pytest.mark.grade(points=0.75, functions=["Tensor.__truediv__"])
def test_div_gives_one_over_b_and_minus_a_over_b_squared(op_check):
    a, b = normal(10, 3, 4), away_from_zero(11, 3, 4)
    op_check(lambda ns, a, b: a / b, [a, b], what="a / b", names="ab", seed=12)


@pytest.mark.grade(points=0.5, functions=["Tensor.__pow__"])
@pytest.mark.parametrize("p", [3, 2.5, 0.5, -1.0])
def test_pow_is_p_times_x_to_the_p_minus_one(op_check, p):
    dropped = ("p·xᵖ⁻¹: the exponent drops by one", lambda u, x: [u * p * x**p])
    op_check(lambda ns, x: x**p, [positive(13, 3, 4)], what=f"x ** {p}", names="x", seed=14, mistakes=[dropped])


@pytest.mark.grade(points=0.5, functions=["Tensor.__matmul__"])
def test_matmul_of_non_square_matrices(op_check):
    a, b = normal(15, 3, 4), normal(16, 4, 2)
    op_check(lambda ns, a, b: a @ b, [a, b], what="A @ B", names="AB", seed=17)


@pytest.mark.grade(points=0.25, functions=["Tensor.__matmul__"])
def test_matmul_of_a_matrix_and_a_vector(op_check):
    W, x = normal(18, 3, 4), normal(19, 4)  # z = Wx, as in the lecture's layer
    op_check(lambda ns, W, x: W @ x, [W, x], what="W @ x", names="Wx", seed=20, batched=False)


@pytest.mark.grade(points=0.5, functions=["Tensor.sum"])
@pytest.mark.parametrize(
    "axis, keepdims, batched",
    [(None, False, False), (-1, False, True), (-1, True, True), (-2, True, True)],
    ids=["all", "rows", "rows-keepdims", "columns-keepdims"],
)
def test_sum_gives_every_summand_the_upstream_gradient(op_check, axis, keepdims, batched):
    x = normal(21, 2, 2)
    what = f"x.sum(axis={axis}, keepdims={keepdims})"
    op_check(lambda ns, x: x.sum(axis=axis, keepdims=keepdims), [x], what=what, names="x", seed=22, batched=batched)


@pytest.mark.grade(points=0.5, functions=["Tensor.mean"])
@pytest.mark.parametrize(
    "axis, keepdims, batched",
    [(None, False, False), (-1, False, True), (-1, True, True), (-2, True, True)],
    ids=["all", "rows", "rows-keepdims", "columns-keepdims"],
)
def test_mean_gives_every_entry_the_upstream_gradient_over_n(op_check, axis, keepdims, batched):
    x = normal(23, 2, 2)
    what = f"x.mean(axis={axis}, keepdims={keepdims})"
    op_check(lambda ns, x: x.mean(axis=axis, keepdims=keepdims), [x], what=what, names="x", seed=24, batched=batched)


@pytest.mark.grade(points=0.5, functions=["Tensor.exp"])
def test_exp_is_its_own_derivative(op_check):
    op_check(lambda ns, x: x.exp(), [normal(25, 3, 4)], what="x.exp()", names="x", seed=26)


@pytest.mark.grade(points=0.5, functions=["Tensor.log"])
def test_log_is_one_over_x(op_check):
    op_check(lambda ns, x: x.log(), [positive(27, 3, 4, low=0.2)], what="x.log()", names="x", seed=28)


@pytest.mark.grade(points=0.25, functions=["Tensor.sigmoid"])
def test_sigmoid_is_s_times_one_minus_s(op_check):
    op_check(lambda ns, z: z.sigmoid(), [2 * normal(29, 3, 4)], what="z.sigmoid()", names="z", seed=30)


@pytest.mark.grade(points=0.5, functions=["Tensor.tanh"])
def test_tanh_is_one_minus_tanh_squared(op_check):
    op_check(lambda ns, z: z.tanh(), [normal(31, 3, 4)], what="z.tanh()", names="z", seed=32)


@pytest.mark.grade(points=0.25, functions=["Tensor.relu"])
def test_relu_away_from_its_kink(op_check):
    z = away_from_zero(33, 3, 4, margin=0.1)
    op_check(lambda ns, z: z.relu(), [z], what="z.relu()", names="z", seed=34, tolerance=KINK)


@pytest.mark.grade(points=0.125, functions=["sign"])
def test_sign_away_from_zero_passes_no_gradient(op_check):
    z = away_from_zero(35, 3, 4, margin=0.1)
    op_check(lambda ns, z: ns.sign(z), [z], what="sign(z)", names="z", seed=36, tolerance=KINK)


@pytest.mark.grade(points=0.25, functions=["leaky_relu"])
def test_leaky_relu_away_from_its_kink(op_check):
    z = away_from_zero(37, 3, 4, margin=0.1)
    what, mistakes = "leaky_relu(z, 0.1)", leaky_relu_mistakes(0.1)
    op_check(lambda ns, z: ns.leaky_relu(z, 0.1), [z], what=what, names="z", seed=38, tolerance=KINK, mistakes=mistakes)


@pytest.mark.grade(points=0.25, functions=["hardtanh"])
def test_hardtanh_away_from_its_kinks(op_check):
    z = away_from(2 * normal(39, 3, 4), kinks=(-1.0, 1.0))  # inside and outside [−1, 1]
    op_check(lambda ns, z: ns.hardtanh(z), [z], what="hardtanh(z)", names="z", seed=40, tolerance=KINK)


@pytest.mark.grade(points=0.25, functions=["maximum"])
def test_maximum_away_from_ties(op_check):
    a = normal(41, 3, 4)
    b = a + away_from_zero(42, 3, 4, margin=0.1)  # |a − b| ≥ 0.1: the larger input is clear
    op_check(lambda ns, a, b: ns.maximum(a, b), [a, b], what="maximum(a, b)", names="ab", seed=43, tolerance=KINK)
