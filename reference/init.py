"""Parameter initialisation (CSE 587, "Parameter Initialization").

Randomness is always injected: each function takes ``rng``, a
``numpy.random.Generator``. ``rng=None`` makes a fresh, unseeded generator
(never numpy's global state); :func:`seeded` makes the generator an
experiment starts from. A weight matrix has the lecture's shape
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


def seeded(seed: int) -> np.random.Generator:
    """A new generator seeded with ``seed`` (``numpy.random.default_rng(seed)``): where a run's randomness
    starts. The same seed gives the same draws, so a training run, a restart or a rate of a sweep repeats exactly."""
    return np.random.default_rng(seed)


def uniform(shape: int | tuple[int, ...], a: float = 0.1, rng: np.random.Generator | None = None) -> np.ndarray:
    """Weights drawn independently from U[−a, a], "some range, such as [−0.1, 0.1]": an array of ``shape``.

    Every value lies in [−a, a]; their mean is 0 and their variance a²/3. Draw them from ``rng`` (the
    reference draws ``rng.uniform(-a, a, size=shape)``), so the same seed gives the same weights.
    """
    if a < 0:
        raise ValueError(f"uniform init needs a ≥ 0, got {a}")
    rng = generator(rng)
    # BEGIN SOLUTION
    return rng.uniform(-a, a, size=shape)
    # END SOLUTION


def xavier_bound(fan_in: int, fan_out: int) -> float:
    """Xavier's bound √(6 / (n^(l) + n^(l+1))), with n^(l) = fan_in the number of input units to W and
    n^(l+1) = fan_out the number of output units from W."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """W ~ U[−√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out))], of shape (fan_out, fan_in).

    fan_in is the number of input units to W and fan_out the number of
    output units from W; W has the shape of z = Wx + b. Use :func:`xavier_bound`
    and :func:`uniform`.
    """
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"xavier_uniform needs positive fan_in and fan_out, got {fan_in} and {fan_out}")
    # BEGIN SOLUTION
    return uniform((fan_out, fan_in), a=xavier_bound(fan_in, fan_out), rng=rng)
    # END SOLUTION
