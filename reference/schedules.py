"""Learning-rate schedules (CSE 587, "Training Tricks": learning rate decay).

A schedule is built over any optimizer of :mod:`reference.optim`,
``Schedule(optimizer, ...)``, and reads η_0 from ``optimizer.lr`` at that
moment. Each ``step()`` ends one epoch: t goes up by one and the schedule
writes η_t into ``optimizer.lr``. Epoch 0 trains with η_0, so the usual loop is

    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        schedule.step()

:class:`ReduceOnPlateau` instead takes the epoch's validation loss,
``step(metric)``, and lowers η only when that loss stops improving.
``state_dict()`` / ``load_state_dict()`` save and restore a schedule (its
η_0, epoch count and counters; the current η itself is in the optimizer's
``state_dict()``).
"""

from __future__ import annotations

import math

from .optim.base import Optimizer


class Schedule:
    """η_t as a function of the epoch t; subclasses define :meth:`lr_at`."""

    def __init__(self, optimizer: Optimizer, **hyperparameters: float):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} schedules an optimizer from reference.optim, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0
        for key, value in hyperparameters.items():
            setattr(self, key, value)
        self._hyperparameter_names = ("base_lr", "epoch", *hyperparameters)

    def lr_at(self, t: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} must define lr_at(t)")

    def step(self) -> float:
        """End one epoch: t ← t + 1 and optimizer.lr ← η_t. Returns η_t."""
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr

    def state_dict(self) -> dict:
        return {"schedule": type(self).__name__, **{key: getattr(self, key) for key in self._hyperparameter_names}}

    def load_state_dict(self, state: dict) -> None:
        if state.get("schedule") != type(self).__name__:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict got the state of a {state.get('schedule')!r} schedule"
            )
        for key in self._hyperparameter_names:
            setattr(self, key, state[key])


def _require(schedule: str, key: str, value: float, holds: bool, requirement: str) -> None:
    if not holds:
        raise ValueError(f"{schedule}: {key} {requirement}, got {value}")


class StepDecay(Schedule):
    """η_t = η_0 · γ^⌊t / step_size⌋: multiply η by γ every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        _require(
            "StepDecay", "step_size", step_size, isinstance(step_size, int) and step_size >= 1, "must be an integer ≥ 1"
        )
        _require("StepDecay", "gamma", gamma, 0 < gamma <= 1, "must lie in (0, 1]")
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """η_t = η_0 · γ^t."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        _require("ExponentialDecay", "gamma", gamma, 0 < gamma <= 1, "must lie in (0, 1]")
        super().__init__(optimizer, gamma=gamma)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t


class InverseTimeDecay(Schedule):
    """1/t decay: η_t = η_0 / (1 + k t)."""

    def __init__(self, optimizer: Optimizer, k: float):
        _require("InverseTimeDecay", "k", k, k >= 0, "must be ≥ 0")
        super().__init__(optimizer, k=k)

    def lr_at(self, t: int) -> float:
        return self.base_lr / (1 + self.k * t)


class CosineAnnealing(Schedule):
    """η_t = η_min + ½(η_0 − η_min)(1 + cos(π t / T)) for t ≤ T, and η_min after T.

    η goes from η_0 at t = 0 down to η_min = ``lr_min`` at t = T =
    ``total_epochs`` along half a cosine, then stays there (no restarts).
    """

    def __init__(self, optimizer: Optimizer, total_epochs: int, lr_min: float = 0.0):
        _require(
            "CosineAnnealing",
            "total_epochs",
            total_epochs,
            isinstance(total_epochs, int) and total_epochs >= 1,
            "must be an integer ≥ 1",
        )
        super().__init__(optimizer, total_epochs=total_epochs, lr_min=lr_min)
        _require("CosineAnnealing", "lr_min", lr_min, 0 <= lr_min <= self.base_lr, "must lie in [0, optimizer.lr]")

    def lr_at(self, t: int) -> float:
        t = min(t, self.total_epochs)
        return self.lr_min + 0.5 * (self.base_lr - self.lr_min) * (1 + math.cos(math.pi * t / self.total_epochs))


class ReduceOnPlateau(Schedule):
    """η ← max(factor · η, lr_min) once the monitored loss has not improved for ``patience`` epochs.

    ``step(metric)`` takes the epoch's validation loss (lower is better).
    The epoch improves when metric < best − ``threshold`` (an absolute
    threshold); then best ← metric and the count of epochs without
    improvement restarts at 0. When that count reaches ``patience``, η is
    multiplied by ``factor`` and the count restarts, so the next reduction
    needs another ``patience`` epochs without improvement. (Keras counts the
    same way; torch reduces one epoch later, when the count *exceeds* patience.)

    For early stopping read ``epochs_since_improvement``, which only an
    improvement resets: stop when it reaches your patience. ``improved`` says
    whether the last epoch improved (the moment to save the best weights).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        lr_min: float = 0.0,
    ):
        _require("ReduceOnPlateau", "factor", factor, 0 < factor < 1, "must lie in (0, 1)")
        _require(
            "ReduceOnPlateau",
            "patience",
            patience,
            isinstance(patience, int) and patience >= 1,
            "must be an integer ≥ 1",
        )
        _require("ReduceOnPlateau", "threshold", threshold, threshold >= 0, "must be ≥ 0")
        _require("ReduceOnPlateau", "lr_min", lr_min, lr_min >= 0, "must be ≥ 0")
        super().__init__(
            optimizer,
            factor=factor,
            patience=patience,
            threshold=threshold,
            lr_min=lr_min,
            best=math.inf,
            bad_epochs=0,
            epochs_since_improvement=0,
            improved=False,
        )

    def step(self, metric: float) -> float:  # type: ignore[override]
        """End one epoch whose validation loss was ``metric``. Returns the learning rate for the next one."""
        self.epoch += 1
        metric = float(metric)
        # BEGIN SOLUTION
        self.improved = metric < self.best - self.threshold
        if self.improved:
            self.best = metric
            self.bad_epochs = 0
            self.epochs_since_improvement = 0
        else:
            self.bad_epochs += 1
            self.epochs_since_improvement += 1
        if self.bad_epochs >= self.patience:
            self.optimizer.lr = max(self.optimizer.lr * self.factor, self.lr_min)
            self.bad_epochs = 0
        # END SOLUTION
        return self.optimizer.lr
