"""Recognise common mistakes from how a wrong answer differs from the right one.

Each hint is a guess worded as one ("transposed?"), appended to a mismatch
message; it only looks at the student's value and the expected one, and is
given only where the mistake it names can happen: a batch axis is talked of
only when the value with the extra axis has two axes or more and that axis is
longer than 1 (a leading axis of length 1 is a reshape, not a batch), a
pattern of factors only when more than one entry shows it, rounding only when
the rounded value is not zero (zero "rounds" every small number).
"""

from __future__ import annotations

import numpy as np

from grader.grading import tolerances

# How many decimals a copied, rounded number can have (the lectures print 2 to 5).
ROUNDED_DECIMALS = range(2, 7)


def shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(got) == 2 and got == expected[::-1]:
        return " (transposed? by the shape convention a gradient has its parameter's shape)"
    if len(expected) >= 2 and expected[0] > 1 and len(got) == len(expected) - 1 and got == expected[1:]:
        return " (summed over the batch axis where it should not be?)"
    if len(got) >= 2 and got[0] > 1 and len(got) == len(expected) + 1 and got[1:] == expected:
        return " (a missing sum over the batch axis?)"
    if sorted(got) == sorted(expected):
        return " (axes in the wrong order?)"
    if np.prod(got) == np.prod(expected):
        return " (the right entries in the wrong shape? check reshape and the outer product's order)"
    return ""


def value_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """A hint for values of the right shape (arrays or single numbers) that are wrong."""
    if not (np.isfinite(got).all() and np.isfinite(expected).all()):
        return ""
    if np.allclose(got, -expected, rtol=1e-7, atol=1e-12):
        return " (the sign is flipped: gradient ascent instead of descent, or (t − o) for (o − t)?)"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(got, expected.T, rtol=1e-7, atol=1e-12):
        return " (transposed? ∂s/∂W = δᵀxᵀ has rows indexed by outputs)"
    rounded = next((d for d in ROUNDED_DECIMALS if _rounded_to(got, expected, d)), None)
    if rounded is not None:
        return f" (the right value rounded to {rounded} decimals: compute at full precision and never round)"
    return _factor_hint(got, expected)


def _rounded_to(got: np.ndarray, expected: np.ndarray, decimals: int) -> bool:
    """Whether ``got`` holds numbers of ``decimals`` decimals, each the expected one as the lecture prints it."""
    unit = 10.0**-decimals
    if not np.any(np.abs(got) > unit / 2):  # all zeros: that is no copied number
        return False
    is_rounded = np.allclose(got, np.round(got, decimals), rtol=0, atol=1e-12)
    return bool(is_rounded and np.all(np.abs(got - expected) <= tolerances.PRINTED_DIGIT_UNITS * unit))


def _factor_hint(got: np.ndarray, expected: np.ndarray) -> str:
    nonzero = np.abs(expected) > 1e-12
    if not nonzero.any():
        return ""
    ratios = got[nonzero] / expected[nonzero]
    ratio = float(ratios.flat[0])
    if not np.allclose(ratios, ratio, rtol=1e-6) or abs(ratio) < 1e-12 or abs(ratio - 1) < 1e-6:
        return ""  # a ratio of 1 is a rounding difference, not a factor
    for factor, cause in ((2.0, "a missing ½ of the squared error?"), (0.5, "an extra ½?")):
        if abs(ratio - factor) < 1e-6:
            return f" (off by a factor of {factor:g}: {cause})"
    if nonzero.sum() < 2:  # one number's ratio to another says nothing more
        return ""
    if ratio > 1 and abs(ratio - round(ratio)) < 1e-6:
        return (
            f" (off by a factor of {round(ratio)}: a sum where a mean belongs, "
            "or a missing division by the batch size?)"
        )
    return f" (off by a constant factor {ratio:.4g} everywhere)"


def named_variant(got, variants, *, rtol: float, atol: float) -> str | None:
    """The name of the first of ``variants`` that ``got`` equals within ``rtol``/``atol``, or None.

    ``variants`` maps a name ("Adam without bias correction") to the value
    that known mistake gives on the same inputs, computed by the grader (for
    instance a reference optimizer with one convention changed), or to a
    function of no arguments that computes it, called only while no earlier
    variant has matched. Values are numbers, arrays, or lists and dicts of
    them; a value of another shape or structure simply does not match. Used
    once the answer is known to be wrong, so the message can say which
    mistake it looks like.
    """
    for name, value in variants.items():
        if _matches(got, value() if callable(value) else value, rtol, atol):
            return name
    return None


def _matches(got, expected, rtol: float, atol: float) -> bool:
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(expected)
            and all(_matches(got[key], expected[key], rtol, atol) for key in expected)
        )
    if isinstance(expected, (list, tuple)) and not _numeric(expected):
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(expected)
            and all(_matches(g, e, rtol, atol) for g, e in zip(got, expected))
        )
    if not (_numeric(got) and _numeric(expected)):
        return False
    try:
        have, want = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except ValueError:  # ragged nested lists
        return False
    return have.shape == want.shape and bool(np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True))


def _numeric(value) -> bool:
    """A number, a numeric array, or a (nested) list of numbers."""
    if isinstance(value, bool):
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    if isinstance(value, (list, tuple)):
        return all(_numeric(item) for item in value)
    return isinstance(value, (int, float, np.integer, np.floating))
