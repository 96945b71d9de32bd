"""What every optimizer shares (CSE 587, slides "Optimizers" to "Adam"): parameters, state, zero_grad, step.

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
  An :class:`~reference.objectives.Objective` is such a closure.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..tensor import Tensor

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


def rms(x: np.ndarray) -> float:
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
