"""Hidden: early stopping with min_delta, without patience and on a longer curve; the training loop with
early stopping, without a development set, and with ReduceOnPlateau and Adam.

The loop's expected run is fit's procedure replayed step by step with the student's shuffled, get_batches and
EarlyStopping (see conftest.py).
"""

import pytest


@pytest.mark.grade(points=0.5, functions=["EarlyStopping.update"])
def test_early_stopping_counts_only_improvements_larger_than_min_delta(student, hw4):
    hw4.check_stopping(student, [1.0, 0.95, 0.92, 0.85, 0.84, 0.83, 0.7], patience=3, min_delta=0.1)


@pytest.mark.grade(points=0.5, functions=["EarlyStopping.update"])
def test_early_stopping_without_patience_never_stops_but_keeps_the_best(student, hw4):
    hw4.check_stopping(student, [3.0, 2.0, 2.5, 1.0, 1.5, 2.0, 2.5, 3.0], patience=None)


@pytest.mark.grade(points=0.5, functions=["EarlyStopping.update"])
def test_early_stopping_on_a_longer_curve(student, hw4):
    curve = [2.0, 1.8, 1.9, 1.7, 1.75, 1.72, 1.6, 1.65, 1.61, 1.62, 1.7]
    hw4.check_stopping(student, curve, patience=3)


SIZES = [4, 6, 3]


def small(hw4, seed: int, n: int = 30):
    return (*hw4.classification_data(n, 4, 3, seed=seed), *hw4.classification_data(15, 4, 3, seed=seed + 100))


@pytest.mark.grade(points=1, functions=["fit", "shuffled", "get_batches", "EarlyStopping.update", "uniform"])
def test_fit_stops_early_and_restores_the_best_epoch(student, hw4):
    """Patience 2 over at most 10 epochs, η = 1/(1 + 0.5t): with the reference's shuffles the dev loss is best
    after epoch 4 and training stops after epoch 6."""
    hw4.check_fit(
        student,
        SIZES,
        hw4.random_weights(SIZES, seed=2),
        small(hw4, 2),
        optimizer=("SGD", {"lr": 1.0}),
        schedule=("InverseTimeDecay", {"k": 0.5}),
        epochs=10,
        batch_size=7,
        rng=11,
        patience=2,
    )


@pytest.mark.grade(points=0.5, functions=["fit", "get_batches", "uniform"])
def test_fit_without_a_development_set_or_shuffling(student, hw4):
    """Batch gradient descent (batch_size None) in the order given (shuffle=False), no dev set: nothing to stop
    at or restore."""
    X, y, _, _ = small(hw4, 3)
    hw4.check_fit(
        student,
        SIZES,
        hw4.random_weights(SIZES, seed=3),
        (X, y, None, None),
        optimizer=("SGD", {"lr": 0.5}),
        schedule=("ExponentialDecay", {"gamma": 0.5}),
        epochs=4,
        batch_size=None,
        rng=13,
        shuffle=False,
    )


@pytest.mark.grade(points=0.5, functions=["fit", "shuffled", "get_batches", "EarlyStopping.update", "uniform"])
def test_fit_with_adam_and_reduce_on_plateau(student, hw4):
    """ReduceOnPlateau takes each epoch's dev loss (step_schedule gives it); Adam, mini-batches of 8. With the
    reference's shuffles η halves after epochs 3 and 6 and the dev loss is best after epoch 5."""
    hw4.check_fit(
        student,
        SIZES,
        hw4.random_weights(SIZES, seed=2),
        small(hw4, 2, n=40),
        optimizer=("Adam", {"lr": 0.2}),
        schedule=("ReduceOnPlateau", {"factor": 0.5, "patience": 1}),
        epochs=7,
        batch_size=8,
        rng=12,
    )
