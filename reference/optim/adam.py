"""Adam with bias correction, and AdamW with decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor
from .base import Closure, Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, arXiv:1412.6980), as the lecture writes it:

        m_t = β1 m_{t−1} + (1 − β1) g_t         like momentum
        v_t = β2 v_{t−1} + (1 − β2) g_t²        a rolling average
        m̂_t = m_t / (1 − β1^t),  v̂_t = v_t / (1 − β2^t)     bias correction
        θ_{t+1} = θ_t − η / (√v̂_t + ε) · m̂_t

    with m_0 = v_0 = 0 and t = 1 on the first step. Conventions: ε sits
    *outside* the square root, added to √v̂_t (the paper's boxed algorithm,
    the lecture and torch agree). ``weight_decay`` λ is *coupled* L2
    regularisation, g_t ← g_t + λθ_t before the moments (torch's Adam);
    for decay decoupled from the moments use :class:`AdamW`. Defaults
    η = 0.001, β1 = 0.9, β2 = 0.999, ε = 1e-8, λ = 0.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)

    def _init_state(self, p: Tensor) -> dict:
        return {"step": 0, "m": np.zeros_like(p.data), "v": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["step"] = t = s["step"] + 1
            g = g + self.weight_decay * p.data
            s["m"] = self.beta1 * s["m"] + (1 - self.beta1) * g
            s["v"] = self.beta2 * s["v"] + (1 - self.beta2) * g**2
            m_hat = s["m"] / (1 - self.beta1**t)
            v_hat = s["v"] / (1 - self.beta2**t)
            p.data = p.data - self.lr / (np.sqrt(v_hat) + self.eps) * m_hat
            # END SOLUTION
        return loss


class AdamW(Optimizer):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, arXiv:1711.05101):

        m_t, v_t, m̂_t, v̂_t as in Adam, from the raw gradient g_t
        θ_{t+1} = θ_t − η λ θ_t − η / (√v̂_t + ε) · m̂_t

    The decay shrinks θ directly and never enters m_t or v_t (with coupled
    L2, Adam divides the decay by √v̂_t too). Convention: the decay is scaled
    by the learning rate, ηλθ_t, applied to θ_t before the Adam step, as in
    ``torch.optim.AdamW``. The paper (Algorithm 2) writes
    θ_t = θ_{t−1} − η_t(α m̂_t/(√v̂_t + ε) + λθ_{t−1}) with α the learning
    rate and η_t a schedule multiplier, so with a constant learning rate
    λ_paper = η · λ_here. Defaults η = 0.001, β1 = 0.9, β2 = 0.999,
    ε = 1e-8, λ = 0.01 (torch's).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ):
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)

    def _init_state(self, p: Tensor) -> dict:
        return {"step": 0, "m": np.zeros_like(p.data), "v": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["step"] = t = s["step"] + 1
            s["m"] = self.beta1 * s["m"] + (1 - self.beta1) * g
            s["v"] = self.beta2 * s["v"] + (1 - self.beta2) * g**2
            m_hat = s["m"] / (1 - self.beta1**t)
            v_hat = s["v"] / (1 - self.beta2**t)
            p.data = p.data - self.lr * self.weight_decay * p.data  # decoupled: θ_t − ηλθ_t, outside m and v
            p.data = p.data - self.lr / (np.sqrt(v_hat) + self.eps) * m_hat
            # END SOLUTION
        return loss
