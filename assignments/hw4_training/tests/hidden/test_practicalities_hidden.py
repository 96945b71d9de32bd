"""Hidden: restarts listed in another order and on other rows, ensembles of random votes and outputs,
a sweep over the lecture's rates.

Restarts and the sweep are checked against their procedure replayed on the student's own fit (conftest.py).
"""

import numpy as np
import pytest

from grader.grading.compare import assert_close
from reference import train


def small_digits(hw4, start: int = 0, dev_start: int = 0, rows: int = 200, dev_rows: int = 40):
    X_train, y_train, X_dev, y_dev = hw4.digits()
    train_part, dev_part = slice(start, start + rows), slice(dev_start, dev_start + dev_rows)
    return X_train[train_part], y_train[train_part], X_dev[dev_part], y_dev[dev_part]


@pytest.mark.grade(points=1, functions=["random_restarts", "fit"])
@pytest.mark.parametrize("seeds", [[14, 13, 12, 11, 10], [0, 1, 2, 3, 4, 5]], ids=["ties-to-the-earlier", "three-tie"])
def test_random_restarts_on_other_rows(student, hw4, seeds):
    """Training rows 400-599, development rows 80-119, six epochs of mini-batches of 20. With the reference's
    pieces, seeds 13 and 10 tie on dev accuracy and 13, listed first here, has the lower loss (10 is best on the
    training set); and seeds 2, 3 and 4 tie, 4 having the lowest loss (2 is best on the training set)."""
    data = small_digits(hw4, start=400, dev_start=80)
    settings = {"epochs": 6, "batch_size": 20, "shuffle": False}
    make_model = student.mlp_factory([64, 16, 10], init="uniform")
    hw4.check_restarts(student, make_model, student.Adam, seeds, data, **settings)


@pytest.mark.grade(points=0.5, functions=["majority_vote"])
def test_majority_vote_of_random_votes_with_many_ties(student):
    """Four models, five labels, 300 examples: about a third of them are ties, each to go to its smallest label
    (a random tie-break matches that on all of them with probability below 2⁻¹⁰⁰)."""
    votes = [np.random.default_rng(31 + m).integers(0, 5, size=300) for m in range(4)]
    assert_close(student.majority_vote(votes), train.majority_vote(votes), name="majority_vote(random votes)")


@pytest.mark.grade(points=0.5, functions=["majority_vote"])
def test_majority_vote_of_labels_that_are_not_0_to_k(student):
    labels = np.array([3, 17, 42])
    votes = [labels[np.random.default_rng(41 + m).integers(0, 3, size=50)] for m in range(3)]
    assert_close(student.majority_vote(votes), train.majority_vote(votes), name="majority_vote(labels 3, 17, 42)")


@pytest.mark.grade(points=0.5, functions=["average_outputs"])
def test_average_outputs_of_five_models(student):
    outputs = [np.random.default_rng(51 + m).dirichlet(np.ones(10), size=20) for m in range(5)]
    assert_close(student.average_outputs(outputs), train.average_outputs(outputs), name="average_outputs(5 models)")


@pytest.mark.grade(points=1, functions=["learning_rate_sweep", "fit"])
def test_learning_rate_sweep_over_the_lectures_rates(student, hw4):
    """0.1, 0.01, 0.001 with SGD from seed 0, with early stopping (patience 1) in fit."""
    data, rates = small_digits(hw4, start=200), [0.1, 0.01, 0.001]
    settings = {"epochs": 4, "batch_size": 30, "shuffle": False, "patience": 1}
    make_model = student.mlp_factory([64, 16, 10], init="uniform")
    hw4.check_sweep(student, make_model, student.SGD, rates, 0, data, **settings)
