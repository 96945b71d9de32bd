"""hw1_backprop: the lectures' worked examples, by hand (reference.backprop) and by the Tensor engine.

The CS 4248 example's numbers are compared at the precision the lecture
prints them, never by rounding our value (see :func:`matches_printed`).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.grading import tolerances
from reference import Tensor, backprop
from reference.gradcheck import numeric_gradient, relative_error

RTOL, ATOL = tolerances.FORWARD_RTOL, tolerances.FORWARD_ATOL


def matches_printed(value: float, printed: str) -> bool:
    """Whether ``value`` is what a lecture printing ``printed`` (d decimals) meant: |v − p| ≤ 0.55·10^(−d)."""
    decimals = len(printed.partition(".")[2])
    return abs(value - float(printed)) <= tolerances.PRINTED_DIGIT_UNITS * 10.0**-decimals


def assert_matches_printed(name: str, value: float, printed: str) -> None:
    assert matches_printed(value, printed), f"{name} = {value!r}, the lecture prints {printed}"


# ----- the comparison helper itself ----------------------------------------------------


def test_h1_just_below_half_unit_matches_lecture_printing():
    assert matches_printed(0.50124999739, "0.5013")  # round(h1, 4) would give 0.5012


def test_value_one_printed_unit_away_does_not_match():
    assert not matches_printed(0.5012, "0.5013")


def test_printed_precision_comes_from_the_number_of_decimals():
    assert matches_printed(0.0054, "0.005") and not matches_printed(0.0056, "0.005")
    assert matches_printed(-0.00043154, "-0.0004315") and not matches_printed(-0.0004316, "-0.0004315")


# ----- the CS 4248 2-2-2 network -------------------------------------------------------

WEIGHTS = {
    "w1": 0.15,
    "w2": 0.25,
    "w3": 0.20,
    "w4": 0.30,
    "w5": 0.10,
    "w6": 0.35,
    "w7": 0.05,
    "w8": -0.20,
    "b1": -0.15,
    "b2": -0.10,
    "b3": -0.50,
    "b4": -0.20,
}
INPUT = (0.20, 0.50)
TARGET = (1.00, 0.00)
ALPHA = 0.50

PRINTED_FORWARD = {
    "s1": "0.005",
    "h1": "0.5013",
    "s2": "0.09",
    "h2": "0.5225",
    "s3": "-0.2670",
    "o1": "0.4336",
    "s4": "-0.2794",
    "o2": "0.4306",
}
PRINTED_LOSS = "0.2531"
PRINTED_GRADIENTS = {"s3": "-0.1391", "s4": "0.1056", "w5": "-0.06972", "w7": "0.05292", "w1": "-0.0004315"}
PRINTED_UPDATED_WEIGHTS = {"w5": "0.1349", "w7": "0.02354", "w1": "0.1502"}


def gradients_by_hand() -> dict[str, float]:
    return backprop.backward_pass(WEIGHTS, INPUT, TARGET, backprop.forward_pass(WEIGHTS, INPUT))


@pytest.mark.parametrize("name", PRINTED_FORWARD)
def test_forward_pass_reproduces_lecture(name):
    a = backprop.forward_pass(WEIGHTS, INPUT)
    assert_matches_printed(name, a[name], PRINTED_FORWARD[name])


def test_squared_error_loss_reproduces_lecture():
    a = backprop.forward_pass(WEIGHTS, INPUT)
    assert_matches_printed("L", backprop.squared_error_loss((a["o1"], a["o2"]), TARGET), PRINTED_LOSS)


@pytest.mark.parametrize("name", PRINTED_GRADIENTS)
def test_backward_pass_reproduces_lecture(name):
    gradients = gradients_by_hand()
    assert_matches_printed(f"∂L/∂{name}", gradients[name], PRINTED_GRADIENTS[name])


@pytest.mark.parametrize("name", PRINTED_UPDATED_WEIGHTS)
def test_gradient_descent_update_reproduces_lecture(name):
    updated = backprop.gradient_descent_update(WEIGHTS, gradients_by_hand(), ALPHA)
    assert_matches_printed(f"{name}'", updated[name], PRINTED_UPDATED_WEIGHTS[name])


def test_gradient_descent_update_updates_every_weight_and_bias():
    gradients = gradients_by_hand()
    updated = backprop.gradient_descent_update(WEIGHTS, gradients, ALPHA)
    assert set(updated) == set(WEIGHTS)
    for name in WEIGHTS:
        np.testing.assert_allclose(updated[name], WEIGHTS[name] - ALPHA * gradients[name], rtol=RTOL, atol=ATOL)


def test_gradient_descent_update_does_not_mutate_its_input():
    weights = dict(WEIGHTS)
    backprop.gradient_descent_update(
        weights, backprop.backward_pass(weights, INPUT, TARGET, backprop.forward_pass(weights, INPUT)), ALPHA
    )
    assert weights == WEIGHTS


def tensor_network(weights: dict[str, float]):
    """The same 2-2-2 network built from Tensor ops: (every node by the slide's name, the leaves)."""
    w = {name: Tensor(value, requires_grad=True) for name, value in weights.items()}
    i1, i2 = INPUT
    nodes = {}
    nodes["s1"] = w["w1"] * i1 + w["w2"] * i2 + w["b1"]
    nodes["h1"] = nodes["s1"].sigmoid()
    nodes["s2"] = w["w3"] * i1 + w["w4"] * i2 + w["b2"]
    nodes["h2"] = nodes["s2"].sigmoid()
    nodes["s3"] = w["w5"] * nodes["h1"] + w["w6"] * nodes["h2"] + w["b3"]
    nodes["o1"] = nodes["s3"].sigmoid()
    nodes["s4"] = w["w7"] * nodes["h1"] + w["w8"] * nodes["h2"] + w["b4"]
    nodes["o2"] = nodes["s4"].sigmoid()
    nodes["L"] = 0.5 * ((nodes["o1"] - TARGET[0]) ** 2 + (nodes["o2"] - TARGET[1]) ** 2)
    for node in nodes.values():
        node.retain_grad()  # the slides print ∂L/∂s3 and ∂L/∂s4: keep the intermediate gradients
    nodes["L"].backward()
    return nodes, w


@pytest.mark.parametrize("name", PRINTED_FORWARD)
def test_tensor_engine_forward_reproduces_lecture(name):
    nodes, _ = tensor_network(WEIGHTS)
    assert_matches_printed(name, nodes[name].item(), PRINTED_FORWARD[name])


def test_tensor_engine_loss_reproduces_lecture():
    nodes, _ = tensor_network(WEIGHTS)
    assert_matches_printed("L", nodes["L"].item(), PRINTED_LOSS)


@pytest.mark.parametrize("name", PRINTED_GRADIENTS)
def test_tensor_engine_gradients_reproduce_lecture(name):
    nodes, leaves = tensor_network(WEIGHTS)
    gradient = (nodes[name] if name.startswith("s") else leaves[name]).grad
    assert_matches_printed(f"∂L/∂{name}", float(gradient), PRINTED_GRADIENTS[name])


@pytest.mark.parametrize("name", PRINTED_UPDATED_WEIGHTS)
def test_tensor_engine_update_reproduces_lecture(name):
    _, leaves = tensor_network(WEIGHTS)
    updated = leaves[name].item() - ALPHA * float(leaves[name].grad)
    assert_matches_printed(f"{name}'", updated, PRINTED_UPDATED_WEIGHTS[name])


def test_backward_pass_equals_tensor_engine_for_every_weight_bias_and_pre_activation():
    by_hand = gradients_by_hand()
    nodes, leaves = tensor_network(WEIGHTS)
    for name, value in by_hand.items():
        engine = (nodes[name] if name.startswith("s") else leaves[name]).grad
        np.testing.assert_allclose(value, engine, rtol=RTOL, atol=ATOL, err_msg=f"∂L/∂{name}")


# ----- the CSE 587 layer s = uᵀσ(Wx + b), with W of shape n × m, n ≠ m ---------------------

N_UNITS, M_INPUTS = 3, 5


def layer_inputs():
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((N_UNITS, M_INPUTS)),
        rng.standard_normal(N_UNITS),
        rng.standard_normal(N_UNITS),
        rng.standard_normal(M_INPUTS),
    )


