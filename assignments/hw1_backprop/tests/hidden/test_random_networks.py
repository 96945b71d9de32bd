"""Seeded random cases: a solution that only reproduces the lecture's numbers does not pass."""

import numpy as np
import pytest

from grader.grading.compare import assert_close, assert_unchanged
from reference import backprop

SEEDS = range(4)


@pytest.mark.grade(points=2, functions=["forward_pass"])
@pytest.mark.parametrize("seed", SEEDS)
def test_forward_pass_on_random_networks(student, random_network, seed):
    weights, i, _ = random_network(seed)
    assert_close(student.forward_pass(weights, i), backprop.forward_pass(weights, i), name="forward_pass")


@pytest.mark.grade(points=0.5, functions=["squared_error_loss"])
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_on_random_outputs(student, seed):
    rng = np.random.default_rng(seed)
    o, t = rng.uniform(0, 1, 2).tolist(), rng.uniform(0, 1, 2).tolist()
    assert_close(student.squared_error_loss(o, t), backprop.squared_error_loss(o, t), name="squared_error_loss")


@pytest.mark.grade(points=3, functions=["backward_pass"])
@pytest.mark.parametrize("seed", SEEDS)
def test_backward_pass_on_random_networks(student, random_network, seed):
    weights, i, t = random_network(seed)
    forward = backprop.forward_pass(weights, i)
    assert_close(
        student.backward_pass(weights, i, t, forward),
        backprop.backward_pass(weights, i, t, forward),
        name="backward_pass",
    )


@pytest.mark.grade(points=0.5, functions=["gradient_descent_update"])
@pytest.mark.parametrize("seed", SEEDS)
def test_update_with_a_random_learning_rate(student, random_network, seed):
    weights, i, t = random_network(seed)
    gradients = backprop.backward_pass(weights, i, t, backprop.forward_pass(weights, i))
    alpha = float(np.random.default_rng(seed).uniform(0.01, 2.0))
    got, changed = student.gradient_descent_update.with_changes(weights, gradients, alpha)
    assert_close(got, backprop.gradient_descent_update(weights, gradients, alpha), name="gradient_descent_update")
    assert_unchanged(changed, name="gradient_descent_update")


@pytest.mark.grade(points=0.5, functions=["sigmoid_derivative"])
def test_sigmoid_derivative_elementwise_on_a_matrix(student):
    z = np.linspace(-30, 30, 12).reshape(3, 4)
    assert_close(student.sigmoid_derivative(z), backprop.sigmoid_derivative(z), name="sigmoid_derivative")


def _layer(seed, n=4, m=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, m)), rng.normal(size=n), rng.normal(size=n), rng.normal(size=m)


@pytest.mark.grade(points=1, functions=["layer_delta"])
@pytest.mark.parametrize("seed", SEEDS)
def test_layer_delta_on_random_layers(student, seed):
    W, b, u, x = _layer(seed)
    z = W @ x + b
    assert_close(student.layer_delta(u, z), backprop.layer_delta(u, z), name="layer_delta")


@pytest.mark.grade(points=1, functions=["layer_gradients"])
@pytest.mark.parametrize("seed", SEEDS)
def test_layer_gradients_on_random_non_square_layers(student, seed):
    W, b, u, x = _layer(seed, n=5, m=2)
    delta = backprop.layer_delta(u, W @ x + b)
    assert_close(student.layer_gradients(delta, x), backprop.layer_gradients(delta, x), name="layer_gradients")


def _perceptron(seed, inputs=3, hidden=4):
    rng = np.random.default_rng(100 + seed)
    return rng.normal(size=(inputs, hidden)), rng.normal(size=hidden), rng.normal(size=inputs), float(rng.uniform())


@pytest.mark.grade(points=1, functions=["perceptron_forward"])
@pytest.mark.parametrize("seed", SEEDS)
def test_perceptron_forward_on_random_networks(student, seed):
    W, v, x, _ = _perceptron(seed)
    assert_close(student.perceptron_forward(W, v, x), backprop.perceptron_forward(W, v, x), name="perceptron_forward")


@pytest.mark.grade(points=2, functions=["perceptron_backward"])
@pytest.mark.parametrize("seed", SEEDS)
def test_perceptron_backward_on_random_networks(student, seed):
    W, v, x, t = _perceptron(seed)
    forward = backprop.perceptron_forward(W, v, x)
    assert_close(
        student.perceptron_backward(W, v, x, t, forward),
        backprop.perceptron_backward(W, v, x, t, forward),
        name="perceptron_backward",
    )
