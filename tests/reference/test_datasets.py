"""The shipped handwritten digits and the train/dev/test split."""

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from reference import datasets

ROOT = Path(__file__).resolve().parents[2]
DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits()


def test_digits_have_1797_rows_of_64_float_features_and_int_labels(digits):
    X, y = digits
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64


def test_digit_pixels_are_counts_0_to_16_scaled_into_0_1(digits):
    X, _ = digits
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, np.round(X * 16))


def test_digit_class_counts_are_those_of_the_uci_test_set(digits):
    _, y = digits
    assert np.bincount(y).tolist() == DIGITS_CLASS_COUNTS


def test_first_digit_is_the_zero_of_the_csv(digits):
    X, y = digits
    assert y[0] == 0
    np.testing.assert_array_equal(X[0, :8] * 16, [0, 0, 5, 13, 9, 1, 0, 0])


def test_loading_digits_needs_neither_scikit_learn_nor_pandas():
    code = (
        "import sys, reference.datasets as d; d.load_digits(); print('sklearn' in sys.modules, 'pandas' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_digits_file_is_declared_package_data_with_its_licence_notes():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*" in config["tool"]["setuptools"]["package-data"]["reference"]
    notes = (ROOT / "reference" / "data" / "README.md").read_text()
    assert "CC BY 4.0" in notes and "Alpaydin" in notes and "scikit-learn" in notes


def _row_ids(n=100, classes=4):
    """Features that name their row, so a split's rows can be traced back."""
    return np.arange(n, dtype=np.float64)[:, None], np.arange(n) % classes


def test_split_sizes_follow_the_fractions(digits):
    X_train, _, X_dev, _, X_test, _ = datasets.train_dev_test_split(*digits)
    assert (len(X_train), len(X_dev), len(X_test)) == (1078, 359, 360)


def test_split_sets_are_disjoint_and_cover_every_row():
    X, y = _row_ids()
    X_train, y_train, X_dev, y_dev, X_test, y_test = datasets.train_dev_test_split(X, y, seed=3)
    rows = np.concatenate([X_train[:, 0], X_dev[:, 0], X_test[:, 0]]).astype(int)
    assert sorted(rows.tolist()) == list(range(100))
    np.testing.assert_array_equal(np.concatenate([y_train, y_dev, y_test]), rows % 4)


def test_split_is_deterministic_for_a_seed():
    X, y = _row_ids()
    first = datasets.train_dev_test_split(X, y, seed=7)
    second = datasets.train_dev_test_split(X, y, seed=7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_split_differs_between_seeds():
    X, y = _row_ids()
    assert not np.array_equal(
        datasets.train_dev_test_split(X, y, seed=0)[0], datasets.train_dev_test_split(X, y, seed=1)[0]
    )


def test_split_accepts_an_injected_generator():
    X, y = _row_ids()
    from_seed = datasets.train_dev_test_split(X, y, seed=5)[0]
    from_generator = datasets.train_dev_test_split(X, y, seed=np.random.default_rng(5))[0]
    np.testing.assert_array_equal(from_seed, from_generator)


def test_stratified_split_keeps_each_class_share_in_every_set(digits):
    _, y_train, _, y_dev, _, y_test = datasets.train_dev_test_split(*digits)
    counts = np.array(DIGITS_CLASS_COUNTS)
    for labels, fraction in ((y_train, 0.6), (y_dev, 0.2), (y_test, 0.2)):
        assert np.all(np.abs(np.bincount(labels, minlength=10) - fraction * counts) <= 1)


def test_split_rejects_fractions_not_summing_to_one():
    with pytest.raises(ValueError, match="sum"):
        datasets.train_dev_test_split(*_row_ids(), fractions=(0.5, 0.2, 0.2))


def test_standardise_uses_training_statistics_for_every_set():
    X_train = np.array([[1.0, 5.0], [3.0, 5.0]])
    X_dev = np.array([[5.0, 6.0]])
    train, dev = datasets.standardise(X_train, X_dev)
    np.testing.assert_allclose(train, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(dev, [[3.0, 1.0]])  # the constant column is only centred (σ taken as 1)
