"""The CSE 587 layer s = uᵀσ(Wx + b) and the two-layer perceptron σ(vᵀσ(Wᵀx)), on small fixed cases."""

import numpy as np
import pytest

from grader.grading.compare import assert_close
from reference import backprop

W = np.array([[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]])  # n = 2 outputs, m = 3 inputs
b = np.array([0.1, -0.3])
u = np.array([1.5, -0.5])
x = np.array([1.0, 2.0, -1.0])


@pytest.mark.grade(points=0.5, functions=["sigmoid_derivative"])
def test_sigmoid_derivative_at_a_few_points(student):
    z = np.array([-2.0, 0.0, 0.5, 3.0])
    assert_close(student.sigmoid_derivative(z), backprop.sigmoid_derivative(z), name="sigmoid_derivative")


@pytest.mark.grade(points=1, functions=["layer_delta"])
def test_layer_delta_on_a_small_layer(student):
    z = W @ x + b
    assert_close(student.layer_delta(u, z), backprop.layer_delta(u, z), name="layer_delta")


@pytest.mark.grade(points=1, functions=["layer_gradients"])
def test_layer_gradients_have_the_parameters_shapes(student):
    delta = backprop.layer_delta(u, W @ x + b)
    assert_close(student.layer_gradients(delta, x), backprop.layer_gradients(delta, x), name="layer_gradients")


@pytest.mark.grade(points=1, functions=["perceptron_forward"])
def test_perceptron_forward_on_a_small_network(student):
    Wp, v, xp = W.T.copy(), np.array([0.7, -1.1]), x  # W of shape (inputs, hidden) = (3, 2)
    assert_close(
        student.perceptron_forward(Wp, v, xp), backprop.perceptron_forward(Wp, v, xp), name="perceptron_forward"
    )


@pytest.mark.grade(points=1, functions=["perceptron_backward"])
def test_perceptron_backward_on_a_small_network(student):
    Wp, v, xp, t = W.T.copy(), np.array([0.7, -1.1]), x, 1.0
    forward = backprop.perceptron_forward(Wp, v, xp)
    assert_close(
        student.perceptron_backward(Wp, v, xp, t, forward),
        backprop.perceptron_backward(Wp, v, xp, t, forward),
        name="perceptron_backward",
    )
