"""Adafactor (Shazeer & Stern, 2018): second moments factored into row and column averages."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor
from .base import Closure, Optimizer, rms


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018, arXiv:1804.04235), without momentum.

    For a matrix X of shape (n, m) (Algorithm 4; §3, factored second-moment estimation):

        α_t  = max(ε2, RMS(X_{t−1})) · ρ_t       relative step size ("Relative Step Size")
        β̂2t  = 1 − t^(−c)                        increasing decay parameter (§7; no bias correction needed)
        R_t  = β̂2t R_{t−1} + (1 − β̂2t)(G_t² + ε1 1_n 1_mᵀ) 1_m     row statistics, shape (n,)
        C_t  = β̂2t C_{t−1} + (1 − β̂2t) 1_nᵀ(G_t² + ε1 1_n 1_mᵀ)    column statistics, shape (m,)
        V̂_t  = R_t C_t / (1_nᵀ R_t)             rank-1 estimate (outer product R_t C_tᵀ)
        U_t  = G_t / √V̂_t
        Û_t  = U_t / max(1, RMS(U_t)/d)         update clipping (§6)
        X_t  = X_{t−1} − α_t Û_t

    Every other shape (vectors, scalars, rank > 2) keeps the full second moment
    (Algorithm 5): V̂_t = β̂2t V̂_{t−1} + (1 − β̂2t)(G_t² + ε1), then U_t, Û_t
    and X_t as above. RMS(x) = √(mean(x²)).

    Conventions: ρ_t = min(η, 1/√t) with η = ``lr``; the default η = 1e-2
    gives the paper's ρ_t = min(10⁻², 1/√t), and a schedule that lowers
    ``lr`` lowers the cap (torch's reading of lr). ε1 = 1e-30 is added to
    G² as the paper writes it (torch instead clamps V̂ and uses machine ε).
    Defaults ε2 = 1e-3, d = 1, c = ``decay_exponent`` = 0.8 (the paper's
    proposed values). No β1 (momentum removed, as the paper's Adafactor
    runs), no weight decay, no bias correction.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-2,
        eps1: float = 1e-30,
        eps2: float = 1e-3,
        d: float = 1.0,
        decay_exponent: float = 0.8,
    ):
        super().__init__(params, lr=lr, eps1=eps1, eps2=eps2, d=d, decay_exponent=decay_exponent)

    def _init_state(self, p: Tensor) -> dict:
        if p.data.ndim == 2:
            n, m = p.data.shape
            return {"step": 0, "R": np.zeros(n), "C": np.zeros(m)}
        return {"step": 0, "V": np.zeros_like(p.data)}

    def step(self, closure: Closure | None = None):
        loss = self._evaluate(closure)
        for p, g, s in self._with_gradients():
            # BEGIN SOLUTION
            s["step"] = t = s["step"] + 1
            rho_t = min(self.lr, 1 / math.sqrt(t))
            alpha = max(self.eps2, rms(p.data)) * rho_t
            beta2_hat = 1 - t ** (-self.decay_exponent)
            g2 = g**2 + self.eps1
            if "R" in s:
                s["R"] = beta2_hat * s["R"] + (1 - beta2_hat) * g2.sum(axis=1)
                s["C"] = beta2_hat * s["C"] + (1 - beta2_hat) * g2.sum(axis=0)
                v_hat = np.outer(s["R"], s["C"]) / s["R"].sum()
            else:
                s["V"] = beta2_hat * s["V"] + (1 - beta2_hat) * g2
                v_hat = s["V"]
            u = g / np.sqrt(v_hat)
            u_hat = u / max(1.0, rms(u) / self.d)
            p.data = p.data - alpha * u_hat
            # END SOLUTION
        return loss
