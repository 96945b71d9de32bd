"""Random restarts, ensembles and a learning-rate sweep (CS 4248, "Practicalities").

Restarts and the sweep train with your fit: each is checked against its procedure replayed step by step on
your own fit (see conftest.py), so a mistake in fit costs fit's points, not these.
"""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, WrongType, assert_close
from reference import train


def small_digits(hw4, start: int, dev_start: int) -> tuple[np.ndarray, ...]:
    """200 training rows and 40 development rows of the digits."""
    X_train, y_train, X_dev, y_dev = hw4.digits()
    rows, dev_rows = slice(start, start + 200), slice(dev_start, dev_start + 40)
    return X_train[rows], y_train[rows], X_dev[dev_rows], y_dev[dev_rows]


RESTARTS = {"epochs": 6, "batch_size": 32, "shuffle": False}


@pytest.mark.grade(points=1, functions=["random_restarts", "fit"])
def test_random_restarts_keep_the_run_best_on_the_dev_set(student, hw4):
    """Five seeds; with the reference's pieces seeds 10 and 13 tie on dev accuracy and 13, the later, has the
    lower dev loss, while seed 12 is best on the training set. The runs do not shuffle: the restarts differ by
    their initialisation alone (U[−0.1, 0.1], your uniform)."""
    data, seeds = small_digits(hw4, 200, 40), [10, 11, 12, 13, 14]
    make_model = student.mlp_factory([64, 16, 10], init="uniform")
    with hw4.naming_the_blank():
        result = student.random_restarts(make_model, student.Adam, seeds, *data, **RESTARTS)
        expected = [hw4.replay_restart(student, make_model, student.Adam, seed, data, **RESTARTS) for seed in seeds]
    hw4.compare_rows(result.table, expected, "random_restarts: result.table")
    seed, best = result.seed, hw4.best_restart(expected)
    if seed != best:
        raise Mismatch(
            f"random_restarts: kept seed {seed!r}, expected seed {best}: the highest dev accuracy, a tie going to "
            "the lower dev loss (then to the earlier seed)"
        )
    _, accuracy = student.evaluate(result.model, data[2], data[3])
    kept = next(row for row in expected if row["seed"] == best)
    assert_close(
        accuracy, kept["dev_accuracy"], name=f"random_restarts: the dev accuracy of result.model (seed {best})"
    )


VOTES = [np.array([0, 1, 2, 3, 4]), np.array([0, 1, 1, 2, 5]), np.array([1, 2, 1, 1, 6])]


@pytest.mark.grade(points=1, functions=["majority_vote"])
def test_majority_vote_takes_the_most_common_label_and_the_smallest_one_on_a_tie(student):
    """Example 3 ties 3, 2 and 1 (one vote each) and example 4 ties 4, 5 and 6: the smallest wins."""
    got = student.majority_vote(VOTES)
    expected = train.majority_vote(VOTES)
    if isinstance(got, np.ndarray) and got.shape == expected.shape and got[3] == VOTES[0][3]:
        raise Mismatch(
            f"majority_vote: example 3 is a three-way tie of 3, 2 and 1: it goes to the smallest, 1, not to the "
            f"first model's vote ({got[3]})"
        )
    assert_close(got, expected, name="majority_vote(three models' labels)")


OUTPUTS = [
    np.array([[0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.5, 0.5, 0.0], [0.0, 0.3, 0.7]]),
    np.array([[0.6, 0.4, 0.0], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0], [0.0, 0.6, 0.4]]),
    np.array([[0.0, 1.0, 0.0], [0.3, 0.0, 0.7], [0.5, 0.5, 0.0], [0.0, 0.6, 0.4]]),
]


@pytest.mark.grade(points=0.5, functions=["average_outputs"])
def test_average_outputs_is_the_mean_output_vector(student):
    got = student.average_outputs(OUTPUTS)
    expected = train.average_outputs(OUTPUTS)
    if isinstance(got, np.ndarray) and got.shape == expected.shape and np.allclose(got, 3 * expected):
        raise Mismatch("average_outputs: the outputs are summed; their average divides by the number of models, 3")
    assert_close(got, expected, name="average_outputs(three models' outputs)")


SWEEP = {"epochs": 3, "batch_size": 32, "shuffle": False}


@pytest.mark.grade(points=1, functions=["learning_rate_sweep", "fit"])
def test_learning_rate_sweep_trains_every_rate_from_the_same_start(student, hw4):
    """η = 0.5, 0.05, 0.005 with SGD, each from seed 3's initialisation."""
    data, rates = small_digits(hw4, 0, 0), [0.5, 0.05, 0.005]
    make_model = student.mlp_factory([64, 16, 10], init="uniform")
    with hw4.naming_the_blank():
        rows = student.learning_rate_sweep(make_model, student.SGD, *data, learning_rates=rates, seed=3, **SWEEP)
        expected = [hw4.replay_rate(student, make_model, student.SGD, lr, 3, data, **SWEEP) for lr in rates]
    if not isinstance(rows, list):
        raise WrongType(f"learning_rate_sweep must return a list of rows (dicts), got {type(rows).__name__}")
    hw4.compare_rows(rows, expected, "learning_rate_sweep")
