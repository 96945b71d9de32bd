"""Hidden: shuffles repeat for a seed and leave the data as it was; mini-batches of other sizes.

The one statistical check (successions, see checks.py) fails a correct solution with probability at most
1/12! = 2.1·10⁻⁹ per order.
"""

import numpy as np
import pytest

from grader.grading.compare import Mismatch, WrongType, assert_close
from reference import train

N = 37
X = np.stack([np.arange(N, dtype=np.float64), np.sqrt(np.arange(N))], axis=1)  # column 0 names the example
Y = np.arange(N) % 3  # labels of three classes: several examples share one


def order_of(hw4, result, name: str) -> np.ndarray:
    """The order a shuffle of (X, Y) gave, after checking that every label went with its input."""
    __tracebackhide__ = True
    if not (isinstance(result, list) and len(result) == 2):
        raise WrongType(f"{name} must return a pair (X_shuffled, y_shuffled), got {type(result).__name__}")
    X_shuffled, y_shuffled = hw4.array_of(result[0], X.shape, f"{name}[0]"), hw4.array_of(result[1], Y.shape, name)
    order = X_shuffled[:, 0].astype(np.int64)
    if sorted(order.tolist()) != list(range(N)) or not np.array_equal(X_shuffled, X[order]):
        raise Mismatch(f"{name}: the rows of X are not the {N} rows reordered (each exactly once)")
    if not np.array_equal(y_shuffled, Y[order]):
        raise Mismatch(f"{name}: some labels no longer sit beside their inputs: shuffle X and y with one permutation")
    return order


@pytest.mark.grade(points=0.5, functions=["shuffled"])
def test_shuffled_repeats_its_orders_for_a_seed(student, hw4):
    """Three epochs twice from seed 7 and once from seed 8: false-failure probability ≤ 3/12! + 1/37! < 10⁻⁸."""

    def orders(seed):
        rng = hw4.generator(student, seed)
        return [order_of(hw4, student.shuffled(X, Y, rng), f"shuffled (seed {seed}, epoch {e})") for e in (1, 2, 3)]

    first, again, other = orders(7), orders(7), orders(8)
    for epoch, order in enumerate(first, start=1):
        if hw4.successions(order) >= hw4.MAX_SUCCESSIONS:
            raise Mismatch(f"shuffled (epoch {epoch}): {hw4.successions(order)} neighbours in their original order")
    if any(not np.array_equal(a, b) for a, b in zip(first, again)):
        raise Mismatch(
            "shuffled: two generators seeded alike gave different orders: draw the permutation from rng, the one "
            "given (not numpy's global generator), so that a seed repeats a training run"
        )
    if np.array_equal(first[0], other[0]):
        raise Mismatch("shuffled: generators of different seeds gave the same order: draw from rng, the one given")


@pytest.mark.grade(points=0.5, functions=["shuffled"])
def test_shuffled_leaves_the_training_data_as_it_was(student, hw4):
    result, changed = student.shuffled.with_changes(X.copy(), Y.copy(), hw4.generator(student, 9))
    order_of(hw4, result, "shuffled")
    if changed:
        raise Mismatch(
            f"shuffled changed its argument(s) {', '.join(changed)} in place: return shuffled copies and leave the "
            "training data as it was"
        )


@pytest.mark.grade(points=1, functions=["get_batches"])
@pytest.mark.parametrize(("n", "batch_size"), [(7, 1), (5, None), (3, 5), (33, 8)])
def test_get_batches_of_other_sizes(student, n, batch_size):
    X_data, y_data = X[:n], Y[:n]
    got = student.get_batches(X_data, y_data, batch_size)
    expected = train.get_batches(X_data, y_data, batch_size)
    name = f"get_batches(X of {n} rows, y, batch_size={batch_size})"
    if not isinstance(got, list) or not all(isinstance(b, list) and len(b) == 2 for b in got):
        raise WrongType(f"{name} must return a list of (X_batch, y_batch) pairs, got {type(got).__name__}")
    if len(got) != len(expected):
        raise Mismatch(f"{name}: {len(got)} batches: every row in one, the leftover rows in a last one, none empty")
    for index, ((X_batch, y_batch), (X_want, y_want)) in enumerate(zip(got, expected)):
        assert_close(X_batch, X_want, name=f"{name}: X of batch {index}")
        assert_close(y_batch, y_want, name=f"{name}: y of batch {index}")
