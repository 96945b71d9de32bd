"""reference.gradcheck: the centred-difference checker itself must be right, or it proves nothing."""

from __future__ import annotations

import numpy as np
import pytest

from grader.grading import tolerances
from reference import Tensor
from reference.gradcheck import check_gradients, deep_chain, numeric_gradient, relative_error

# Centred differences with h = 1e-6 on these well-scaled functions are good to about 1e-9.
NUMERIC_RTOL, NUMERIC_ATOL = 1e-6, 1e-8


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)], ids=str)
def test_numeric_gradient_of_sum_of_squares_is_two_x(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(numeric_gradient(lambda v: np.sum(v**2), x), 2 * x, rtol=NUMERIC_RTOL, atol=NUMERIC_ATOL)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)], ids=str)
def test_numeric_gradient_of_sum_of_sines_is_cosine(shape):
    x = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_allclose(
        numeric_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x), rtol=NUMERIC_RTOL, atol=NUMERIC_ATOL
    )


def test_numeric_gradient_of_weighted_sum_is_the_weights():
    weights = np.random.default_rng(2).standard_normal((2, 3, 4))
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    np.testing.assert_allclose(
        numeric_gradient(lambda v: np.sum(weights * v), x), weights, rtol=NUMERIC_RTOL, atol=NUMERIC_ATOL
    )


def test_numeric_gradient_has_input_shape():
    assert numeric_gradient(lambda v: np.sum(v), np.zeros((2, 3, 4))).shape == (2, 3, 4)


def test_numeric_gradient_does_not_modify_its_input():
    x = np.random.default_rng(4).standard_normal((2, 3))
    before = x.copy()
    numeric_gradient(lambda v: np.sum(np.exp(v)), x)
    np.testing.assert_array_equal(x, before)


def test_numeric_gradient_accepts_integer_input_as_float():
    np.testing.assert_allclose(
        numeric_gradient(lambda v: np.sum(v**2), np.array([1, 2, 3])), [2.0, 4.0, 6.0], rtol=NUMERIC_RTOL
    )


def test_relative_error_of_two_zeros_is_zero():
    assert relative_error(np.zeros(3), np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_relative_error_denominator_has_floor_of_1e_minus_8():
    assert tolerances.RELATIVE_ERROR_FLOOR == 1e-8
    # |a − n| = 1e-10 over max(1e-8, 1e-10) = 1e-8, not over 1e-10
    np.testing.assert_allclose(relative_error(np.array([1e-10]), np.array([0.0])), [1e-2], rtol=1e-12)


def test_relative_error_above_floor_is_difference_over_sum_of_magnitudes():
    np.testing.assert_allclose(relative_error(np.array([1.0, -2.0]), np.array([3.0, 2.0])), [0.5, 1.0], rtol=1e-12)


def test_check_gradients_reports_pass_for_correct_operation():
    rng = np.random.default_rng(5)
    reports = check_gradients(
        lambda a, b: (a @ b).tanh(), [rng.standard_normal((3, 3)), rng.standard_normal((3, 2))], rng=rng
    )
    assert [report.passed for report in reports] == [True, True]
    assert all(report.max_error <= tolerances.GRADCHECK_SMOOTH for report in reports)


def test_check_gradients_returns_one_named_report_per_input():
    reports = check_gradients(lambda a, b: a * b, [np.ones(2), np.ones(2)], names=["a", "b"])
    assert [report.name for report in reports] == ["a", "b"]


def transposing_identity(x: Tensor) -> Tensor:
    """y = x, with a deliberately wrong backward that passes on the transposed gradient."""

    def _backward(upstream):
        x.accumulate_grad(upstream.T)

    return Tensor.from_op(x.data.copy(), (x,), "buggy_identity", _backward)


def halving_square(x: Tensor) -> Tensor:
    """y = x², with a deliberately wrong backward that forgets the factor 2 of 2x."""

    def _backward(upstream):
        x.accumulate_grad(upstream * x.data)

    return Tensor.from_op(x.data**2, (x,), "buggy_square", _backward)


def test_check_gradients_catches_transposed_gradient_of_square_matrix():
    x = np.random.default_rng(6).standard_normal((3, 3))
    (report,) = check_gradients(transposing_identity, [x], rng=np.random.default_rng(7))
    assert not report.passed


def test_ones_upstream_would_hide_the_transposed_gradient():
    # the reason the checker draws a random upstream gradient: with ones, gᵀ = g
    x = np.random.default_rng(6).standard_normal((3, 3))
    (report,) = check_gradients(transposing_identity, [x], upstream=np.ones((3, 3)))
    assert report.passed


def test_check_gradients_catches_missing_factor():
    x = np.random.default_rng(8).uniform(0.5, 2.0, 4)
    (report,) = check_gradients(halving_square, [x], rng=np.random.default_rng(9))
    assert not report.passed


def test_failed_report_names_the_worst_index():
    (report,) = check_gradients(wrong_at_index_two, [np.array([0.5, 1.0, 3.0, 2.0])], upstream=np.ones(4))
    assert not report.passed
    assert report.worst_index == (2,)
    assert "(2,)" in str(report) and "MISMATCH" in str(report)


def wrong_at_index_two(x: Tensor) -> Tensor:
    """y = 3x, whose backward is wrong in entry 2 only."""

    def _backward(upstream):
        local = np.full(x.shape, 3.0)
        local[2] = -3.0
        x.accumulate_grad(upstream * local)

    return Tensor.from_op(3 * x.data, (x,), "buggy_scale", _backward)


def test_passed_report_reads_ok():
    (report,) = check_gradients(lambda a: a * 2.0, [np.ones(3)])
    assert str(report).endswith("ok")


def test_deep_chain_is_as_deep_as_asked_and_its_gradient_alternates_in_sign():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    out = deep_chain(x, 3001)
    np.testing.assert_array_equal(out.data, -x.data)
    assert len(out.topological_order()) == 3002
    out.backward(np.array([0.5, 2.0]))
    np.testing.assert_array_equal(x.grad, [-0.5, -2.0])
