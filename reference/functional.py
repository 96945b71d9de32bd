"""Activations, losses and dropout as functions of Tensors.

The activations are those of the CSE 587 slide "Activation Functions". Where
a function has a kink, its derivative there is a convention, stated in the
docstring and pinned by a test:

=============  ==========================================  ===================
function       definition                                  derivative at kink
=============  ==========================================  ===================
sign           sign(z) ∈ {−1, 0, 1}                        0 everywhere (also at 0)
relu           max{0, z}                                   0 at z = 0
leaky_relu     max(z, k·z), 0 < k < 1                      k at z = 0
hardtanh       −1 (z < −1), z (−1 ≤ z ≤ 1), 1 (z > 1)      1 at z = ±1 (the closed middle piece)
maximum(a, b)  elementwise max                             1(a > b) to a, 1(b > a) to b: 0 to both at a tie
=============  ==========================================  ===================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .tensor import Tensor, as_tensor


def sigmoid(x: Tensor) -> Tensor:
    """σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z))."""
    return as_tensor(x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)); tanh'(z) = 1 − tanh²(z)."""
    return as_tensor(x).tanh()


def relu(x: Tensor) -> Tensor:
    """max{0, z}; ReLU'(z) = 1(z > 0), so ReLU'(0) = 0."""
    return as_tensor(x).relu()


def exp(x: Tensor) -> Tensor:
    return as_tensor(x).exp()


def log(x: Tensor) -> Tensor:
    return as_tensor(x).log()


