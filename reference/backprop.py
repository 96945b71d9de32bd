"""Backpropagation by hand, in plain numpy: no Tensor, every derivative written out.

Three networks from the lectures:

1. The CS 4248 2-2-2 network: inputs (i1, i2), sigmoid hidden units h1, h2,
   sigmoid outputs o1, o2, loss L = ½[(o1 − t1)² + (o2 − t2)²], weights
   w1..w8 and biases b1..b4 named as on the slides.
2. The CSE 587 layer s = uᵀf(Wx + b) with f = σ, and its gradients
   ∂s/∂b = δ and ∂s/∂W = δᵀxᵀ, where δ = uᵀ ∘ f'(z).
3. The CSE 587 two-layer perceptron f(x) = σ(vᵀσ(Wᵀx)).

Weights and gradients of network 1 are dicts keyed by the slide's names
("w1", ..., "b4"), so the code reads like the derivation. Each backward
function takes the forward intermediates as an argument instead of
recomputing them, so every function can be checked on its own.
"""

from __future__ import annotations

import numpy as np

WEIGHT_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "b1", "b2", "b3", "b4")


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), for a number or an array."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_derivative(z):
    """σ'(z) = σ(z)(1 − σ(z)), taken at the pre-activation z."""
    s = sigmoid(z)
    return s * (1.0 - s)


# ----- 1. the CS 4248 2-2-2 network ----------------------------------------------------


def forward_pass(weights: dict[str, float], i: tuple[float, float]) -> dict[str, float]:
    """Forward computation of the 2-2-2 network; returns every intermediate.

        s1 = w1·i1 + w2·i2 + b1     h1 = σ(s1)
        s2 = w3·i1 + w4·i2 + b2     h2 = σ(s2)
        s3 = w5·h1 + w6·h2 + b3     o1 = σ(s3)
        s4 = w7·h1 + w8·h2 + b4     o2 = σ(s4)

    Returns {"s1", "h1", "s2", "h2", "s3", "o1", "s4", "o2"}.
    """
    w = weights
    i1, i2 = i
    s1 = w["w1"] * i1 + w["w2"] * i2 + w["b1"]
    h1 = sigmoid(s1)
    s2 = w["w3"] * i1 + w["w4"] * i2 + w["b2"]
    h2 = sigmoid(s2)
    s3 = w["w5"] * h1 + w["w6"] * h2 + w["b3"]
    o1 = sigmoid(s3)
    s4 = w["w7"] * h1 + w["w8"] * h2 + w["b4"]
    o2 = sigmoid(s4)
    return {"s1": s1, "h1": h1, "s2": s2, "h2": h2, "s3": s3, "o1": o1, "s4": s4, "o2": o2}


def squared_error_loss(o: tuple[float, float], t: tuple[float, float]) -> float:
    """L = ½[(o1 − t1)² + (o2 − t2)²]."""
    return 0.5 * ((o[0] - t[0]) ** 2 + (o[1] - t[1]) ** 2)


def backward_pass(
    weights: dict[str, float], i: tuple[float, float], t: tuple[float, float], forward: dict[str, float]
) -> dict[str, float]:
    """∂L/∂ of every weight and bias, and of the pre-activations s1..s4.

    ``forward`` holds the intermediates of :func:`forward_pass` (h1, h2, o1,
    o2 are used), so the backward computation starts from given values.

    Base case (output layer):
        ∂L/∂s3 = (o1 − t1)·o1(1 − o1)        ∂L/∂s4 = (o2 − t2)·o2(1 − o2)
        ∂L/∂w5 = ∂L/∂s3·h1   ∂L/∂w6 = ∂L/∂s3·h2   ∂L/∂b3 = ∂L/∂s3
        ∂L/∂w7 = ∂L/∂s4·h1   ∂L/∂w8 = ∂L/∂s4·h2   ∂L/∂b4 = ∂L/∂s4
    Recursive case (h1 feeds both s3 and s4, so its gradient is a sum):
        ∂L/∂s1 = (∂L/∂s3·w5 + ∂L/∂s4·w7)·h1(1 − h1)
        ∂L/∂s2 = (∂L/∂s3·w6 + ∂L/∂s4·w8)·h2(1 − h2)
        ∂L/∂w1 = ∂L/∂s1·i1   ∂L/∂w2 = ∂L/∂s1·i2   ∂L/∂b1 = ∂L/∂s1
        ∂L/∂w3 = ∂L/∂s2·i1   ∂L/∂w4 = ∂L/∂s2·i2   ∂L/∂b2 = ∂L/∂s2

    Returns {"s1", ..., "s4", "w1", ..., "w8", "b1", ..., "b4"}, each the
    derivative of L with respect to that quantity.
    """
    w = weights
    i1, i2 = i
    h1, h2, o1, o2 = forward["h1"], forward["h2"], forward["o1"], forward["o2"]
    ds3 = (o1 - t[0]) * o1 * (1 - o1)
    ds4 = (o2 - t[1]) * o2 * (1 - o2)
    ds1 = (ds3 * w["w5"] + ds4 * w["w7"]) * h1 * (1 - h1)
    ds2 = (ds3 * w["w6"] + ds4 * w["w8"]) * h2 * (1 - h2)
    return {
        "s1": ds1,
        "s2": ds2,
        "s3": ds3,
        "s4": ds4,
        "w1": ds1 * i1,
        "w2": ds1 * i2,
        "w3": ds2 * i1,
        "w4": ds2 * i2,
        "w5": ds3 * h1,
        "w6": ds3 * h2,
        "w7": ds4 * h1,
        "w8": ds4 * h2,
        "b1": ds1,
        "b2": ds2,
        "b3": ds3,
        "b4": ds4,
    }


