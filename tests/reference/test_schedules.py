"""Learning-rate schedules: η_t over several epochs against each formula, and ReduceOnPlateau's patience."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.grading import tolerances
from reference import Tensor, optim
from reference.schedules import (
    CosineAnnealing,
    ExponentialDecay,
    InverseTimeDecay,
    ReduceOnPlateau,
    StepDecay,
)


def sgd(lr: float = 0.1) -> optim.SGD:
    return optim.SGD([Tensor(np.linspace(-0.4, 0.6, 5), requires_grad=True)], lr=lr)


def lrs_over_epochs(schedule, epochs: int) -> list[float]:
    """η_0, then the learning rate the optimizer holds after each of ``epochs`` steps."""
    values = [schedule.optimizer.lr]
    for _ in range(epochs):
        returned = schedule.step()
        assert returned == schedule.optimizer.lr
        values.append(schedule.optimizer.lr)
    return values


def assert_lrs(got, expected) -> None:
    np.testing.assert_allclose(got, expected, rtol=tolerances.OPTIMIZER_RTOL, atol=0)


def test_step_decay_multiplies_by_gamma_every_step_size_epochs():
    got = lrs_over_epochs(StepDecay(sgd(0.1), step_size=3, gamma=0.5), 8)
    assert_lrs(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])


def test_exponential_decay_is_lr0_times_gamma_to_the_t():
    got = lrs_over_epochs(ExponentialDecay(sgd(0.2), gamma=0.9), 5)
    assert_lrs(got, [0.2 * 0.9**t for t in range(6)])


def test_inverse_time_decay_is_lr0_over_one_plus_k_t():
    got = lrs_over_epochs(InverseTimeDecay(sgd(0.3), k=0.5), 4)
    assert_lrs(got, [0.3, 0.3 / 1.5, 0.3 / 2.0, 0.3 / 2.5, 0.3 / 3.0])


def test_cosine_annealing_follows_half_a_cosine_to_lr_min_and_stays_there():
    lr0, lr_min, T = 0.1, 0.01, 4
    got = lrs_over_epochs(CosineAnnealing(sgd(lr0), total_epochs=T, lr_min=lr_min), 6)
    expected = [lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / T)) for t in range(T + 1)]
    assert_lrs(got, expected + [lr_min, lr_min])
    assert_lrs(got[2], (lr0 + lr_min) / 2)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: optim.Momentum(p, lr=0.1),
        lambda p: optim.Adam(p, lr=0.1),
        lambda p: optim.Adadelta(p, lr=0.1),
        lambda p: optim.Adafactor(p, lr=0.1),
    ],
    ids=["Momentum", "Adam", "Adadelta", "Adafactor"],
)
def test_a_schedule_sets_the_lr_of_any_optimizer(make_optimizer):
    opt = make_optimizer([Tensor(np.ones(3), requires_grad=True)])
    schedule = ExponentialDecay(opt, gamma=0.5)
    schedule.step()
    schedule.step()
    assert_lrs(opt.lr, 0.025)


def plateau(patience=3, factor=0.5, threshold=0.01):
    return ReduceOnPlateau(sgd(0.1), factor=factor, patience=patience, threshold=threshold)


def test_reduce_on_plateau_reduces_after_patience_epochs_without_improvement_and_not_before():
    schedule = plateau(patience=3)
    lrs = [schedule.step(loss) for loss in [1.0, 0.8, 0.85, 0.81, 0.9]]
    assert_lrs(lrs, [0.1, 0.1, 0.1, 0.1, 0.05])  # bad epochs: 0.85, 0.81, then 0.9 is the third


def test_reduce_on_plateau_counts_an_improvement_smaller_than_the_threshold_as_none():
    schedule = plateau(patience=2, threshold=0.01)
    lrs = [schedule.step(loss) for loss in [1.0, 0.995, 0.991]]
    assert_lrs(lrs, [0.1, 0.1, 0.05])
    assert schedule.best == 1.0


def test_reduce_on_plateau_improvement_restarts_the_patience_count():
    schedule = plateau(patience=2)
    lrs = [schedule.step(loss) for loss in [1.0, 1.0, 0.5, 0.6, 0.7]]
    assert_lrs(lrs, [0.1, 0.1, 0.1, 0.1, 0.05])
    assert schedule.improved is False and schedule.best == 0.5


def test_reduce_on_plateau_needs_another_patience_epochs_for_the_next_reduction():
    schedule = plateau(patience=2)
    lrs = [schedule.step(loss) for loss in [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]]
    assert_lrs(lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert schedule.epochs_since_improvement == 5


def test_reduce_on_plateau_never_goes_below_lr_min():
    schedule = ReduceOnPlateau(sgd(0.1), factor=0.1, patience=1, lr_min=0.005)
    lrs = [schedule.step(1.0) for _ in range(4)]
    assert_lrs(lrs, [0.1, 0.01, 0.005, 0.005])


def test_reduce_on_plateau_reports_epochs_since_improvement_for_early_stopping():
    schedule = plateau(patience=10)
    counts, flags = [], []
    for loss in [1.0, 0.9, 0.95, 0.97, 0.5, 0.6]:
        schedule.step(loss)
        counts.append(schedule.epochs_since_improvement)
        flags.append(schedule.improved)
    assert counts == [0, 0, 1, 2, 0, 1]
    assert flags == [True, True, False, False, True, False]


@pytest.mark.parametrize(
    "make_schedule",
    [
        lambda opt: StepDecay(opt, step_size=2, gamma=0.5),
        lambda opt: ExponentialDecay(opt, gamma=0.9),
        lambda opt: InverseTimeDecay(opt, k=0.3),
        lambda opt: CosineAnnealing(opt, total_epochs=7, lr_min=0.001),
    ],
    ids=["StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineAnnealing"],
)
def test_schedule_state_dict_round_trip_continues_identically(make_schedule):
    first = make_schedule(sgd(0.1))
    for _ in range(3):
        first.step()
    saved = first.state_dict()
    rest = [first.step() for _ in range(4)]
    second = make_schedule(sgd(0.7))
    second.load_state_dict(saved)
    assert [second.step() for _ in range(4)] == rest


def test_reduce_on_plateau_state_dict_round_trip_keeps_best_and_counts():
    first = plateau(patience=2)
    for loss in [1.0, 1.2]:
        first.step(loss)
    saved, lr = first.state_dict(), first.optimizer.lr
    rest = [first.step(loss) for loss in [1.1, 0.5, 0.7, 0.8]]
    second = plateau(patience=2)
    second.load_state_dict(saved)
    second.optimizer.lr = lr
    assert [second.step(loss) for loss in [1.1, 0.5, 0.7, 0.8]] == rest


def test_load_state_dict_rejects_another_schedules_state():
    with pytest.raises(ValueError, match="StepDecay.load_state_dict got the state of a 'ExponentialDecay' schedule"):
        StepDecay(sgd(), step_size=2).load_state_dict(ExponentialDecay(sgd(), gamma=0.5).state_dict())


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda opt: StepDecay(opt, step_size=0), "StepDecay: step_size must be an integer ≥ 1"),
        (lambda opt: StepDecay(opt, step_size=2, gamma=1.5), "StepDecay: gamma must lie in"),
        (lambda opt: ExponentialDecay(opt, gamma=0.0), "ExponentialDecay: gamma must lie in"),
        (lambda opt: InverseTimeDecay(opt, k=-1.0), "InverseTimeDecay: k must be ≥ 0"),
        (lambda opt: CosineAnnealing(opt, total_epochs=0), "CosineAnnealing: total_epochs must be"),
        (lambda opt: CosineAnnealing(opt, total_epochs=5, lr_min=1.0), "CosineAnnealing: lr_min must lie in"),
        (lambda opt: ReduceOnPlateau(opt, factor=1.0), "ReduceOnPlateau: factor must lie in"),
        (lambda opt: ReduceOnPlateau(opt, patience=0), "ReduceOnPlateau: patience must be"),
    ],
)
def test_bad_schedule_hyperparameter_is_rejected_with_its_name(build, message):
    with pytest.raises(ValueError, match=message):
        build(sgd())


def test_a_schedule_needs_a_reference_optimizer():
    with pytest.raises(TypeError, match="schedules an optimizer from reference.optim"):
        StepDecay(object(), step_size=2)
