"""Shared machinery of hw2's tests: the student's engine driven through handles, every number compared here.

An operation is written once for both engines, as ``op(ns, *tensors)``, where
``ns`` is where its functions live: the ``student`` fixture (the submission,
in the sandbox) or ``reference.functional`` (the reference, in this process).
``lambda ns, a, b: a * b`` and ``lambda ns, a, b: ns.maximum(a, b)`` are
operations.

Fixtures:

- ``engine``: ``engine.local_gradient(out, upstream, what)`` runs ONE
  operation's local gradient: the ``_backward`` closure of its output node,
  given the upstream gradient ∂L/∂out. A test of an operation therefore
  depends on neither the student's ``backward()`` nor their other operations
  (only on ``accumulate_grad``, which every local gradient calls; the manifest
  says so). ``engine.matches_reference(...)`` compares an operation's local
  gradients with the reference engine's; ``engine.assert_close(...)`` is
  :func:`grader.grading.compare.assert_close` that names a known mistake when
  the student's value is exactly what that mistake gives.
- ``op_check(op, inputs, ...)``: an operation's local gradient, with a random
  upstream gradient u, against the centred differences of the student's own
  forward computation (the grader perturbs each entry of each input and
  evaluates Σ u ∘ op(...) through handles), and/or against the reference.

Numeric checks evaluate all the perturbed copies of one input in a single
forward call, stacked along a new leading axis that the operations' forward
computations broadcast over, so a check costs a few round trips into the
sandbox instead of a few per input entry. Operations that cannot take a
leading batch axis (a sum over all axes, a matrix times a perturbed vector)
pass ``batched=False`` and are evaluated one perturbation at a time.

Known mistakes are ``(hint, wrong)`` pairs: ``wrong(u, *inputs)`` gives, per
input, the gradient that mistake produces (None where it changes nothing); a
failure whose value matches one says so, in the course's words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import checks
import numpy as np
import pytest

from grader.grading import compare, diagnose, tolerances
from grader.sandbox import OperationFailed
from grader.sandbox.handles import type_of
from reference import functional as F
from reference import gradcheck

Op = Callable[..., object]
Mistakes = Sequence[tuple[str, Callable[..., list]]]
STEP = tolerances.GRADCHECK_STEP


# ----- messages that name a known mistake -------------------------------------------------------------------
def _sigmoid(z):
    return F.sigmoid(F.Tensor(z)).data


def _transposed_b(u, a, b):
    """(∂L/∂Z)ᵀA, put into B's shape as accumulate_grad would: what ∂L/∂B transposed gives."""
    wrong = np.swapaxes(u, -1, -2) @ a if a.ndim >= 2 and b.ndim >= 2 else None
    return None if wrong is None or wrong.size != b.size else wrong.reshape(b.shape)


KNOWN_MISTAKES: dict[str, list[tuple[str, Callable[..., list]]]] = {
    "Tensor.__sub__": [("∂(a − b)/∂b = −1: b gets −u", lambda u, a, b: [None, u])],
    "Tensor.__mul__": [("* switches the operands: a gets u·b and b gets u·a", lambda u, a, b: [u * a, u * b])],
    "Tensor.__truediv__": [("the sign: ∂(a/b)/∂b = −a/b²", lambda u, a, b: [None, u * a / b**2])],
    "Tensor.__matmul__": [
        ("transposed? ∂L/∂B = Aᵀ ∂L/∂Z, which has B's shape", lambda u, a, b: [None, _transposed_b(u, a, b)])
    ],
    "Tensor.log": [("1/x² for 1/x?", lambda u, x: [u / x**2])],
    "Tensor.sigmoid": [
        ("σ' taken of the input: z(1 − z) for σ(z)(1 − σ(z))", lambda u, z: [u * z * (1 - z)]),
        ("σ(z) alone: σ'(z) = σ(z)(1 − σ(z))", lambda u, z: [u * _sigmoid(z)]),
    ],
    "Tensor.tanh": [("1 − tanh(z) for 1 − tanh²(z)?", lambda u, z: [u * (1 - np.tanh(z))])],
    "Tensor.relu": [("ReLU'(0) = 0 by convention: the derivative is 1(z > 0)", lambda u, z: [u * (z >= 0)])],
    "sign": [("sign passes no gradient: its derivative is 0, also at 0", lambda u, z: [u])],
    "hardtanh": [
        ("±1 belong to the middle piece −1 ≤ z ≤ 1: the gradient is 1 there", lambda u, z: [u * (np.abs(z) < 1)])
    ],
    "maximum": [
        ("at a tie max routes the upstream gradient to neither input", lambda u, a, b: [u * (a >= b), u * (b >= a)])
    ],
}
"""The mistakes a failure of each task's local gradient is checked against, by the function a test is charged to."""