def gradient_descent_update(weights: dict[str, float], gradients: dict[str, float], alpha: float) -> dict[str, float]:
    """One step of gradient descent, w_i ← w_i − α·∂L/∂w_i, for every weight and bias.

    Returns new weights; the ``weights`` passed in are left as they were.
    """
    return {name: weights[name] - alpha * gradients[name] for name in WEIGHT_NAMES}


# ----- 2. the CSE 587 layer s = uᵀ f(Wx + b) -----------------------------------------


def layer_forward(W: np.ndarray, b: np.ndarray, u: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """z = Wx + b, h = f(z) with f = σ, s = uᵀh; W has shape (n, m), x (m,), b and u (n,).

    Returns {"z", "h", "s"}.
    """
    z = W @ x + b
    h = sigmoid(z)
    return {"z": z, "h": h, "s": float(u @ h)}


def layer_delta(u: np.ndarray, z: np.ndarray) -> np.ndarray:
    """δ = ∂s/∂h ∂h/∂z = uᵀ diag(f'(z)) = uᵀ ∘ f'(z), the part ∂s/∂b and ∂s/∂W share.

    With f = σ, f'(z) = σ(z)(1 − σ(z)), taken at the pre-activation z.
    """
    return u * sigmoid(z) * (1.0 - sigmoid(z))


def layer_gradients(delta: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """∂s/∂b and ∂s/∂W from δ.

        ∂s/∂b = δ ∂z/∂b = δ I = δ                      shape (n,)
        ∂s/∂W = δᵀxᵀ, the outer product of δ and x     shape (n, m), W's shape

    By the shape convention the gradient has the parameter's shape: row k of
    ∂s/∂W is δ_k·xᵀ. Returns {"b", "W"}.
    """
    return {"b": np.array(delta, dtype=np.float64), "W": np.outer(delta, x)}


# ----- 3. the CSE 587 two-layer perceptron ------------------------------------------


def perceptron_forward(W: np.ndarray, v: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """f(x) = o = σ(vᵀ σ(Wᵀx)); returns {"h": σ(Wᵀx), "o": o}.

    W has shape (inputs, hidden): column j holds the weights w_j of hidden
    unit h_j = σ(w_jᵀx). v has shape (hidden,). There are no biases.
    """
    h = sigmoid(W.T @ x)
    return {"h": h, "o": float(sigmoid(v @ h))}


def perceptron_backward(
    W: np.ndarray, v: np.ndarray, x: np.ndarray, t: float, forward: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Gradients of L = ½(f(x) − t)² with respect to W and v.

    ``forward`` holds h and o from :func:`perceptron_forward`. With
    h = σ(Wᵀx) and o = σ(vᵀh):

        δ_o = ∂L/∂(vᵀh) = (o − t)·o(1 − o)             a number
        ∂L/∂v = δ_o·h
        δ_h = ∂L/∂(Wᵀx) = δ_o·v ∘ h ∘ (1 − h)          a vector over hidden units
        ∂L/∂W = x δ_hᵀ                                  inputs × hidden, W's shape

    Returns {"W": ∂L/∂W, "v": ∂L/∂v}.
    """
    h, o = forward["h"], forward["o"]
    delta_o = (o - t) * o * (1 - o)
    delta_h = delta_o * v * h * (1 - h)
    return {"W": np.outer(x, delta_h), "v": delta_o * h}
