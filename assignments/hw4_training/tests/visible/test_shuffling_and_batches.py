"""Shuffling the training data every epoch (inputs and labels together) and mini-batches.

The orders your shuffle draws are never compared with the reference's: they are checked for what every
uniformly random order does. The one statistical check (successions, see checks.py) fails a correct
solution with probability at most 1/12! = 2.1·10⁻⁹ per order.
"""

import numpy as np
import pytest

from reference import train

N = 100
X = np.stack([np.arange(N), 2.0 * np.arange(N), -np.arange(N)], axis=1)  # row i says i: where it went is visible
Y = np.arange(N)  # the label of row i is i


@pytest.mark.grade(points=1, functions=["shuffled"])
def test_shuffled_draws_a_new_random_order_every_epoch_keeping_each_label_with_its_input(student, hw4):
    """Three epochs from one generator: false-failure probability ≤ 3/12! + 3/100! < 10⁻⁸."""
    rng = hw4.generator(student, 6)
    hw4.new_random_orders([student.shuffled(X, Y, rng) for _ in range(3)], X, Y, "shuffled")


@pytest.mark.grade(points=1, functions=["get_batches"])
@pytest.mark.parametrize(("n", "batch_size"), [(10, 4), (12, 4)], ids=["last-partial", "exact"])
def test_get_batches_keeps_the_last_partial_batch_and_makes_no_empty_one(student, hw4, n, batch_size):
    X_data, y_data = X[:n], Y[:n]
    hw4.same_batches(
        student.get_batches(X_data, y_data, batch_size),
        train.get_batches(X_data, y_data, batch_size),
        f"get_batches(X of {n} rows, y, batch_size={batch_size})",
    )
