"""A saved and loaded state continues every stateful optimizer's run; zero_grad and schedules on other values."""

import numpy as np
import pytest

from grader.grading.compare import assert_close

STATEFUL = {
    "Momentum.step": ("Momentum", {"lr": 0.05, "momentum": 0.9}),
    "Nesterov.step": ("Nesterov", {"lr": 0.05, "momentum": 0.9}),
    "Adagrad.step": ("Adagrad", {"lr": 0.2}),
    "Adadelta.step": ("Adadelta", {"lr": 1.0}),
    "RMSProp.step": ("RMSProp", {"lr": 0.01}),
    "AdamW.step": ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    "Adafactor.step": ("Adafactor", {"lr": 0.3}),
}


def resumed(trajectories, least_squares, function, seed):
    optimizer, hyperparameters = STATEFUL[function]
    problem = least_squares(seed=seed, n=6, d=2, k=3, unused=2)
    trajectories.check(optimizer, problem, 5, hyperparameters, resume_after=3)


@pytest.mark.grade(points=0.5, functions=["Momentum.step"])
def test_momentum_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "Momentum.step", 201)


@pytest.mark.grade(points=0.5, functions=["Nesterov.step"])
def test_nesterov_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "Nesterov.step", 202)


@pytest.mark.grade(points=0.5, functions=["Adagrad.step"])
def test_adagrad_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "Adagrad.step", 203)


@pytest.mark.grade(points=0.5, functions=["Adadelta.step"])
def test_adadelta_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "Adadelta.step", 204)


@pytest.mark.grade(points=0.5, functions=["RMSProp.step"])
def test_rmsprop_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "RMSProp.step", 205)


@pytest.mark.grade(points=0.5, functions=["AdamW.step"])
def test_adamw_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "AdamW.step", 206)


@pytest.mark.grade(points=0.5, functions=["Adafactor.step"])
def test_adafactor_state_saved_and_loaded(trajectories, least_squares):
    resumed(trajectories, least_squares, "Adafactor.step", 207)


@pytest.mark.grade(points=0.5, functions=["Optimizer.zero_grad"])
def test_zero_grad_forgets_the_gradients_of_every_parameter(student, quadratic):
    problem = quadratic(seed=208, shapes=((2, 2), (3,), (1, 4)), unused=None)
    tensors = {name: student.Tensor(value, requires_grad=True) for name, value in problem.start.items()}
    opt = student.Adam(list(tensors.values()), lr=0.1)
    problem.objective(student, tensors)()
    opt.zero_grad()
    grads = {name: p.grad for name, p in tensors.items()}
    kept = [name for name, grad in grads.items() if grad is not None]
    assert not kept, f"Optimizer.zero_grad: .grad of {kept} is not None after zero_grad()"


def lrs(engine, schedule, lr, epochs, **arguments):
    """η after each of ``epochs`` calls of the given step(), which writes lr_at(t) into the optimizer."""
    opt = engine.SGD([engine.Tensor(np.ones(2), requires_grad=True)], lr=lr)
    decay = getattr(engine, schedule)(opt, **arguments)
    return [decay.lr_at(0)] + [decay.step() for _ in range(epochs)]


def check_schedule(student, reference_engine, schedule, lr, epochs, **arguments):
    got = lrs(student, schedule, lr, epochs, **arguments)
    expected = lrs(reference_engine, schedule, lr, epochs, **arguments)
    for t, (mine, theirs) in enumerate(zip(got, expected)):
        assert_close(mine, theirs, name=f"{schedule}.lr_at: η_{t}")


@pytest.mark.grade(points=0.5, functions=["ExponentialDecay.lr_at"])
def test_exponential_decay_through_step(student, reference_engine):
    check_schedule(student, reference_engine, "ExponentialDecay", 0.05, 8, gamma=0.95)


@pytest.mark.grade(points=0.5, functions=["InverseTimeDecay.lr_at"])
def test_inverse_time_decay_through_step(student, reference_engine):
    check_schedule(student, reference_engine, "InverseTimeDecay", 0.05, 8, k=2.0)


@pytest.mark.grade(points=0.5, functions=["CosineAnnealing.lr_at"])
def test_cosine_annealing_through_step(student, reference_engine):
    check_schedule(student, reference_engine, "CosineAnnealing", 0.05, 9, total_epochs=6, lr_min=0.0)


def plateau(engine, metrics, lr, **arguments):
    opt = engine.SGD([engine.Tensor(np.ones(2), requires_grad=True)], lr=lr)
    schedule = engine.ReduceOnPlateau(opt, **arguments)
    history = []
    for metric in metrics:
        history.append(schedule.step(metric))
        history.append(schedule.epochs_since_improvement)
    return history


@pytest.mark.grade(points=1, functions=["ReduceOnPlateau.step"])
def test_reduce_on_plateau_with_patience_one_and_a_floor(student, reference_engine):
    metrics = [2.0, 1.5, 1.6, 1.7, 1.49, 1.4999, 1.3, 1.3, 1.3, 1.3]
    arguments = {"factor": 0.2, "patience": 1, "threshold": 1e-3, "lr_min": 0.001}
    got = plateau(student, metrics, 0.1, **arguments)
    expected = plateau(reference_engine, metrics, 0.1, **arguments)
    for epoch in range(len(metrics)):
        assert_close(got[2 * epoch], expected[2 * epoch], name=f"ReduceOnPlateau.step: η after epoch {epoch + 1}")
        assert_close(
            got[2 * epoch + 1],
            expected[2 * epoch + 1],
            name=f"ReduceOnPlateau.step: epochs_since_improvement after epoch {epoch + 1}",
        )
