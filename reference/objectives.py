"""Objective functions J(θ) to minimise, each callable as an optimizer's closure.

The lecture optimises an objective J(θ) by its gradient ∇_θ J(θ). An
:class:`Objective` is J over some parameters (Tensors with
``requires_grad=True``), built from plain numbers: calling it is one
evaluation, exactly what ``optimizer.step(closure)`` expects of a closure::

    W, b = Tensor(W0, requires_grad=True), Tensor(b0, requires_grad=True)
    J = LeastSquares(W, b, X, y)        # J(W, b) on all the examples (X, y)
    optimizer = SGD([W, b], lr=0.1)
    for t in range(steps):
        loss = optimizer.step(J)        # J() sets every .grad to ∇J at the current θ

One call forgets the gradients of its parameters (``.grad = None``),
computes J at their current values with Tensor operations, runs
``backward()`` so that each ``.grad`` holds ∂J/∂θ, and returns J as a float.
It also records where it was evaluated: ``points[i]`` holds a copy of every
parameter's value at the i-th call and ``losses[i]`` the value of J there.
:class:`~reference.optim.Nesterov` calls its closure at the look-ahead point
θ − γv, so ``points`` shows where it looked.

A parameter the optimizer holds but J does not use keeps ``.grad = None``
(no gradient reaches it), so a step must leave it alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .tensor import Tensor


class Objective:
    """J(θ) over ``params``; subclasses define :meth:`loss`, the graph of J at the current θ."""

    def __init__(self, params: Sequence[Tensor]):
        self.params = list(params)
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: parameter {index} must be a Tensor with requires_grad=True")
        self.points: list[list[np.ndarray]] = []
        self.losses: list[float] = []

    def loss(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define loss()")

    def __call__(self) -> float:
        """One evaluation: zero the gradients, J at the current θ, backward(); returns J."""
        for p in self.params:
            p.grad = None
        self.points.append([p.data.copy() for p in self.params])
        loss = self.loss()
        loss.backward()
        self.losses.append(loss.item())
        return self.losses[-1]


class Quadratic(Objective):
    """J(θ) = Σ_k Σ (½ a_k ⊙ θ_k² + c_k ⊙ θ_k), so ∇_{θ_k} J(θ) = a_k ⊙ θ_k + c_k.

    One coefficient array a_k and one c_k per parameter θ_k, each of its
    shape (or broadcastable to it). With a = 0 the gradient is the constant
    c; tiny a and c give tiny gradients (where ε's place in a formula shows).
    """

    def __init__(self, params: Sequence[Tensor], a: Sequence, c: Sequence):
        super().__init__(params)
        if not len(a) == len(c) == len(self.params):
            raise ValueError(
                f"Quadratic: {len(self.params)} parameters need as many a and c, got {len(a)} and {len(c)}"
            )
        self.a = [Tensor(np.broadcast_to(a_k, p.data.shape)) for a_k, p in zip(a, self.params)]
        self.c = [Tensor(np.broadcast_to(c_k, p.data.shape)) for c_k, p in zip(c, self.params)]

    def loss(self) -> Tensor:
        total = Tensor(0.0)
        for p, a, c in zip(self.params, self.a, self.c):
            total = total + (a * p**2 * 0.5 + c * p).sum()
        return total


class LeastSquares(Objective):
    """Linear regression's J(W, b; x^(i:i+m), y^(i:i+m)) = 1/(2m) Σ_i ‖x_i W + b − y_i‖² over a batch of m examples.

    X has one example x_i per row (shape (n, d)), y one target row per
    example (shape (n, k)); W has shape (d, k) and b shape (k,).
    ``batch_size`` decides which examples each call is on, and so which
    gradient descent a step is: None (all n: batch gradient descent), m
    (mini-batch: the rows [0, m), [m, 2m), ... in order, one batch per call,
    the last one shorter if m does not divide n, then from the start again,
    as the lecture's loop over ``get_batches(data, batch_size)`` within each
    epoch) or 1 (stochastic: one example per call). The data is not shuffled.
    """

    def __init__(self, W: Tensor, b: Tensor, X, y, batch_size: int | None = None):
        super().__init__([W, b])
        X, y = np.atleast_2d(np.asarray(X, dtype=np.float64)), np.atleast_2d(np.asarray(y, dtype=np.float64))
        (n, d), k = X.shape, y.shape[1]
        if W.data.shape != (d, k) or b.data.shape != (k,):
            raise ValueError(
                f"LeastSquares: X of shape {X.shape} and y of shape {y.shape} need W of shape {(d, k)} and b of "
                f"shape {(k,)}, got {W.data.shape} and {b.data.shape}"
            )
        if y.shape[0] != n:
            raise ValueError(f"LeastSquares: {n} examples in X but {y.shape[0]} targets in y")
        if batch_size is not None and not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"LeastSquares: batch_size must be None or an integer ≥ 1, got {batch_size!r}")
        m = n if batch_size is None else batch_size
        self.batches = [(Tensor(X[i : i + m]), Tensor(y[i : i + m])) for i in range(0, n, m)]

    def loss(self) -> Tensor:
        """J on the next batch: the evaluations finished so far say which."""
        W, b = self.params
        X, y = self.batches[len(self.losses) % len(self.batches)]
        residual = X @ W + b - y
        return (residual * residual).sum() * (0.5 / X.data.shape[0])