def sign(x: Tensor) -> Tensor:
    """sign(z): −1, 0 or 1. Its derivative is 0 wherever it exists; we take 0 at z = 0 too."""
    x = as_tensor(x)

    def _backward(upstream):  # piecewise constant: no gradient flows through sign
        # BEGIN SOLUTION
        x.accumulate_grad(np.zeros_like(x.data), fresh=True)
        # END SOLUTION

    return Tensor.from_op(np.sign(x.data), (x,), "sign", _backward)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky(z) = max(z, k·z) with k = ``negative_slope``, 0 < k < 1.

    Derivative: 1 for z > 0, k for z ≤ 0 (so k at the kink, which makes
    k = 0 agree with ReLU'(0) = 0).
    """
    if not 0 <= negative_slope < 1:
        raise ValueError(f"leaky_relu needs 0 ≤ negative_slope < 1, got {negative_slope}")
    x = as_tensor(x)
    slope = np.where(x.data > 0, 1.0, negative_slope)

    def _backward(upstream):
        # BEGIN SOLUTION
        x.accumulate_grad(upstream * slope, fresh=True)
        # END SOLUTION

    return Tensor.from_op(x.data * slope, (x,), "leaky_relu", _backward)


def hardtanh(x: Tensor) -> Tensor:
    """−1 for z < −1, z for −1 ≤ z ≤ 1, 1 for z > 1.

    Derivative: 1 on the closed interval [−1, 1] (the lecture's middle case
    includes its ends), 0 outside.
    """
    x = as_tensor(x)
    inside = (x.data >= -1.0) & (x.data <= 1.0)

    def _backward(upstream):
        # BEGIN SOLUTION
        x.accumulate_grad(upstream * inside, fresh=True)
        # END SOLUTION

    return Tensor.from_op(np.clip(x.data, -1.0, 1.0), (x,), "hardtanh", _backward)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise max(a, b); max "routes" the upstream gradient.

    As in the lecture, ∂max(y, z)/∂y = 1(y > z) and ∂max(y, z)/∂z = 1(z > y):
    at a tie (y = z) neither input receives a gradient.
    """
    a, b = as_tensor(a), as_tensor(b)

    def _backward(upstream):
        # BEGIN SOLUTION
        if a.requires_grad:
            a.accumulate_grad(upstream * (a.data > b.data), fresh=True)
        if b.requires_grad:
            b.accumulate_grad(upstream * (b.data > a.data), fresh=True)
        # END SOLUTION

    return Tensor.from_op(np.maximum(a.data, b.data), (a, b), "max", _backward)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors joined along ``axis`` (numpy's concatenate); each gets back its own slice of the gradient."""
    tensors = [as_tensor(t) for t in tensors]
    ends = np.cumsum([t.data.shape[axis] for t in tensors])[:-1]

    def _backward(upstream):  # concatenation copies: each input's gradient is the upstream of its own part
        for tensor, part in zip(tensors, np.split(upstream, ends, axis=axis)):
            if tensor.requires_grad:
                tensor.accumulate_grad(part)

    return Tensor.from_op(np.concatenate([t.data for t in tensors], axis=axis), tuple(tensors), "concat", _backward)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(z)_i = z_i − log Σ_j e^(z_j), computed as (z − max z) − log Σ_j e^(z_j − max z).

    Subtracting the max keeps every exponent ≤ 0, so no overflow. Backward:
    ∂/∂z of Σ_i g_i·log softmax(z)_i = g − softmax(z)·Σ_i g_i.
    """
    x = as_tensor(x)
    shifted = x.data - x.data.max(axis=axis, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    log_p = shifted - log_sum

    def _backward(upstream):
        x.accumulate_grad(upstream - np.exp(log_p) * upstream.sum(axis=axis, keepdims=True), fresh=True)

    return Tensor.from_op(log_p, (x,), "log_softmax", _backward)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """softmax(z)_i = e^(z_i) / Σ_j e^(z_j), via the stable :func:`log_softmax`."""
    return log_softmax(x, axis=axis).exp()


def one_hot(targets: np.ndarray, num_classes: int) -> np.ndarray:
    """Row n is the unit vector e_{targets[n]}."""
    targets = np.asarray(targets)
    if targets.ndim != 1 or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(
            f"class targets must be a 1-D array of integers, got dtype {targets.dtype} shape {targets.shape}"
        )
    if targets.size and (targets.min() < 0 or targets.max() >= num_classes):
        raise ValueError(f"class targets must lie in 0..{num_classes - 1}, got {targets.min()}..{targets.max()}")
    encoded = np.zeros((targets.size, num_classes))
    encoded[np.arange(targets.size), targets] = 1.0
    return encoded


def cross_entropy(logits: Tensor, targets: np.ndarray) -> Tensor:
    """Mean negative log-likelihood of integer class targets.

    The discriminative objective −Σ log P(y | X; θ) of the lecture, with
    P(y | X) = softmax(logits)_y, averaged over the N rows of the batch:

        L = −(1/N) Σ_n log softmax(logits_n)_{y_n}
    """
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy expects logits of shape (N, classes), got {logits.shape}")
    # Checked here, not left to broadcasting: one target for N rows would silently score every row against it.
    if np.shape(targets) != (logits.shape[0],):
        raise ValueError(
            f"cross_entropy expects one class target per row of logits, shape ({logits.shape[0]},), "
            f"got shape {np.shape(targets)}"
        )
    picked = log_softmax(logits, axis=1) * one_hot(targets, logits.shape[1])
    return -picked.sum() / float(logits.shape[0])


def squared_error(o: Tensor, t) -> Tensor:
    """L = ½ Σ (o − t)², the loss of the CS 4248 example; ∂L/∂o = o − t."""
    difference = as_tensor(o) - as_tensor(t)
    return (difference * difference).sum() * 0.5


def mse_loss(o: Tensor, t) -> Tensor:
    """Mean squared error (1/n) Σ (o − t)² over all n entries."""
    difference = as_tensor(o) - as_tensor(t)
    return (difference * difference).mean()


def dropout(x: Tensor, p: float, training: bool, rng: np.random.Generator | None = None) -> Tensor:
    """Randomly zero entries with probability ``p`` at training time only.

    ``p`` is the probability of *dropping* an entry: each entry is dropped
    on its own, independently of the others, with a new draw at every call.
    Kept entries are scaled by 1/(1 − p) ("inverted dropout"), so the
    expected value of every entry is unchanged and evaluation needs no
    rescaling: at evaluation (``training`` False) dropout is the identity.
    p = 1 drops every entry (zeros, no division by 0). The result is a
    Tensor computed from ``x``, so the gradient flows back through the kept
    entries (scaled by 1/(1 − p) too) and not through the dropped ones. The
    mask is one draw ``rng.random(x.shape) >= p`` from the injected generator.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability p must lie in [0, 1], got {p}")
    x = as_tensor(x)
    # BEGIN SOLUTION
    if not training or p == 0:
        return x
    if rng is None:
        raise ValueError("dropout at training time needs rng=, a numpy.random.Generator")
    if p == 1:
        return x * np.zeros(x.shape)
    keep = rng.random(x.shape) >= p
    return x * (keep / (1.0 - p))
    # END SOLUTION
