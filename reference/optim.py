"""Optimizers (CSE 587, slides "Optimizers" to "Adam"), in textbook form.

Every optimizer is built as ``Opt(params, lr=..., <hyperparameters>)`` over
an iterable of Tensors and has ``zero_grad()`` and ``step(closure=None)``.
Each ``step`` shows one update rule, written in the lecture's symbols:

    θ   a parameter (``p.data``)          g = ∇_θ J(θ), its gradient (``p.grad``)
    η   the learning rate (``lr``)        γ   the momentum factor (``momentum``)
    β1, β2   Adam's decay rates           ε   the smoothing term (``eps``)
    ρ   the decay of a running average (Adadelta, RMSProp: ``rho``)
    λ   the weight decay (``weight_decay``)

Where the sources disagree (the lecture and Ruder's overview,
arXiv:1609.04747; ``torch.optim``; the original papers) each docstring says
which convention is taken. The lecture's is taken whenever it writes one.

Shared behaviour:

- ``opt.lr`` is a plain attribute: a learning-rate schedule
  (:mod:`reference.schedules`) changes it between steps.
- State lives per parameter, in ``opt.state[i]`` for the i-th parameter of
  the list the optimizer was given, created on that parameter's first step.
  The step count t is per parameter and starts at 1 on its first step.
- A parameter whose ``.grad`` is None is skipped: no update, no state change.
- ``.grad`` is only read, never modified; ``.data`` is replaced by a new
  array (``p.data = p.data − ...``), which builds no graph.
- ``state_dict()`` returns plain copies (hyperparameters, step counts,
  arrays); ``load_state_dict()`` restores them exactly, so a second
  optimizer continues a run bitwise identically.
- ``step(closure)`` calls ``closure()`` first (it must zero the gradients,
  recompute the loss, call ``backward()`` and return the loss) and returns
  its loss; :class:`Nesterov` calls it at the look-ahead point instead.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .tensor import Tensor

Closure = Callable[[], object]

_RULES: dict[str, tuple[Callable[[float], bool], str]] = {
    "lr": (lambda x: x >= 0, "must be ≥ 0"),
    "momentum": (lambda x: 0 <= x < 1, "must lie in [0, 1)"),
    "beta1": (lambda x: 0 <= x < 1, "must lie in [0, 1)"),
    "beta2": (lambda x: 0 <= x < 1, "must lie in [0, 1)"),
    "rho": (lambda x: 0 <= x < 1, "must lie in [0, 1)"),
    "eps": (lambda x: x > 0, "must be > 0"),
    "eps1": (lambda x: x > 0, "must be > 0"),
    "eps2": (lambda x: x > 0, "must be > 0"),
    "weight_decay": (lambda x: x >= 0, "must be ≥ 0"),
    "d": (lambda x: x > 0, "must be > 0"),
    "decay_exponent": (lambda x: 0 < x <= 1, "must lie in (0, 1]"),
}


def _rms(x: np.ndarray) -> float:
    """RMS(x) = √(mean(x²)), the root mean square of the entries."""
    return float(np.sqrt(np.mean(np.square(x))))


class Optimizer:
    """Holds the parameters, their per-parameter state and the hyperparameters."""

    def __init__(self, params: Iterable[Tensor], **hyperparameters: float):
        name = type(self).__name__
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name} takes an iterable of Tensors, such as model.parameters() or [w, b]; "
                f"got {type(params).__name__}"
            )
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty parameter list: there is nothing to optimize")
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {index} is a {type(p).__name__}, not a Tensor")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{name}: a parameter appears more than once in the list; it would be updated twice")
        for key, value in hyperparameters.items():
            self._check(key, value)
            setattr(self, key, float(value))
        self._hyperparameter_names = tuple(hyperparameters)
        self.state: dict[int, dict[str, np.ndarray | int]] = {}

    def _check(self, key: str, value: float) -> None:
        name = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{name}: hyperparameter {key} must be a finite number, got {value!r}")
        holds, requirement = _RULES[key]
        if not holds(value):
            raise ValueError(f"{name}: hyperparameter {key} {requirement}, got {value}")

    def zero_grad(self) -> None:
        """Forget the gradients (``.grad = None``) before the next backward pass."""
        for p in self.params:
            p.grad = None

    def _init_state(self, p: Tensor) -> dict[str, np.ndarray | int]:
        """The state of a parameter before its first step."""
        return {}

    def _with_gradients(self) -> Iterator[tuple[Tensor, np.ndarray, dict]]:
        """(θ, g, state) for every parameter that has a gradient, in list order."""
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = np.asarray(p.grad, dtype=np.float64)
            if g.shape != p.data.shape:
                raise ValueError(
                    f"{type(self).__name__}: parameter {index} has shape {p.data.shape} "
                    f"but its .grad has shape {g.shape}"
                )
            if index not in self.state:
                self.state[index] = self._init_state(p)
            yield p, g, self.state[index]

    def step(self, closure: Closure | None = None):
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def state_dict(self) -> dict:
        """Plain copies: the optimizer's name, its hyperparameters (current lr included), the per-parameter state."""
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": {key: getattr(self, key) for key in self._hyperparameter_names},
            "state": copy.deepcopy(self.state),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from :meth:`state_dict` of an optimizer of the same kind over parameters of the same shapes."""
        name = type(self).__name__
        if state_dict.get("optimizer") != name:
            raise ValueError(f"{name}.load_state_dict got the state of a {state_dict.get('optimizer')!r} optimizer")
        hyperparameters = state_dict["hyperparameters"]
        if set(hyperparameters) != set(self._hyperparameter_names):
            raise ValueError(
                f"{name}.load_state_dict: hyperparameters {sorted(hyperparameters)} "
                f"do not match {sorted(self._hyperparameter_names)}"
            )
        for index, entry in state_dict["state"].items():
            if not 0 <= index < len(self.params):
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter {index}, but there are {len(self.params)}"
                )
            fresh = self._init_state(self.params[index])
            if set(entry) != set(fresh):
                raise ValueError(
                    f"{name}.load_state_dict: parameter {index} has state {sorted(entry)}, expected {sorted(fresh)}"
                )
            for key, value in fresh.items():
                if np.shape(entry[key]) != np.shape(value):
                    raise ValueError(
                        f"{name}.load_state_dict: state {key!r} of parameter {index} has shape "
                        f"{np.shape(entry[key])}, expected {np.shape(value)}"
                    )
        for key, value in hyperparameters.items():
            self._check(key, value)
            setattr(self, key, value)
        self.state = copy.deepcopy(dict(state_dict["state"]))

    @staticmethod
    def _evaluate(closure: Closure | None):
        return None if closure is None else closure()


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
            g = g + self.weight_decay * p.data
            p.data = p.data - self.lr * g
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
            s["v"] = self.momentum * s["v"] + self.lr * g
            p.data = p.data - s["v"]
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
        for index, p in enumerate(self.params):
            if index in self.state:
                p.data = p.data - self.momentum * self.state[index]["v"]
        try:
            loss = closure()
        finally:
            for p, theta in zip(self.params, thetas):
                p.data = theta
        for p, g, s in self._with_gradients():  # g was measured at θ − γv_{t−1}
            s["v"] = self.momentum * s["v"] + self.lr * g
            p.data = p.data - s["v"]
        return loss


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
            s["G"] = s["G"] + g**2
            p.data = p.data - self.lr / np.sqrt(s["G"] + self.eps) * g
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
            s["Eg2"] = self.rho * s["Eg2"] + (1 - self.rho) * g**2
            delta = -np.sqrt(s["Edx2"] + self.eps) / np.sqrt(s["Eg2"] + self.eps) * g
            s["Edx2"] = self.rho * s["Edx2"] + (1 - self.rho) * delta**2
            p.data = p.data + self.lr * delta
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
            s["Eg2"] = self.rho * s["Eg2"] + (1 - self.rho) * g**2
            p.data = p.data - self.lr / np.sqrt(s["Eg2"] + self.eps) * g
        return loss


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
            s["step"] = t = s["step"] + 1
            g = g + self.weight_decay * p.data
            s["m"] = self.beta1 * s["m"] + (1 - self.beta1) * g
            s["v"] = self.beta2 * s["v"] + (1 - self.beta2) * g**2
            m_hat = s["m"] / (1 - self.beta1**t)
            v_hat = s["v"] / (1 - self.beta2**t)
            p.data = p.data - self.lr / (np.sqrt(v_hat) + self.eps) * m_hat
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
            s["step"] = t = s["step"] + 1
            s["m"] = self.beta1 * s["m"] + (1 - self.beta1) * g
            s["v"] = self.beta2 * s["v"] + (1 - self.beta2) * g**2
            m_hat = s["m"] / (1 - self.beta1**t)
            v_hat = s["v"] / (1 - self.beta2**t)
            p.data = p.data - self.lr * self.weight_decay * p.data  # decoupled: θ_t − ηλθ_t, outside m and v
            p.data = p.data - self.lr / (np.sqrt(v_hat) + self.eps) * m_hat
        return loss


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
            s["step"] = t = s["step"] + 1
            rho_t = min(self.lr, 1 / math.sqrt(t))
            alpha = max(self.eps2, _rms(p.data)) * rho_t
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
            u_hat = u / max(1.0, _rms(u) / self.d)
            p.data = p.data - alpha * u_hat
        return loss
