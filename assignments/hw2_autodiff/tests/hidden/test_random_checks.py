"""numeric_gradient and relative_error on seeded random functions, shapes and scales."""

import numpy as np
import pytest

from reference import functional as F
from reference import gradcheck

CASES = [
    (301, "exp", (2, 2, 2), 0),
    (302, "sigmoid", (4,), 0),
    (303, "maximum", (3, 2), 0),
    (304, "maximum", (1, 5), 1),
]


@pytest.mark.grade(points=0.5, functions=["numeric_gradient"])
@pytest.mark.parametrize("seed, function, shape, k", CASES)
def test_numeric_gradient_on_random_functions(student, engine, seed, function, shape, k):
    rng = np.random.default_rng(seed)
    inputs = [rng.normal(size=shape) for _ in range(2 if function == "maximum" else 1)]
    upstream = rng.normal(size=shape)
    f = student.weighted_output(getattr(student, function), inputs, k, upstream)
    name = f"numeric_gradient of Σ u ∘ {function}(...) with respect to input {k}"
    engine.numeric_gradient_agrees(
        student.numeric_gradient(f, inputs[k]), getattr(F, function), inputs, k, upstream, name
    )


@pytest.mark.grade(points=0.25, functions=["relative_error"])
@pytest.mark.parametrize("seed", (311, 312))
def test_relative_error_on_random_scales(student, engine, seed):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-9, 6, size=(3, 4))
    analytic = rng.normal(size=(3, 4)) * scale
    numeric = analytic * (1 + rng.normal(scale=1e-3, size=(3, 4))) + rng.normal(scale=1e-9, size=(3, 4))
    absolute = ("the absolute error |a − n|: divide it by max(1e-8, |a| + |n|)", np.abs(analytic - numeric))
    expected = gradcheck.relative_error(analytic, numeric)
    engine.assert_close(
        student.relative_error(analytic, numeric), expected, name="relative_error(a, n)", mistakes=[absolute]
    )