def layer_score(W, b, u, x) -> float:
    return backprop.layer_forward(W, b, u, x)["s"]


def layer_gradients_by_hand(W, b, u, x) -> dict[str, np.ndarray]:
    delta = backprop.layer_delta(u, backprop.layer_forward(W, b, u, x)["z"])
    return backprop.layer_gradients(delta, x)


def layer_engine_gradients(W, b, u, x) -> dict[str, np.ndarray]:
    """∂s/∂W and ∂s/∂b of s = uᵀσ(Wx + b) by the Tensor engine."""
    W_t, b_t = Tensor(W, requires_grad=True), Tensor(b, requires_grad=True)
    (Tensor(u) @ (W_t @ Tensor(x) + b_t).sigmoid()).backward()
    return {"W": W_t.grad, "b": b_t.grad}


def sigmoid_by_hand(z):
    return 1 / (1 + np.exp(-z))


def test_layer_forward_is_u_dot_sigmoid_of_wx_plus_b():
    W, b, u, x = layer_inputs()
    np.testing.assert_allclose(layer_score(W, b, u, x), u @ sigmoid_by_hand(W @ x + b), rtol=RTOL)


def test_layer_delta_is_u_times_sigmoid_derivative():
    W, b, u, x = layer_inputs()
    z = W @ x + b
    expected = u * sigmoid_by_hand(z) * (1 - sigmoid_by_hand(z))
    np.testing.assert_allclose(backprop.layer_delta(u, z), expected, rtol=RTOL, atol=ATOL)


def test_layer_grad_b_equals_tensor_engine():
    W, b, u, x = layer_inputs()
    by_hand, engine = layer_gradients_by_hand(W, b, u, x), layer_engine_gradients(W, b, u, x)
    np.testing.assert_allclose(by_hand["b"], engine["b"], rtol=RTOL, atol=ATOL)


