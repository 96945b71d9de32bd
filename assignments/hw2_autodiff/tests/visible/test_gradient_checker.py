"""The numeric gradient checker: centred differences and the relative error (CSE 587).

    f'(x) ≈ (f(x + h) − f(x − h)) / 2h        relative error |a − n| / max(1e-8, |a| + |n|)

The functions checked are ``weighted_output(f, inputs, k, u)``, the scalar
x ↦ Σ u ∘ f(...) that check_gradients differentiates, built in the sandbox
from the handout's own f (its forward computation is given). The report
check_gradients returns, a GradientCheck, is built from your two functions.
"""

import numpy as np
import pytest

from grader.grading import tolerances
from grader.grading.compare import assert_close, assert_equal
from reference import functional as F
from reference import gradcheck

SMOOTH = tolerances.GRADCHECK_SMOOTH


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def centred(f, inputs, k, upstream):
    """The reference's numeric gradient of Σ u ∘ f(inputs) with respect to input k."""
    return gradcheck.numeric_gradient(gradcheck.weighted_output(f, inputs, k, upstream), inputs[k])


@pytest.mark.grade(points=0.5, functions=["numeric_gradient"])
def test_numeric_gradient_of_tanh_on_every_entry_of_a_matrix(student, engine):
    x, u = normal(1, 3, 4), normal(2, 3, 4)
    f = student.weighted_output(student.tanh, [x], 0, u)
    got = student.numeric_gradient(f, x)
    engine.numeric_gradient_agrees(got, F.tanh, [x], 0, u, "numeric_gradient(Σ u ∘ tanh(x), x)")


@pytest.mark.grade(points=0.25, functions=["numeric_gradient"])
def test_numeric_gradient_with_respect_to_the_second_input(student, engine):
    a, b, u = normal(3, 2, 3), normal(4, 2, 3), normal(5, 2, 3)
    f = student.weighted_output(student.maximum, [a, b], 1, u)
    got = student.numeric_gradient(f, b)
    engine.numeric_gradient_agrees(got, F.maximum, [a, b], 1, u, "numeric_gradient(Σ u ∘ max(a, b), b)")


@pytest.mark.grade(points=0.5, functions=["numeric_gradient"])
def test_numeric_gradient_is_centred_where_the_curvature_is_large(student, engine):
    """log near 0: f'' = −1/x² is huge, so a one-sided (f(x + h) − f(x))/h is off by h·|f''|/2, ~1000× the tolerance."""
    x, u = np.random.default_rng(6).uniform(1e-3, 2e-3, (2, 3)), normal(7, 2, 3)
    f = student.weighted_output(student.log, [x], 0, u)
    got = student.numeric_gradient(f, x)
    engine.numeric_gradient_agrees(got, F.log, [x], 0, u, "numeric_gradient(Σ u ∘ log(x), x)")


@pytest.mark.grade(points=0.25, functions=["numeric_gradient"])
def test_a_correct_gradient_passes_its_check(student):
    """σ's exact gradient u ∘ σ(1 − σ) agrees with your numeric gradient within the check's tolerance."""
    x, u = normal(8, 3, 2), normal(9, 3, 2)
    s = F.sigmoid(x).data
    analytic = u * s * (1 - s)
    numeric = student.numeric_gradient(student.weighted_output(student.sigmoid, [x], 0, u), x)
    assert_close(
        numeric, analytic, rtol=SMOOTH, atol=0, name="numeric_gradient(Σ u ∘ σ(x), x) against σ's exact gradient"
    )


@pytest.mark.grade(points=0.25, functions=["relative_error"])
def test_relative_error_on_values_of_every_scale(student, engine):
    analytic = np.array([1e3, 1e-3, -2.0, 5.0, 0.0, 3e-9])
    numeric = np.array([1e3 + 1, 1.01e-3, 2.0, 5.0, 1e-10, 0.0])
    absolute = ("the absolute error |a − n|: divide it by max(1e-8, |a| + |n|)", np.abs(analytic - numeric))
    expected = gradcheck.relative_error(analytic, numeric)
    engine.assert_close(
        student.relative_error(analytic, numeric), expected, name="relative_error(a, n)", mistakes=[absolute]
    )


@pytest.mark.grade(points=0.25, functions=["relative_error"])
def test_relative_error_of_two_zeros_is_zero_not_nan(student):
    zeros = np.zeros((2, 2))
    # compare.assert_close reports a NaN as "a division by zero?": the floor 1e-8 is what prevents it
    assert_close(student.relative_error(zeros, zeros), zeros, name="relative_error(0, 0) (max(1e-8, |a| + |n|))")


@pytest.mark.grade(points=0.25, functions=["relative_error"])
def test_a_wrong_gradient_is_flagged_at_its_entry(student):
    """tanh's exact gradient, with entry (1, 2) 0.1% off: the report fails there, and only there."""
    x, u = normal(10, 3, 4), normal(11, 3, 4)
    numeric = centred(F.tanh, [x], 0, u)
    planted = u * (1 - np.tanh(x) ** 2)
    planted[1, 2] *= 1.001
    errors = student.relative_error(planted, numeric)
    report = student.GradientCheck("x", planted, numeric, errors, SMOOTH)
    assert_equal(report.passed, False, name="report.passed for a gradient 0.1% off at index (1, 2)")
    assert_equal(report.worst_index, [1, 2], name="report.worst_index (the gradient is wrong at (1, 2))")
