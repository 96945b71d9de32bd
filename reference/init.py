"""Parameter initialisation (CSE 587, "Parameter Initialization").

Randomness is always injected: each function takes ``rng``, a
``numpy.random.Generator``. ``rng=None`` makes a fresh, unseeded generator
(never numpy's global state). A weight matrix has the lecture's shape
(fan_out, fan_in), the shape of W in z = Wx + b.
"""

from __future__ import annotations

import math

import numpy as np


def generator(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng`` itself, or a fresh unseeded generator for None; anything else (a seed, numpy's legacy
    RandomState) is a TypeError, so randomness is always a Generator someone chose to inject."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def uniform(shape: int | tuple[int, ...], a: float = 0.1, rng: np.random.Generator | None = None) -> np.ndarray:
    """Weights drawn from U[−a, a], "some range, such as [−0.1, 0.1]"."""
    if a < 0:
        raise ValueError(f"uniform init needs a ≥ 0, got {a}")
    return generator(rng).uniform(-a, a, size=shape)


def xavier_bound(fan_in: int, fan_out: int) -> float:
    """√(6 / (n^(l) + n^(l+1))) with n^(l) = fan_in, n^(l+1) = fan_out."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """W ~ U[−√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out))], of shape (fan_out, fan_in).

    fan_in is the number of input units to W and fan_out the number of
    output units from W.
    """
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"xavier_uniform needs positive fan_in and fan_out, got {fan_in} and {fan_out}")
    return uniform((fan_out, fan_in), a=xavier_bound(fan_in, fan_out), rng=rng)
