"""Shared inputs of hw1's tests: the CS 4248 worked example and seeded random networks."""

import numpy as np
import pytest

LECTURE_WEIGHTS = {
    "w1": 0.15,
    "w2": 0.25,
    "w3": 0.20,
    "w4": 0.30,
    "w5": 0.10,
    "w6": 0.35,
    "w7": 0.05,
    "w8": -0.20,
    "b1": -0.15,
    "b2": -0.10,
    "b3": -0.50,
    "b4": -0.20,
}
LECTURE_INPUT = (0.20, 0.50)
LECTURE_TARGET = (1.00, 0.00)
LECTURE_ALPHA = 0.50


def _random_network(seed: int) -> tuple[dict, tuple, tuple]:
    """Weights in [−1, 1], an input in [−1, 1]², a target in [0, 1]²: a case no one can have memorised."""
    rng = np.random.default_rng(1000 + seed)
    names = list(LECTURE_WEIGHTS)
    weights = dict(zip(names, rng.uniform(-1, 1, len(names)).tolist()))
    return weights, tuple(rng.uniform(-1, 1, 2).tolist()), tuple(rng.uniform(0, 1, 2).tolist())


@pytest.fixture
def lecture():
    return {"weights": dict(LECTURE_WEIGHTS), "i": LECTURE_INPUT, "t": LECTURE_TARGET, "alpha": LECTURE_ALPHA}


@pytest.fixture
def random_network():
    """random_network(seed) -> (weights, i, t)."""
    return _random_network
