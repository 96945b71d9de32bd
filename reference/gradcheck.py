"""Check an implementation with the numeric gradient (CSE 587).

Following the definition of the derivative, with a small h:

    f'(x) ≈ (f(x + h) − f(x − h)) / 2h

The centred difference has error O(h²), against O(h) for the one-sided one.
The analytic gradient a and the numeric one n agree when the relative error

    |a − n| / max(1e-8, |a| + |n|)

is small: at most 1e-6 for smooth functions, 1e-4 near kinks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .tensor import Tensor

STEP = 1e-6
"""h in the centred difference (f(x + h) − f(x − h)) / 2h."""

RELATIVE_ERROR_FLOOR = 1e-8
"""The denominator floor of the relative error, so two zeros compare as equal."""

SMOOTH_TOLERANCE = 1e-6
"""Largest relative error of a smooth function's numeric gradient check."""

KINK_TOLERANCE = 1e-4
"""The same for functions with kinks (ReLU, max, hardtanh), checked away from them."""


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = STEP) -> np.ndarray:
    """∂f/∂x by centred differences, one entry at a time, for an array ``x`` of any shape.

    ``f`` maps an array shaped like ``x`` to a number. ``x`` itself is not
    modified: each entry is perturbed in a private copy and restored.
    """
    # BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = float(f(x))
        x[index] = original - h
        f_minus = float(f(x))
        x[index] = original
        gradient[index] = (f_plus - f_minus) / (2 * h)
    return gradient
    # END SOLUTION


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """|a − n| / max(1e-8, |a| + |n|), entry by entry (two zeros give 0, not 0/0)."""
    # BEGIN SOLUTION
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(analytic - numeric) / np.maximum(RELATIVE_ERROR_FLOOR, np.abs(analytic) + np.abs(numeric))
    # END SOLUTION


@dataclass
class GradientCheck:
    """The comparison of one input's analytic and numeric gradients."""

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    errors: np.ndarray
    tolerance: float

    @property
    def max_error(self) -> float:
        return float(self.errors.max()) if self.errors.size else 0.0

    @property
    def worst_index(self) -> tuple[int, ...]:
        return (
            tuple(int(i) for i in np.unravel_index(int(self.errors.argmax()), self.errors.shape))
            if self.errors.size
            else ()
        )

    @property
    def passed(self) -> bool:
        return bool(np.all(self.errors <= self.tolerance))

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "MISMATCH"
        if not self.errors.size:
            return f"{self.name}: empty, {verdict}"
        i = self.worst_index
        return (
            f"{self.name}: max relative error {self.max_error:.2e} (tolerance {self.tolerance:.0e}) at index {i}: "
            f"analytic {self.analytic[i]:.10g}, numeric {self.numeric[i]:.10g}, {verdict}"
        )


def weighted_output(f: Callable[..., Tensor], inputs: Sequence[np.ndarray], k: int, upstream: np.ndarray):
    """The scalar a gradient check differentiates: x ↦ Σ u ∘ f(inputs with x as input k).

    Its gradient with respect to x is what backpropagating the upstream
    gradient u through ``f`` gives input k.
    """
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    u = np.asarray(upstream, dtype=np.float64)

    def scalar(x: np.ndarray) -> float:
        args = [Tensor(x if j == k else arrays[j]) for j in range(len(arrays))]
        return float(np.sum(f(*args).data * u))

    return scalar


def check_gradients(
    f: Callable[..., Tensor],
    inputs: Sequence[np.ndarray],
    *,
    upstream: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    h: float = STEP,
    tolerance: float = SMOOTH_TOLERANCE,
    names: Sequence[str] | None = None,
) -> list[GradientCheck]:
    """Compare backpropagation through ``f`` with the numeric gradient, for every input.

    ``f`` takes Tensors (one per entry of ``inputs``) and returns a Tensor of
    any shape. A non-scalar output is reduced with an upstream gradient u,
    random unless given (a random u catches bugs an all-ones u hides, such as
    a transposed gradient of a square matrix): the checked scalar is Σ u ∘ f.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    names = list(names) if names is not None else [f"input {k}" for k in range(len(arrays))]
    tensors = [Tensor(x, requires_grad=True) for x in arrays]
    output = f(*tensors)
    u = rng.standard_normal(output.shape) if upstream is None else np.asarray(upstream, dtype=np.float64)
    output.backward(u)

    reports = []
    for k, (x, tensor) in enumerate(zip(arrays, tensors)):
        numeric = numeric_gradient(weighted_output(f, arrays, k, u), x, h)
        analytic = tensor.grad if tensor.grad is not None else np.zeros_like(x)
        reports.append(GradientCheck(names[k], analytic, numeric, relative_error(analytic, numeric), tolerance))
    return reports


def deep_chain(x: Tensor, depth: int) -> Tensor:
    """``x`` negated ``depth`` times, −(−(⋯(−x)⋯)): a graph ``depth`` operations deep, built in one call.

    For checking a backward pass on a graph far deeper than Python's recursion
    limit (about 1,000 nested calls): backpropagating an upstream gradient u
    through it must give x the gradient (−1)^depth · u.
    """
    for _ in range(depth):
        x = -x
    return x
