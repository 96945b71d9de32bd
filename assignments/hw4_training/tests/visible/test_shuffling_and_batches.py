"""Shuffling the training data every epoch (inputs and labels together) and mini-batches.

The orders your shuffle draws are never compared with the reference's: they are checked for what every
uniformly random order does. The one statistical check (successions, see conftest.py) fails a correct
solution with probability at most 1/12! = 2.1·10⁻⁹ per order.
"""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, WrongType, assert_close
from reference import train

N = 100
X = np.stack([np.arange(N), 2.0 * np.arange(N), -np.arange(N)], axis=1)  # row i says i: where it went is visible
Y = np.arange(N)  # the label of row i is i


def shuffled_order(hw4, result, name: str) -> np.ndarray:
    """The order a shuffle of (X, Y) put the rows in, after checking that every label went with its input."""
    __tracebackhide__ = True
    if not (isinstance(result, list) and len(result) == 2):
        raise WrongType(f"{name} must return a pair (X_shuffled, y_shuffled), got {type(result).__name__}")
    X_shuffled, y_shuffled = (
        hw4.array_of(result[0], X.shape, f"{name}[0]"),
        hw4.array_of(result[1], Y.shape, f"{name}[1]"),
    )
    order = y_shuffled.astype(np.int64)
    if sorted(order.tolist()) != list(range(N)):
        raise Mismatch(f"{name}: the labels are not the {N} labels reordered (each exactly once)")
    if not np.array_equal(X_shuffled[:, 0], order):
        row = int(np.argmax(X_shuffled[:, 0] != order))
        raise Mismatch(
            f"{name}: row {row} holds the input of example {int(X_shuffled[row, 0])} but the label of example "
            f"{order[row]}: inputs and labels must be shuffled with one permutation, together"
        )
    return order


@pytest.mark.grade(points=1, functions=["shuffled"])
def test_shuffled_draws_a_new_random_order_every_epoch_keeping_each_label_with_its_input(student, hw4):
    """Three epochs from one generator: false-failure probability ≤ 3/12! + 3/100! < 10⁻⁸."""
    rng = hw4.generator(student, 6)
    orders = [shuffled_order(hw4, student.shuffled(X, Y, rng), f"shuffled (epoch {epoch})") for epoch in (1, 2, 3)]
    for epoch, order in enumerate(orders, start=1):
        count = hw4.successions(order)
        if count >= hw4.MAX_SUCCESSIONS:
            raise Mismatch(
                f"shuffled (epoch {epoch}): {count} of the {N - 1} neighbours are consecutive rows (i then i + 1); "
                f"a random order has about one (12 or more but once in 10⁸): is the order really random?"
            )
    for first in range(3):
        for second in range(first + 1, 3):
            if np.array_equal(orders[first], orders[second]):
                raise Mismatch(
                    f"shuffled: epochs {first + 1} and {second + 1} have the same order; each call must draw a new "
                    "one from the generator it is given (shuffling every epoch, not once)"
                )


def check_batches(got, X_data: np.ndarray, y_data: np.ndarray, batch_size) -> None:
    __tracebackhide__ = True
    name = f"get_batches(X of {len(X_data)} rows, y, batch_size={batch_size})"
    expected = train.get_batches(X_data, y_data, batch_size)
    if not isinstance(got, list) or not all(isinstance(b, list) and len(b) == 2 for b in got):
        raise WrongType(f"{name} must return a list of (X_batch, y_batch) pairs, got {type(got).__name__}")
    sizes, wanted = [len(b[1]) if isinstance(b[1], np.ndarray) else None for b in got], [len(b[1]) for b in expected]
    if sizes != wanted:
        hint = ""
        if sizes == wanted[:-1]:
            hint = ": the last, partial batch is missing (the rows left over make a batch of their own)"
        elif sizes[:-1] == wanted and sizes[-1] == 0:
            hint = ": the last batch is empty"
        raise Mismatch(f"{name}: batch sizes {sizes}, expected {wanted}{hint}")
    for index, ((X_batch, y_batch), (X_want, y_want)) in enumerate(zip(got, expected)):
        assert_close(X_batch, X_want, name=f"{name}: X of batch {index}")
        assert_close(y_batch, y_want, name=f"{name}: y of batch {index}")


@pytest.mark.grade(points=1, functions=["get_batches"])
@pytest.mark.parametrize(("n", "batch_size"), [(10, 4), (12, 4)], ids=["last-partial", "exact"])
def test_get_batches_keeps_the_last_partial_batch_and_makes_no_empty_one(student, n, batch_size):
    X_data, y_data = X[:n], Y[:n]
    check_batches(student.get_batches(X_data, y_data, batch_size), X_data, y_data, batch_size)
