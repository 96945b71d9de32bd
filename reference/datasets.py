"""A real, small dataset shipped with the package, and the splits a training run needs.

:func:`load_digits` reads the UCI optical recognition of handwritten digits
(1797 images of 8×8 pixels, 10 classes; source and licence in
``reference/data/README.md``) from the gzip CSV beside this module: no
download, no scikit-learn, no pandas.

:func:`train_dev_test_split` makes the three sets of the lectures: the
training set the optimizer sees, the development (validation) set that picks
the epoch to stop at, the restart to keep and the learning rate, and the test
set touched once at the end. :func:`standardise` rescales features with
statistics of the training set only, so nothing leaks from dev or test.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
DIGITS_PATH = DATA_DIR / "digits.csv.gz"
DIGITS_MAX_PIXEL = 16


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 handwritten digits as (X, y).

    Returns:
        X: float64 array of shape (1797, 64), one flattened 8×8 image per row
            (row-major), pixel counts 0..16 divided by 16, so every value lies in [0, 1].
        y: int64 array of shape (1797,), the digit 0..9 of each row.
    """
    with gzip.open(DIGITS_PATH, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    X = table[:, :-1].astype(np.float64) / DIGITS_MAX_PIXEL
    y = table[:, -1].astype(np.int64)
    return X, y


def train_dev_test_split(
    X: np.ndarray,
    y: np.ndarray,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    seed: int | np.random.Generator = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the rows into training, development and test sets: a deterministic shuffle.

    With ``stratify`` (the default) each class is split on its own, so every
    set has the class proportions of the whole: the rows of class c are
    permuted, the first round(f_train·n_c) go to training, the next
    round(f_dev·n_c) to development, the rest to test. Without it the same
    rule is applied once to all rows. Each set's rows are then put in one
    more random order, so no set is sorted by class.

    The randomness is a ``numpy.random.Generator``: ``seed`` is either one
    (used as is) or an integer for ``numpy.random.default_rng(seed)``. The same
    seed gives the same split; the three sets are disjoint and together hold
    every row exactly once.

    Returns:
        X_train, y_train, X_dev, y_dev, X_test, y_test.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    groups = [np.flatnonzero(y == label) for label in np.unique(y)] if stratify else [np.arange(len(y))]
    parts: list[list[np.ndarray]] = [[], [], []]
    for rows in groups:
        rows = rng.permutation(rows)
        n_train = round(fractions[0] * len(rows))
        n_dev = round(fractions[1] * len(rows))
        for part, chosen in zip(parts, np.split(rows, [n_train, n_train + n_dev])):
            part.append(chosen)
    train, dev, test = (rng.permutation(np.concatenate(part)) for part in parts)
    return X[train], y[train], X[dev], y[dev], X[test], y[test]


def standardise(X_train: np.ndarray, *X_others: np.ndarray) -> list[np.ndarray]:
    """(X − μ) / σ with the mean μ and standard deviation σ of each column of ``X_train``.

    The same μ and σ are applied to every other array given (dev, test), so
    they never see their own statistics. A constant column (σ = 0, such as
    the always-blank corner pixels of the digits) is only centred: its σ is
    taken as 1.

    Returns:
        The standardised ``X_train`` followed by each of ``X_others``.
    """
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [(X - mean) / std for X in (X_train, *X_others)]
