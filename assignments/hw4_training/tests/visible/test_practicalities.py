"""Random restarts, ensembles and a learning-rate sweep (CS 4248, "Practicalities").

Restarts and the sweep train with your fit: each is checked against its procedure replayed step by step on
your own fit (see conftest.py), so a mistake in fit costs fit's points, not these.
"""

import numpy as np
import pytest

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
    result, runs = hw4.check_restarts(student, make_model, student.Adam, seeds, data, **RESTARTS)
    _, accuracy = student.evaluate(result.model, data[2], data[3])
    hw4.the_kept_model(accuracy, runs, seeds)


VOTES = [
    np.array([0, 1, 2, 3, 4, 7, 9, 8, 3, 5]),
    np.array([0, 1, 1, 2, 5, 8, 7, 9, 5, 3]),
    np.array([1, 2, 1, 1, 6, 9, 8, 7, 4, 4]),
]


@pytest.mark.grade(points=1, functions=["majority_vote"])
def test_majority_vote_takes_the_most_common_label_and_the_smallest_one_on_a_tie(student, hw4):
    """Examples 3 to 9 are ties of three labels (one vote each): the smallest wins each (a random tie-break
    matches all seven with probability 3⁻⁷)."""
    hw4.majority_votes(
        student.majority_vote(VOTES),
        train.majority_vote(VOTES),
        tie=3,
        first_vote=VOTES[0][3],
        tied="3, 2 and 1 (one vote each)",
        name="majority_vote(three models' labels)",
    )


OUTPUTS = [
    np.array([[0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.5, 0.5, 0.0], [0.0, 0.3, 0.7]]),
    np.array([[0.6, 0.4, 0.0], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0], [0.0, 0.6, 0.4]]),
    np.array([[0.0, 1.0, 0.0], [0.3, 0.0, 0.7], [0.5, 0.5, 0.0], [0.0, 0.6, 0.4]]),
]


@pytest.mark.grade(points=0.5, functions=["average_outputs"])
def test_average_outputs_is_the_mean_output_vector(student, hw4):
    expected = train.average_outputs(OUTPUTS)
    hw4.assert_close_naming(
        student.average_outputs(OUTPUTS),
        expected,
        name="average_outputs(three models' outputs)",
        mistakes={"the outputs are summed; their average divides by the number of models, 3": 3 * expected},
    )


SWEEP = {"epochs": 3, "batch_size": 32, "shuffle": False}


@pytest.mark.grade(points=1, functions=["learning_rate_sweep", "fit"])
def test_learning_rate_sweep_trains_every_rate_from_the_same_start(student, hw4):
    """η = 0.5, 0.05, 0.005 with SGD, each from seed 3's initialisation."""
    data, rates = small_digits(hw4, 0, 0), [0.5, 0.05, 0.005]
    make_model = student.mlp_factory([64, 16, 10], init="uniform")
    hw4.check_sweep(student, make_model, student.SGD, rates, 3, data, **SWEEP)