def test_layer_grad_b_equals_numeric_gradient():
    W, b, u, x = layer_inputs()
    numeric = numeric_gradient(lambda b_: layer_score(W, b_, u, x), b)
    assert relative_error(layer_gradients_by_hand(W, b, u, x)["b"], numeric).max() <= tolerances.GRADCHECK_SMOOTH


def test_layer_grad_W_has_shape_of_W():
    W, b, u, x = layer_inputs()
    assert layer_gradients_by_hand(W, b, u, x)["W"].shape == (N_UNITS, M_INPUTS)


def test_layer_grad_W_is_outer_product_of_delta_and_x():
    W, b, u, x = layer_inputs()
    z = W @ x + b
    delta = u * sigmoid_by_hand(z) * (1 - sigmoid_by_hand(z))
    np.testing.assert_allclose(layer_gradients_by_hand(W, b, u, x)["W"], np.outer(delta, x), rtol=RTOL, atol=ATOL)


def test_layer_grad_W_equals_tensor_engine():
    W, b, u, x = layer_inputs()
    by_hand, engine = layer_gradients_by_hand(W, b, u, x), layer_engine_gradients(W, b, u, x)
    np.testing.assert_allclose(by_hand["W"], engine["W"], rtol=RTOL, atol=ATOL)


def test_layer_grad_W_equals_numeric_gradient():
    W, b, u, x = layer_inputs()
    numeric = numeric_gradient(lambda W_: layer_score(W_, b, u, x), W)
    assert relative_error(layer_gradients_by_hand(W, b, u, x)["W"], numeric).max() <= tolerances.GRADCHECK_SMOOTH


def test_layer_grad_b_does_not_alias_delta():
    delta, x = np.array([1.0, 2.0, 3.0]), np.ones(5)
    gradients = backprop.layer_gradients(delta, x)
    delta[0] = 100.0
    assert gradients["b"][0] == 1.0


# ----- the CSE 587 two-layer perceptron f(x) = σ(vᵀσ(Wᵀx)), W of shape (inputs, hidden) ------

INPUTS, HIDDEN = 4, 3
PERCEPTRON_TARGET = 1.0


def perceptron_inputs():
    rng = np.random.default_rng(1)
    return rng.standard_normal((INPUTS, HIDDEN)), rng.standard_normal(HIDDEN), rng.standard_normal(INPUTS)


def perceptron_gradients_by_hand(W, v, x) -> dict[str, np.ndarray]:
    return backprop.perceptron_backward(W, v, x, PERCEPTRON_TARGET, backprop.perceptron_forward(W, v, x))


def perceptron_engine(W, v, x) -> dict[str, np.ndarray | float]:
    """o, ∂L/∂W and ∂L/∂v of L = ½(σ(vᵀσ(Wᵀx)) − t)² by the Tensor engine."""
    W_t, v_t = Tensor(W, requires_grad=True), Tensor(v, requires_grad=True)
    o = (v_t @ (W_t.T @ Tensor(x)).sigmoid()).sigmoid()
    (0.5 * (o - PERCEPTRON_TARGET) ** 2).backward()
    return {"o": o.item(), "W": W_t.grad, "v": v_t.grad}


def perceptron_loss(W, v, x) -> float:
    return 0.5 * (backprop.perceptron_forward(W, v, x)["o"] - PERCEPTRON_TARGET) ** 2


def test_perceptron_forward_equals_tensor_engine():
    W, v, x = perceptron_inputs()
    np.testing.assert_allclose(backprop.perceptron_forward(W, v, x)["o"], perceptron_engine(W, v, x)["o"], rtol=RTOL)


def test_perceptron_forward_hidden_layer_is_sigmoid_of_w_transpose_x():
    W, v, x = perceptron_inputs()
    np.testing.assert_allclose(backprop.perceptron_forward(W, v, x)["h"], sigmoid_by_hand(W.T @ x), rtol=RTOL)


def test_perceptron_backward_W_has_shape_inputs_by_hidden():
    W, v, x = perceptron_inputs()
    assert perceptron_gradients_by_hand(W, v, x)["W"].shape == (INPUTS, HIDDEN)


@pytest.mark.parametrize("parameter", ["W", "v"])
def test_perceptron_backward_equals_tensor_engine(parameter):
    W, v, x = perceptron_inputs()
    by_hand, engine = perceptron_gradients_by_hand(W, v, x), perceptron_engine(W, v, x)
    np.testing.assert_allclose(by_hand[parameter], engine[parameter], rtol=RTOL, atol=ATOL)


def test_perceptron_backward_W_equals_numeric_gradient():
    W, v, x = perceptron_inputs()
    numeric = numeric_gradient(lambda W_: perceptron_loss(W_, v, x), W)
    assert relative_error(perceptron_gradients_by_hand(W, v, x)["W"], numeric).max() <= tolerances.GRADCHECK_SMOOTH


def test_perceptron_backward_v_equals_numeric_gradient():
    W, v, x = perceptron_inputs()
    numeric = numeric_gradient(lambda v_: perceptron_loss(W, v_, x), v)
    assert relative_error(perceptron_gradients_by_hand(W, v, x)["v"], numeric).max() <= tolerances.GRADCHECK_SMOOTH
