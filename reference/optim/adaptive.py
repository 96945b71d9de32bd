"""Per-parameter learning rates from past squared gradients: Adagrad, Adadelta, RMSProp."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor
from .base import Closure, Optimizer


class Adagrad(Optimizer):
    """Adagrad: a learning rate per parameter, shrinking with its squared gradients.

        G_t = G_{t−1} + g_t²                   (the diagonal of the lecture's G_t)
        θ_{t+1} = θ_t − η / √(G_t + ε) · g_t

    Convention: ε sits *inside* the square root, as the lecture (and Ruder)
    write it. ``torch.optim.Adagrad`` puts it outside, η g / (√G_t + ε); the
    two differ a lot when gradients are about √ε. Defaults η = 0.01, ε = 1e-8.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, eps: float = 1e-8):
        super().__init__(params, lr=lr, eps=eps)

    def _init_state(self, p: Tensor) -> dict:
        return {"G": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["G"] = s["G"] + g**2
            p.data = p.data - self.lr / np.sqrt(s["G"] + self.eps) * g
            # END SOLUTION
        return loss


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012, arXiv:1212.5701, Algorithm 1), with RMS[x]_t = √(E[x²]_t + ε):

        E[g²]_t  = ρ E[g²]_{t−1} + (1 − ρ) g_t²
        Δθ_t     = −(RMS[Δθ]_{t−1} / RMS[g]_t) · g_t
        E[Δθ²]_t = ρ E[Δθ²]_{t−1} + (1 − ρ) Δθ_t²
        θ_{t+1}  = θ_t + η · Δθ_t

    The paper has no learning rate: η = ``lr`` is a multiplier on the applied
    step only (E[Δθ²] accumulates the unscaled Δθ_t), as in ``torch.optim``,
    and its default η = 1.0 is exactly the paper's rule. Defaults ρ = 0.9
    (Ruder, torch; the paper's experiments use 0.95) and ε = 1e-6.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6):
        super().__init__(params, lr=lr, rho=rho, eps=eps)

    def _init_state(self, p: Tensor) -> dict:
        return {"Eg2": np.zeros_like(p.data), "Edx2": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["Eg2"] = self.rho * s["Eg2"] + (1 - self.rho) * g**2
            delta = -np.sqrt(s["Edx2"] + self.eps) / np.sqrt(s["Eg2"] + self.eps) * g
            s["Edx2"] = self.rho * s["Edx2"] + (1 - self.rho) * delta**2
            p.data = p.data + self.lr * delta
            # END SOLUTION
        return loss


class RMSProp(Optimizer):
    """RMSProp (Hinton's lecture 6e, as in Ruder):

        E[g²]_t = ρ E[g²]_{t−1} + (1 − ρ) g_t²
        θ_{t+1} = θ_t − η / √(E[g²]_t + ε) · g_t

    Convention: ε sits *inside* the square root, as for the lecture's
    Adagrad and in Ruder; ``torch.optim.RMSprop`` puts it outside and calls
    ρ ``alpha``. Defaults η = 0.001, ρ = 0.9 (Hinton, Ruder; torch uses
    0.99), ε = 1e-8.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.001, rho: float = 0.9, eps: float = 1e-8):
        super().__init__(params, lr=lr, rho=rho, eps=eps)

    def _init_state(self, p: Tensor) -> dict:
        return {"Eg2": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["Eg2"] = self.rho * s["Eg2"] + (1 - self.rho) * g**2
            p.data = p.data - self.lr / np.sqrt(s["Eg2"] + self.eps) * g
            # END SOLUTION
        return loss
