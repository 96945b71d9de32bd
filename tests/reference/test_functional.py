"""reference.functional: the CSE 587 activations, their kink conventions, losses and dropout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gradient_asserts import assert_gradients_pass

from grader.grading import tolerances
from reference import Tensor
from reference import functional as F
from reference.gradcheck import check_gradients

RTOL, ATOL = tolerances.FORWARD_RTOL, tolerances.FORWARD_ATOL


def gradient_at(f, values):
    """∂(Σ f(x))/∂x at ``values``: each entry's local derivative, exactly as the engine computes it."""
    x = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    f(x).sum().backward()
    return x.grad


# ----- forward values on hand-picked inputs --------------------------------------------

Z = [-2.0, -0.5, 0.0, 0.5, 2.0]

FORWARD_VALUES = {
    "sign": (F.sign, [-1.0, -1.0, 0.0, 1.0, 1.0]),
    "relu": (F.relu, [0.0, 0.0, 0.0, 0.5, 2.0]),
    "leaky_relu k=0.1": (lambda x: F.leaky_relu(x, negative_slope=0.1), [-0.2, -0.05, 0.0, 0.5, 2.0]),
    "leaky_relu default k=0.01": (F.leaky_relu, [-0.02, -0.005, 0.0, 0.5, 2.0]),
    "hardtanh": (F.hardtanh, [-1.0, -0.5, 0.0, 0.5, 1.0]),
    "sigmoid": (
        F.sigmoid,
        [1 / (1 + np.exp(2.0)), 1 / (1 + np.exp(0.5)), 0.5, 1 / (1 + np.exp(-0.5)), 1 / (1 + np.exp(-2.0))],
    ),
    "tanh": (F.tanh, [(np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)) for z in Z]),
    "exp": (F.exp, [np.e**-2, np.e**-0.5, 1.0, np.e**0.5, np.e**2]),
}


@pytest.mark.parametrize("name", FORWARD_VALUES)
def test_activation_forward_values(name):
    f, expected = FORWARD_VALUES[name]
    np.testing.assert_allclose(f(Tensor(Z)).data, expected, rtol=RTOL, atol=ATOL)


def test_log_forward_values():
    np.testing.assert_allclose(F.log(Tensor([1.0, np.e, np.e**2])).data, [0.0, 1.0, 2.0], rtol=RTOL, atol=ATOL)


def test_maximum_forward_is_elementwise():
    got = F.maximum(Tensor([1.0, -2.0, 3.0]), Tensor([0.0, 5.0, 3.0]))
    np.testing.assert_array_equal(got.data, [1.0, 5.0, 3.0])


def test_maximum_broadcasts_like_numpy():
    got = F.maximum(Tensor([[1.0], [-1.0]]), Tensor([0.0, 2.0]))
    np.testing.assert_array_equal(got.data, [[1.0, 2.0], [0.0, 2.0]])


# ----- gradient checks away from the kinks ----------------------------------------------


def away_from_kinks(rng, shape):
    """|z| in [0.2, 0.8] or in [1.2, 3]: clear of 0 (relu, sign, leaky) and of ±1 (hardtanh)."""
    magnitude = np.where(rng.random(shape) < 0.5, rng.uniform(0.2, 0.8, shape), rng.uniform(1.2, 3.0, shape))
    return magnitude * rng.choice([-1.0, 1.0], shape)


ACTIVATIONS = {
    "sign": (F.sign, tolerances.GRADCHECK_KINK),
    "relu": (F.relu, tolerances.GRADCHECK_KINK),
    "leaky_relu": (lambda x: F.leaky_relu(x, negative_slope=0.1), tolerances.GRADCHECK_KINK),
    "hardtanh": (F.hardtanh, tolerances.GRADCHECK_KINK),
    "sigmoid": (F.sigmoid, tolerances.GRADCHECK_SMOOTH),
    "tanh": (F.tanh, tolerances.GRADCHECK_SMOOTH),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradient_matches_numeric_gradient(name):
    f, tolerance = ACTIVATIONS[name]
    rng = np.random.default_rng(3)
    assert_gradients_pass(check_gradients(f, [away_from_kinks(rng, (4, 5))], rng=rng, tolerance=tolerance))


def test_maximum_gradient_matches_numeric_gradient_away_from_ties():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 5))
    b = a + rng.uniform(0.3, 1.0, (4, 5)) * rng.choice([-1.0, 1.0], (4, 5))
    assert_gradients_pass(check_gradients(F.maximum, [a, b], rng=rng, tolerance=tolerances.GRADCHECK_KINK))


def test_log_softmax_gradient_matches_numeric_gradient():
    rng = np.random.default_rng(5)
    assert_gradients_pass(check_gradients(lambda x: F.log_softmax(x, axis=1), [rng.standard_normal((3, 4))], rng=rng))


