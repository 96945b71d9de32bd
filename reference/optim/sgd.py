"""Gradient descent (batch, mini-batch or stochastic, by what the gradient is of), with momentum, and Nesterov's."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor
from .base import Closure, Optimizer


class SGD(Optimizer):
    """Gradient descent: θ = θ − η · ∇_θ J(θ).

    Batch, mini-batch and stochastic gradient descent are this same rule;
    they differ only in how many examples the loss (and so g) averages over.
    ``weight_decay`` λ is L2 regularisation coupled into the gradient,
    g ← g + λθ (the gradient of (λ/2)‖θ‖²); 0 by default.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, weight_decay=weight_decay)

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, _ in self._with_gradients():
            # BEGIN SOLUTION
            g = g + self.weight_decay * p.data
            p.data = p.data - self.lr * g
            # END SOLUTION
        return loss


class Momentum(Optimizer):
    """SGD with momentum, as the lecture writes it:

        v_t = γ v_{t−1} + η ∇_θ J(θ)
        θ  = θ − v_t

    with v_0 = 0 and γ = ``momentum`` (usually 0.9).

    Convention: the learning rate η sits *inside* the velocity, so a past
    step keeps the η it was taken with. ``torch.optim.SGD`` instead keeps
    b_t = γ b_{t−1} + g and applies θ = θ − η b_t, with η *outside*. The two
    agree while η is constant and differ as soon as a schedule changes η.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, momentum: float = 0.9):
        super().__init__(params, lr=lr, momentum=momentum)

    def _init_state(self, p: Tensor) -> dict:
        return {"v": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["v"] = self.momentum * s["v"] + self.lr * g
            p.data = p.data - s["v"]
            # END SOLUTION
        return loss


class Nesterov(Optimizer):
    """Nesterov accelerated gradient, as the lecture defines it:

        v_t = γ v_{t−1} + η ∇_θ J(θ − γ v_{t−1})
        θ  = θ − v_t

    The gradient is taken at the look-ahead point θ − γ v_{t−1}, not at θ.
    Only a fresh forward and backward pass there can give it, so ``step``
    needs a ``closure``: it moves every parameter to θ − γ v_{t−1}, calls
    ``closure()`` (which must zero the gradients, recompute the loss, call
    ``backward()`` and return the loss), reads ``.grad``, puts θ back, and
    then applies the update. η sits inside the velocity, as in
    :class:`Momentum`.

    ``torch.optim.SGD(nesterov=True)`` uses the Sutskever/Bengio
    reformulation instead (the stored variable is the look-ahead point,
    g ← g + γ b_t, θ ← θ − η g, with the gradient taken at the stored θ);
    its trajectory is numerically different from this one.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, momentum: float = 0.9):
        super().__init__(params, lr=lr, momentum=momentum)

    def _init_state(self, p: Tensor) -> dict:
        return {"v": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        if closure is None:
            raise ValueError(
                "Nesterov.step needs a closure: the gradient is taken at the look-ahead point "
                "θ − γv_{t−1}, which only a new forward and backward pass there can compute. "
                "Pass step(closure) where closure() zeroes the gradients, recomputes the loss, "
                "calls backward() and returns the loss."
            )
        thetas = [p.data for p in self.params]
        # The look-ahead point θ − γv_{t−1} of every parameter that has a velocity (none before its first step).
        # BEGIN SOLUTION
        for index, p in enumerate(self.params):
            if index in self.state:
                p.data = p.data - self.momentum * self.state[index]["v"]
        # END SOLUTION
        try:
            loss = closure()
        finally:
            for p, theta in zip(self.params, thetas):
                p.data = theta
        for p, g, s in self._with_gradients():  # g was measured at θ − γv_{t−1}
            # BEGIN SOLUTION
            s["v"] = self.momentum * s["v"] + self.lr * g
            p.data = p.data - s["v"]
            # END SOLUTION
        return loss
