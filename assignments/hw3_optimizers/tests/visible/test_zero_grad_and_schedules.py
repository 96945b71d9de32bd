"""zero_grad, and the learning-rate schedules (each over an SGD that only holds η: SGD.step is never called)."""

import numpy as np
import pytest

from grader.grading.compare import assert_close


@pytest.mark.grade(points=0.5, functions=["Optimizer.zero_grad"])
def test_zero_grad_forgets_every_gradient(student, least_squares):
    problem = least_squares(seed=31)
    tensors = {name: student.Tensor(value, requires_grad=True) for name, value in problem.start.items()}
    opt = student.SGD(list(tensors.values()), lr=0.1)
    problem.objective(student, tensors)()  # sets W.grad and b.grad
    opt.zero_grad()
    for name, p in tensors.items():
        grad = p.grad
        if isinstance(grad, np.ndarray) and not grad.any():
            raise AssertionError(
                f"Optimizer.zero_grad: {name}.grad is an array of zeros; it must be None (forgotten): "
                "a parameter whose .grad is None is skipped by step, one with zeros is not (momentum would move it)"
            )
        kind = type(grad).__name__
        assert grad is None, f"Optimizer.zero_grad: {name}.grad must be None after zero_grad(), got a {kind}"


def lrs(engine, schedule: str, lr: float, epochs: int, **arguments) -> list:
    """η_t for t = 0..epochs, as ``engine``'s schedule computes it (lr_at is the task; step() is given)."""
    opt = engine.SGD([engine.Tensor(np.zeros(3), requires_grad=True)], lr=lr)
    decay = getattr(engine, schedule)(opt, **arguments)
    return [decay.lr_at(t) for t in range(epochs + 1)]


def check_schedule(student, reference_engine, schedule, lr, epochs, **arguments):
    got = lrs(student, schedule, lr, epochs, **arguments)
    expected = lrs(reference_engine, schedule, lr, epochs, **arguments)
    for t, (mine, theirs) in enumerate(zip(got, expected)):
        assert_close(mine, theirs, name=f"{schedule}.lr_at({t})")


@pytest.mark.grade(points=0.5, functions=["ExponentialDecay.lr_at"])
def test_exponential_decay(student, reference_engine):
    check_schedule(student, reference_engine, "ExponentialDecay", 0.3, 6, gamma=0.8)


@pytest.mark.grade(points=0.5, functions=["InverseTimeDecay.lr_at"])
def test_inverse_time_decay(student, reference_engine):
    check_schedule(student, reference_engine, "InverseTimeDecay", 0.3, 6, k=0.5)


@pytest.mark.grade(points=0.5, functions=["CosineAnnealing.lr_at"])
def test_cosine_annealing_reaches_lr_min_at_T_and_stays(student, reference_engine):
    check_schedule(student, reference_engine, "CosineAnnealing", 0.3, 7, total_epochs=5, lr_min=0.01)


def plateau(engine, metrics, lr, **arguments) -> list[dict]:
    """After each epoch's step(metric): η and the counters ReduceOnPlateau keeps."""
    opt = engine.SGD([engine.Tensor(np.zeros(3), requires_grad=True)], lr=lr)
    schedule = engine.ReduceOnPlateau(opt, **arguments)
    epochs = []
    for metric in metrics:
        schedule.step(metric)
        state = schedule.state_dict()
        epochs.append(
            {
                "η": opt.lr,
                "best": state.get("best"),
                "bad_epochs": state.get("bad_epochs"),
                "epochs_since_improvement": state.get("epochs_since_improvement"),
                "improved": float(state.get("improved")) if isinstance(state.get("improved"), bool) else None,
            }
        )
    return epochs


def check_plateau(student, reference_engine, metrics, lr, **arguments):
    got = plateau(student, metrics, lr, **arguments)
    expected = plateau(reference_engine, metrics, lr, **arguments)
    for epoch, (mine, theirs) in enumerate(zip(got, expected), start=1):
        for key, value in theirs.items():
            assert_close(mine[key], value, name=f"ReduceOnPlateau.step: {key} after epoch {epoch}")


@pytest.mark.grade(points=1, functions=["ReduceOnPlateau.step"])
def test_reduce_on_plateau_lowers_lr_after_patience_epochs_without_improvement(student, reference_engine):
    """patience 2, threshold 0.01: 0.95 after 1.0 improves, 0.995 after 1.0 would not."""
    metrics = [1.0, 0.95, 0.945, 0.96, 0.90, 0.91, 0.92, 0.93, 0.899, 0.95]
    check_plateau(student, reference_engine, metrics, 0.1, factor=0.5, patience=2, threshold=0.01, lr_min=0.02)
