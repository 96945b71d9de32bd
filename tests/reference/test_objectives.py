"""The objectives J(θ) that hw3 gives students: gradients against the formulas, one call as a closure."""

from __future__ import annotations

import numpy as np
import pytest

from reference import Tensor, optim
from reference.objectives import LeastSquares, Quadratic

RNG = np.random.default_rng(7)
W0, B0 = RNG.normal(size=(3, 2)), RNG.normal(size=2)
X, Y = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))


def params():
    return Tensor(W0, requires_grad=True), Tensor(B0, requires_grad=True)


def test_quadratic_gradient_is_a_theta_plus_c_for_each_parameter():
    W, b = params()
    a, c = [np.full((3, 2), 2.0), np.linspace(0.5, 1.5, 2)], [np.ones((3, 2)), np.array([-0.3, 0.4])]
    loss = Quadratic([W, b], a, c)()
    np.testing.assert_allclose(W.grad, a[0] * W0 + c[0], rtol=1e-12)
    np.testing.assert_allclose(b.grad, a[1] * B0 + c[1], rtol=1e-12)
    expected = sum(np.sum(0.5 * a_k * p**2 + c_k * p) for a_k, c_k, p in zip(a, c, (W0, B0)))
    assert loss == pytest.approx(expected, rel=1e-12)


def test_quadratic_with_a_zero_has_the_constant_gradient_c():
    W, _ = params()
    c = np.arange(6.0).reshape(3, 2) - 2.5
    Quadratic([W], [0.0], [c])()
    np.testing.assert_array_equal(W.grad, c)


def test_least_squares_gradients_match_the_normal_equations():
    W, b = params()
    loss = LeastSquares(W, b, X, Y)()
    residual = X @ W0 + B0 - Y
    assert loss == pytest.approx(0.5 * np.sum(residual**2) / 5, rel=1e-12)
    np.testing.assert_allclose(W.grad, X.T @ residual / 5, rtol=1e-12)
    np.testing.assert_allclose(b.grad, residual.sum(axis=0) / 5, rtol=1e-12)


def test_least_squares_on_one_example_is_the_stochastic_objective():
    W, b = params()
    LeastSquares(W, b, X[2], Y[2])()
    residual = X[2] @ W0 + B0 - Y[2]
    np.testing.assert_allclose(W.grad, np.outer(X[2], residual), rtol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_with_a_batch_size_each_call_is_on_the_next_batch_in_order_then_from_the_start(batch_size):
    W, b = params()
    objective = LeastSquares(W, b, X, Y, batch_size=batch_size)
    starts = list(range(0, 5, batch_size))
    for call in range(len(starts) + 2):
        rows = slice(starts[call % len(starts)], starts[call % len(starts)] + batch_size)  # the last batch is shorter
        loss = objective()
        residual = X[rows] @ W0 + B0 - Y[rows]
        assert loss == pytest.approx(0.5 * np.sum(residual**2) / len(residual), rel=1e-12)
        np.testing.assert_allclose(W.grad, X[rows].T @ residual / len(residual), rtol=1e-12)


def test_a_call_replaces_the_gradients_instead_of_adding_to_them():
    W, b = params()
    objective = LeastSquares(W, b, X, Y)
    objective()
    first = W.grad.copy()
    objective()
    np.testing.assert_array_equal(W.grad, first)


def test_calls_record_the_points_and_losses_where_j_was_evaluated():
    W, b = params()
    objective = Quadratic([W, b], [1.0, 1.0], [0.0, 0.0])
    objective()
    W.data = W.data * 0.5
    objective()
    assert len(objective.points) == 2 and objective.losses[1] < objective.losses[0]
    np.testing.assert_array_equal(objective.points[0][0], W0)
    np.testing.assert_array_equal(objective.points[1][0], 0.5 * W0)


def test_the_recorded_points_are_copies():
    W, b = params()
    objective = Quadratic([W], [1.0], [0.0])
    objective()
    W.data -= 1.0  # in place: a recorded view would change with it
    np.testing.assert_array_equal(objective.points[0][0], W0)


def test_as_nesterovs_closure_it_records_the_look_ahead_points():
    W, b = params()
    objective = LeastSquares(W, b, X, Y)
    opt = optim.Nesterov([W, b], lr=0.1, momentum=0.9)
    opt.step(objective)
    theta_1, velocity = W.data.copy(), opt.state[0]["v"].copy()
    opt.step(objective)
    np.testing.assert_array_equal(objective.points[0][0], W0)  # v_0 = 0: the first look-ahead point is θ_0
    np.testing.assert_allclose(objective.points[1][0], theta_1 - 0.9 * velocity, rtol=1e-12)


def test_a_parameter_outside_the_objective_keeps_no_gradient_and_is_left_alone():
    W, b = params()
    frozen = Tensor(np.ones(4), requires_grad=True)
    opt = optim.Adam([W, b, frozen], lr=0.1)
    opt.step(LeastSquares(W, b, X, Y))
    assert frozen.grad is None
    np.testing.assert_array_equal(frozen.data, np.ones(4))


def test_mismatched_shapes_and_constant_parameters_are_refused():
    W, b = params()
    with pytest.raises(ValueError, match=r"need W of shape \(3, 2\)"):
        LeastSquares(b, W, X, Y)
    with pytest.raises(ValueError, match="5 examples in X but 4 targets"):
        LeastSquares(W, b, X, Y[:4])
    with pytest.raises(ValueError, match="2 parameters need as many a and c"):
        Quadratic([W, b], [1.0], [0.0])
    with pytest.raises(ValueError, match="batch_size must be None or an integer ≥ 1"):
        LeastSquares(W, b, X, Y, batch_size=0)
    with pytest.raises(TypeError, match="requires_grad=True"):
        Quadratic([Tensor(W0)], [1.0], [0.0])
