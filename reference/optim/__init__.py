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

from .adafactor import Adafactor
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSProp
from .base import Optimizer
from .sgd import SGD, Momentum, Nesterov

__all__ = ["SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Momentum", "Nesterov", "Optimizer", "RMSProp"]