def known_mistake(got, candidates: Sequence[tuple[str, object]]) -> str:
    """The hint of the first ``(hint, wrong value)`` that ``got`` equals, or ""."""
    try:
        have = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    for hint, wrong in candidates:
        if wrong is None:
            continue
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == have.shape and np.allclose(have, wrong, rtol=1e-6, atol=1e-9):
            return hint
    return ""


def assert_close(got, expected, *, name: str, mistakes: Sequence[tuple[str, object]] = (), **tolerance) -> None:
    """compare.assert_close, whose message names a known mistake (instead of a generic guess) when one matches."""
    try:
        compare.assert_close(got, expected, name=name, **tolerance)
    except compare.Mismatch as mismatch:
        hint = "" if isinstance(mismatch, compare.WrongType) else known_mistake(got, mistakes)
        if not hint:
            raise
        message = str(mismatch)
        if isinstance(got, np.ndarray) and np.shape(got) == np.shape(expected):
            message = message.removesuffix(diagnose.value_hint(np.asarray(got, float), np.asarray(expected, float)))
        raise type(mismatch)(f"{message} ({hint})") from None


def assert_gradient_check(analytic, numeric: np.ndarray, *, name: str, tolerance: float, mistakes=()) -> None:
    """The local gradient ``analytic`` agrees with the ``numeric`` one: relative error ≤ ``tolerance`` everywhere.

    The relative error is gradcheck's |a − n| / max(1e-8, |a| + |n|). In hidden
    tests the numeric value is left out of the message, as expected values are.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        hint = diagnose.shape_hint(analytic.shape, numeric.shape)
        raise compare.Mismatch(f"{name}: expected shape {numeric.shape}, got shape {analytic.shape}{hint}")
    errors = gradcheck.relative_error(analytic, numeric)
    wrong = ~(errors <= tolerance)  # NaN counts as wrong
    if not wrong.any():
        return
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    where = f" at index {list(index) if len(index) > 1 else index[0]}" if index else ""
    numeric_part = f", the centred difference {numeric[index]:.10g}" if compare.reveal_expected.get() else ""
    count = f" ({int(wrong.sum())} of {wrong.size} entries)" if wrong.size > 1 else ""
    hint = known_mistake(analytic, mistakes)
    hint = f" ({hint})" if hint else diagnose.value_hint(analytic, numeric)
    raise compare.Mismatch(
        f"{name}: disagrees with the centred difference of the forward computation{where}: "
        f"the local gradient gives {analytic[index]:.10g}{numeric_part}, relative error {errors[index]:.2e} "
        f"> {tolerance:.0e}{count}{hint}"
    )


# ----- one operation's local gradient ---------------------------------------------------------------------
def local_gradient(out, upstream, what: str) -> None:
    """Call the ``_backward`` closure of the node ``out`` (a handle) with ``upstream`` = ∂L/∂out."""
    backward = out._backward
    if backward is None:
        raise compare.Mismatch(
            f"{what} recorded no _backward on its output, although an input requires gradients "
            "(Tensor.from_op keeps it when any parent has requires_grad=True)"
        )
    try:
        backward(np.asarray(upstream, dtype=np.float64))
    except OperationFailed as failure:  # name the operation, not the closure ("Tensor.__mul__.<locals>._backward")
        message = failure.message.replace(f"{type_of(backward)}(...)", f"the local gradient (_backward) of {what}", 1)
        raise OperationFailed(failure.status, message) from None


def gradient_of(tensor, label: str, what: str) -> np.ndarray:
    """``tensor.grad`` (plain data), which a local gradient must have set."""
    grad = tensor.grad
    if grad is None:
        raise compare.Mismatch(f"{what}: {label} received no gradient (its .grad is still None)")
    return grad


def reference_gradients(op: Op, inputs: Sequence[np.ndarray], upstream) -> list[np.ndarray]:
    """The reference engine's local gradient of ``op`` for each input, in this process."""
    tensors = [F.Tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
    op(F, *tensors)._backward(np.asarray(upstream, dtype=np.float64))
    return [t.grad for t in tensors]


def wrong_gradients(mistakes: Mistakes, upstream, inputs, k: int) -> list[tuple[str, object]]:
    """Each known mistake's gradient for input ``k``."""
    return [(hint, wrong(np.asarray(upstream, dtype=np.float64), *inputs)[k]) for hint, wrong in mistakes]


def _one_sided(scalar: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
    """(f(x + h) − f(x)) / h, entry by entry: the difference the lecture's centred one improves on."""
    gradient, at_x = np.zeros_like(x), scalar(x)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += h
        gradient[index] = (scalar(moved) - at_x) / h
    return gradient


class Engine:
    """The student's engine, one operation at a time (see the module docstring)."""

    def __init__(self, student, charged_to: str = ""):
        self.student = student
        self.known_mistakes = KNOWN_MISTAKES.get(charged_to, [])

    local_gradient = staticmethod(local_gradient)
    gradient_of = staticmethod(gradient_of)
    assert_close = staticmethod(assert_close)

    def matches_reference(
        self,
        op: Op,
        inputs: Sequence[np.ndarray],
        upstream,
        *,
        what: str,
        names: Sequence[str],
        mistakes: Mistakes = (),
    ) -> None:
        """``op``'s local gradient for every input, given ``upstream``, equals the reference engine's."""
        mistakes = [*mistakes, *self.known_mistakes]
        inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
        tensors = [self.student.Tensor(x, requires_grad=True) for x in inputs]
        local_gradient(op(self.student, *tensors), upstream, what)
        for k, (tensor, want, name) in enumerate(zip(tensors, reference_gradients(op, inputs, upstream), names)):
            got = gradient_of(tensor, name, what)
            assert_close(got, want, name=f"{what}: ∂L/∂{name}", mistakes=wrong_gradients(mistakes, upstream, inputs, k))

    def numeric_gradient_agrees(self, got, f, inputs: Sequence[np.ndarray], k: int, upstream, name: str) -> None:
        """``got`` is the reference's centred difference of Σ u ∘ f(inputs) with respect to input k.

        Two centred differences of one function with one h agree to rounding:
        rtol 1e-6, and differences below 1e-8 count as none (the relative
        error's floor). A one-sided difference is off by h·f''/2.
        """
        scalar, x, h = gradcheck.weighted_output(f, inputs, k, upstream), np.asarray(inputs[k], float), STEP
        expected = gradcheck.numeric_gradient(scalar, x, h)
        mistakes = [
            ("a one-sided difference (f(x + h) − f(x))/h? The centred one is exact to O(h²)", _one_sided(scalar, x, h)),
            ("divided by h instead of 2h? f(x + h) and f(x − h) are 2h apart", 2 * expected),
        ]
        tolerance = {"rtol": tolerances.GRADCHECK_SMOOTH, "atol": tolerances.RELATIVE_ERROR_FLOOR}
        assert_close(got, expected, name=name, mistakes=mistakes, **tolerance)

    def broadcast_matches_stretched(self, op: Op, big: np.ndarray, small: np.ndarray, *, what: str, seed: int):
        """``op(X, s)``, ``s`` broadcast, gives ``s`` the unbroadcast gradient of ``op(X, S)``, S = s stretched by hand.

        Both gradients come from the student's own local gradient of ``op``, so
        a mistake in it cancels out: only the reduction to ``s``'s shape counts.
        """
        upstream = np.random.default_rng(seed).standard_normal(big.shape)
        X, s = self.student.Tensor(big, requires_grad=True), self.student.Tensor(small, requires_grad=True)
        local_gradient(op(self.student, X, s), upstream, what)
        S = self.student.Tensor(np.broadcast_to(small, big.shape).copy(), requires_grad=True)
        X_again = self.student.Tensor(big, requires_grad=True)
        local_gradient(op(self.student, X_again, S), upstream, f"{what} (the operand stretched by hand)")
        axes = broadcast_axes(big.shape, small.shape)
        name = f"{what}: ∂L/∂(the operand of shape {small.shape}, broadcast to {big.shape})"
        checks.gets_the_stretched_gradient_summed(s.grad, S.grad, axes, small.shape, name=name)


def broadcast_axes(big: tuple[int, ...], small: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of a ``big``-shaped gradient that broadcasting ``small`` to ``big`` stretched (summed back over)."""
    leading = len(big) - len(small)
    return tuple(range(leading)) + tuple(leading + i for i, n in enumerate(small) if n == 1 and big[leading + i] != 1)


class OpCheck:
    """``op_check(op, inputs, ...)``: an operation's local gradient against numeric and/or reference gradients."""

    def __init__(self, student, charged_to: str = ""):
        self.student = student
        self.known_mistakes = KNOWN_MISTAKES.get(charged_to, [])

    def __call__(
        self,
        op: Op,
        inputs: Sequence[np.ndarray],
        *,
        what: str,
        seed: int,
        names: Sequence[str] | None = None,
        numeric: bool = True,
        reference: bool = False,
        tolerance: float = tolerances.GRADCHECK_SMOOTH,
        batched: bool = True,
        mistakes: Mistakes = (),
    ) -> None:
        """Check ``op``'s local gradient on ``inputs`` with a random upstream gradient.

        ``what`` names the operation in messages ("x * w"), ``names`` its inputs.
        ``numeric`` compares with centred differences of the student's forward
        (kept away from kinks by the caller's choice of inputs), ``reference``
        with the reference engine's local gradient. ``mistakes`` add to the
        known mistakes of the function the test is charged to.
        """
        mistakes = [*mistakes, *self.known_mistakes]
        inputs = [np.array(x, dtype=np.float64) for x in inputs]
        names = list(names) if names is not None else [f"input {k}" for k in range(len(inputs))]
        out_shape = op(F, *[F.Tensor(x) for x in inputs]).shape  # the forward computation is given: same shape
        upstream = np.random.default_rng(seed).standard_normal(out_shape)
        tensors = [self.student.Tensor(x, requires_grad=True) for x in inputs]
        local_gradient(op(self.student, *tensors), upstream, what)
        analytic = [gradient_of(t, name, what) for t, name in zip(tensors, names)]
        expected = reference_gradients(op, inputs, upstream) if reference else []
        for k, name in enumerate(names):
            hints = wrong_gradients(mistakes, upstream, inputs, k)
            if reference:
                assert_close(analytic[k], expected[k], name=f"{what}: ∂L/∂{name}", mistakes=hints)
            if numeric:
                differences = self._batched if batched else self._one_by_one
                gradient = differences(op, tensors, inputs, k, upstream, what)
                check = f"{what}: ∂L/∂{name}"
                assert_gradient_check(analytic[k], gradient, name=check, tolerance=tolerance, mistakes=hints)

    def _batched(self, op: Op, tensors: list, inputs: list[np.ndarray], k: int, upstream: np.ndarray, what: str):
        """∂(Σ u ∘ op)/∂input k by centred differences, every perturbation in one forward call."""
        x, h = inputs[k], tolerances.GRADCHECK_STEP
        stacked = np.repeat(x[None], 2 * x.size, axis=0)
        for i, index in enumerate(np.ndindex(x.shape)):
            stacked[(2 * i, *index)] += h
            stacked[(2 * i + 1, *index)] -= h
        args = [self.student.Tensor(stacked) if j == k else t for j, t in enumerate(tensors)]
        values = np.asarray(op(self.student, *args).data)
        if values.shape[:1] != (2 * x.size,):
            raise RuntimeError(f"{what} cannot take a leading batch axis: pass batched=False")
        if values.shape[1:] != upstream.shape:
            raise compare.Mismatch(
                f"{what}: the forward computation gives shape {values.shape[1:]}, not {upstream.shape}"
            )
        f = (values * upstream).reshape(2 * x.size, -1).sum(axis=1)
        return ((f[0::2] - f[1::2]) / (2 * h)).reshape(x.shape)

    def _one_by_one(self, op: Op, tensors: list, inputs: list[np.ndarray], k: int, upstream: np.ndarray, what: str):
        """The same, one forward call per perturbed input."""

        def f(value: np.ndarray) -> float:
            args = [self.student.Tensor(value) if j == k else t for j, t in enumerate(tensors)]
            return float(np.sum(np.asarray(op(self.student, *args).data) * upstream))

        return gradcheck.numeric_gradient(f, inputs[k], tolerances.GRADCHECK_STEP)


def _charged_to(request) -> str:
    marker = request.node.get_closest_marker("grade")
    functions = marker.kwargs.get("functions", []) if marker else []
    return functions[0] if functions else ""


@pytest.fixture
def engine(student, request) -> Engine:
    return Engine(student, _charged_to(request))


@pytest.fixture
def op_check(student, request) -> OpCheck:
    return OpCheck(student, _charged_to(request))