def test_softmax_gradient_matches_numeric_gradient():
    rng = np.random.default_rng(6)
    assert_gradients_pass(check_gradients(lambda x: F.softmax(x, axis=1), [rng.standard_normal((3, 4))], rng=rng))


# ----- kink conventions, exactly as the module docstring states -------------------------


def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(gradient_at(F.relu, [-1.0, 0.0, 1.0]), [0.0, 0.0, 1.0])


def test_sign_derivative_is_zero_everywhere_including_zero():
    np.testing.assert_array_equal(gradient_at(F.sign, [-2.0, 0.0, 3.0]), [0.0, 0.0, 0.0])


def test_leaky_relu_derivative_at_zero_is_the_slope():
    got = gradient_at(lambda x: F.leaky_relu(x, negative_slope=0.1), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(got, [0.1, 0.1, 1.0])


def test_hardtanh_derivative_is_one_at_plus_and_minus_one_and_zero_outside():
    got = gradient_at(F.hardtanh, [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(got, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_maximum_tie_routes_zero_gradient_to_both_inputs():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([1.0, 0.0, 5.0], requires_grad=True)
    F.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, 1.0])


def test_leaky_relu_rejects_slope_of_one_or_more():
    with pytest.raises(ValueError, match="negative_slope"):
        F.leaky_relu(Tensor([1.0]), negative_slope=1.0)


# ----- numerical stability -------------------------------------------------------------


def test_sigmoid_does_not_overflow_or_warn_at_plus_and_minus_1000():
    x = Tensor([-1000.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        y = F.sigmoid(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


EXTREME_LOGITS = [[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]


def test_softmax_is_stable_on_extreme_logits():
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        p = F.softmax(Tensor(EXTREME_LOGITS), axis=1).data
    shifted = np.exp(np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(p[0], shifted / shifted.sum(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(p[1], [0.0, 0.0, 1.0], rtol=RTOL, atol=ATOL)


def test_softmax_rows_sum_to_one():
    p = F.softmax(Tensor(EXTREME_LOGITS), axis=1).data
    np.testing.assert_allclose(p.sum(axis=1), [1.0, 1.0], rtol=RTOL)


def test_log_softmax_is_finite_on_extreme_logits():
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        log_p = F.log_softmax(Tensor(EXTREME_LOGITS), axis=1).data
    np.testing.assert_allclose(log_p[1], [-2000.0, -1000.0, 0.0], rtol=RTOL, atol=ATOL)


# ----- losses ---------------------------------------------------------------------------

LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.3, 1.7]])
TARGETS = np.array([0, 1, 2, 2])


def softmax_by_hand(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_cross_entropy_is_mean_negative_log_softmax_of_target():
    p = softmax_by_hand(LOGITS)
    expected = -np.mean(np.log(p[np.arange(4), TARGETS]))
    got = F.cross_entropy(Tensor(LOGITS), TARGETS).item()
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    logits = Tensor(LOGITS, requires_grad=True)
    F.cross_entropy(logits, TARGETS).backward()
    expected = (softmax_by_hand(LOGITS) - np.eye(3)[TARGETS]) / 4
    np.testing.assert_allclose(logits.grad, expected, rtol=RTOL, atol=ATOL)


def test_cross_entropy_gradient_matches_numeric_gradient():
    assert_gradients_pass(check_gradients(lambda z: F.cross_entropy(z, TARGETS), [LOGITS]))


@pytest.mark.parametrize(
    "targets",
    [
        np.array([0, 1, 3, 2]),
        np.array([0, -1, 2, 2]),
        np.array([0.0, 1.0, 2.0, 2.0]),
        np.array([[0, 1, 2, 2]]),
        np.array([1]),
        np.array([0, 1, 2]),
    ],
    ids=[
        "class too large",
        "negative class",
        "float targets",
        "2-D targets",
        "one target for four rows",
        "too few targets",
    ],
)
def test_cross_entropy_rejects_bad_targets_with_value_error(targets):
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(Tensor(LOGITS), targets)


def test_cross_entropy_rejects_logits_that_are_not_a_matrix():
    with pytest.raises(ValueError, match=r"\(N, classes\)"):
        F.cross_entropy(Tensor([1.0, 2.0]), np.array([0]))


def test_squared_error_is_half_sum_of_squares():
    o, t = np.array([0.4336, 0.4306]), np.array([1.0, 0.0])
    expected = 0.5 * ((0.4336 - 1.0) ** 2 + 0.4306**2)
    np.testing.assert_allclose(F.squared_error(Tensor(o), t).item(), expected, rtol=RTOL)


def test_squared_error_gradient_is_output_minus_target():
    rng = np.random.default_rng(7)
    o, t = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    output = Tensor(o, requires_grad=True)
    F.squared_error(output, t).backward()
    np.testing.assert_allclose(output.grad, o - t, rtol=RTOL, atol=ATOL)


def test_mse_loss_is_mean_of_squares_over_all_entries():
    o, t = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [3.0, 2.0]])
    np.testing.assert_allclose(F.mse_loss(Tensor(o), t).item(), (1 + 4 + 0 + 4) / 4, rtol=RTOL)


def test_mse_loss_gradient_matches_numeric_gradient():
    rng = np.random.default_rng(8)
    t = rng.standard_normal((3, 2))
    assert_gradients_pass(check_gradients(lambda o: F.mse_loss(o, t), [rng.standard_normal((3, 2))], rng=rng))


# ----- dropout: p is the probability of dropping ----------------------------------------


def test_dropout_zeroes_about_a_fraction_p_of_entries():
    y = F.dropout(Tensor(np.ones((200, 500))), p=0.3, training=True, rng=np.random.default_rng(9)).data
    assert abs(np.mean(y == 0.0) - 0.3) < 0.01  # 100,000 draws: the standard error is 0.0015


def test_dropout_scales_kept_entries_by_one_over_one_minus_p():
    x = np.random.default_rng(10).uniform(1.0, 2.0, (50, 40))
    y = F.dropout(Tensor(x), p=0.3, training=True, rng=np.random.default_rng(11)).data
    kept = y != 0.0
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=RTOL)


def test_dropout_preserves_the_mean_approximately():
    y = F.dropout(Tensor(np.ones((200, 500))), p=0.3, training=True, rng=np.random.default_rng(12)).data
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_is_identity_when_not_training():
    x = np.arange(6.0).reshape(2, 3)
    y = F.dropout(Tensor(x), p=0.5, training=False, rng=np.random.default_rng(13))
    np.testing.assert_array_equal(y.data, x)


def test_dropout_with_same_seed_gives_same_mask():
    x = Tensor(np.ones((20, 30)))
    first = F.dropout(x, p=0.5, training=True, rng=np.random.default_rng(14)).data
    second = F.dropout(x, p=0.5, training=True, rng=np.random.default_rng(14)).data
    np.testing.assert_array_equal(first, second)


def test_dropout_with_p_one_drops_every_entry_without_dividing_by_zero():
    y = F.dropout(Tensor(np.ones((4, 5))), p=1.0, training=True, rng=np.random.default_rng(16)).data
    np.testing.assert_array_equal(y, np.zeros((4, 5)))


def test_dropout_draws_a_new_mask_at_every_call():
    x, generator = Tensor(np.ones((20, 30))), np.random.default_rng(17)
    first, second = (F.dropout(x, p=0.5, training=True, rng=generator).data for _ in range(2))
    assert not np.array_equal(first, second)


def test_dropout_gradient_flows_only_through_kept_entries_scaled():
    x = Tensor(np.ones((20, 30)), requires_grad=True)
    y = F.dropout(x, p=0.25, training=True, rng=np.random.default_rng(15))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, (y.data != 0) / 0.75, rtol=RTOL)


def test_dropout_with_p_zero_keeps_everything():
    x = np.arange(1.0, 7.0)
    y = F.dropout(Tensor(x), p=0.0, training=True, rng=np.random.default_rng(16))
    np.testing.assert_array_equal(y.data, x)


def test_dropout_with_p_one_drops_everything():
    x = Tensor(np.arange(1.0, 7.0), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 from the 1/(1 − p) scale
        y = F.dropout(x, p=1.0, training=True, rng=np.random.default_rng(17))
        y.sum().backward()
    np.testing.assert_array_equal(y.data, np.zeros(6))
    np.testing.assert_array_equal(x.grad, np.zeros(6))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_rejects_p_outside_zero_one(p):
    with pytest.raises(ValueError, match="probability"):
        F.dropout(Tensor(np.ones(3)), p=p, training=True, rng=np.random.default_rng(18))


def test_dropout_at_training_time_requires_rng():
    with pytest.raises(ValueError, match="rng"):
        F.dropout(Tensor(np.ones(3)), p=0.5, training=True)


def test_concat_joins_along_the_axis_and_hands_each_input_its_slice_of_the_gradient():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    np.testing.assert_array_equal(F.concat([Tensor(a), Tensor(b)]).data, np.concatenate([a, b]))
    assert_gradients_pass(check_gradients(lambda x, y: F.concat([x, y, -x], axis=0), [a, b]))
    assert_gradients_pass(check_gradients(lambda x, y: F.concat([x.T, y.T], axis=1), [a, b]))


def test_concat_of_a_constant_gives_the_constant_no_gradient():
    x, constant = Tensor(np.ones((1, 2)), requires_grad=True), Tensor(np.zeros((1, 2)))
    F.concat([x, constant]).backward(np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0]])
    assert constant.grad is None
