"""A small reverse-mode autodiff engine over numpy arrays.

A :class:`Tensor` wraps a float64 array. Every operation on Tensors records
its inputs (the *parents* of the result in the computation graph) and a
closure ``_backward(upstream)`` that applies the chain rule for that one
operation, given the upstream gradient ∂L/∂(result):

    downstream gradient = upstream gradient x local gradient

Each closure *adds* into its parents' ``.grad`` so that a node used several
times receives the sum of the gradients of all its uses (the lecture's
"multiple outputs" rule, ∂z/∂x = Σ_i ∂z/∂y_i · ∂y_i/∂x).
:meth:`Tensor.backward` seeds the output with 1 and visits the graph in
reverse topological order.

As in PyTorch, only *leaves* (tensors you created with ``requires_grad=True``,
such as a layer's weights) keep their ``.grad`` after ``backward()``. An
intermediate node's gradient is needed only until the node has passed it on
to its parents; then it is released, so a backward pass holds the gradients
of a few nodes at a time instead of one per node of the graph. Call
:meth:`Tensor.retain_grad` on an intermediate node before ``backward()`` to
read its gradient afterwards (∂L/∂s3 in the CS 4248 worked example).

Broadcasting follows numpy. An operand that was broadcast receives its
gradient summed back to its own shape (:func:`unbroadcast`), so that every
gradient has the shape of the thing it is the gradient of.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, operations build no graph (evaluation, parameter updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast.

    numpy broadcasting prepends axes and stretches axes of length 1; the
    gradient of a stretched operand is the sum over the stretched axis.
    ``shape`` may also be given as a list.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    # BEGIN SOLUTION
    leading = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(leading))) if leading > 0 else grad
    stretched = tuple(axis for axis, n in enumerate(shape) if n == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)
    # END SOLUTION


def as_tensor(value: Tensor | np.ndarray | float | Sequence) -> Tensor:
    """``value`` itself if it is a Tensor, else a constant Tensor holding it."""
    return value if isinstance(value, Tensor) else Tensor(value)


class Tensor:
    """A float64 array that remembers how it was computed.

    Attributes:
        data: the value, a float64 numpy array.
        grad: ∂(output)/∂(this tensor) after :meth:`backward`, an array of the
            same shape as ``data``, or None before any gradient reached it.
            Kept only by leaves and by nodes that called :meth:`retain_grad`.
        requires_grad: whether gradients flow to this tensor.
    """

    __array_priority__ = 100  # numpy array (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False):
        self.data = np.array(data, dtype=np.float64)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable[[np.ndarray], None] | None = None
        self._op = ""
        self._retains_grad = False

    @classmethod
    def from_op(
        cls, data: np.ndarray, parents: tuple[Tensor, ...], op: str, backward: Callable[[np.ndarray], None]
    ) -> Tensor:
        """The output of an operation: no copy of ``data``; a graph node if any parent needs gradients.

        ``backward(upstream)`` is the operation's chain rule: given ∂L/∂(output),
        it adds each parent's share into that parent's ``.grad``. ``upstream``
        belongs to that one call (:meth:`backward` has already released the
        output's ``.grad``, or hands over a copy of a retained one), so the
        closure may give it, or a view of it, to *one* parent as
        ``accumulate_grad(..., fresh=True)``. It refers to
        the parents, never to the output, so no node is in a reference cycle
        and a graph is freed as soon as its output is dropped. A result that
        needs no gradient keeps neither parents nor ``backward``: no graph.
        """
        out = cls.__new__(cls)
        out.data = np.asarray(data, dtype=np.float64)
        out.grad = None
        out.requires_grad = _grad_enabled and any(p.requires_grad for p in parents)
        out._parents = parents if out.requires_grad else ()
        out._backward = backward if out.requires_grad else None
        out._op = op
        out._retains_grad = False
        return out

    def accumulate_grad(self, grad: np.ndarray, fresh: bool = False) -> None:
        """Add one use's contribution to ``.grad``.

        ``.grad`` never aliases an array that the caller or another node holds.
        ``fresh=True`` says ``grad`` is referenced nowhere else: computed just
        now for this call (``upstream * b``), or the ``upstream`` a backward
        closure was handed (or a view of it), given to this parent only. Then
        it becomes ``.grad`` without a copy; anything else (a caller's array,
        an ``upstream`` that a second parent also receives) is copied. Later
        contributions are added out of place, so a ``.grad`` someone kept from
        an earlier pass never changes.
        """
        grad = unbroadcast(np.asarray(grad, dtype=np.float64), self.data.shape)
        # BEGIN SOLUTION
        if self.grad is not None:
            self.grad = self.grad + grad
        else:
            self.grad = grad if fresh else grad.copy()
        # END SOLUTION

    # ----- array-like conveniences -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data.copy()

    @property
    def is_leaf(self) -> bool:
        """True for a tensor that no operation (recorded in a graph) produced: its ``.grad`` is kept."""
        return not self._parents

    def retain_grad(self) -> None:
        """Keep this intermediate node's gradient, e.g. ∂L/∂s3 in the CS 4248 example.

        By default :meth:`backward` releases an intermediate node's ``.grad``
        once the node has passed it on to its parents. Call this before
        ``backward()`` to read ``.grad`` afterwards: it then holds the gradient
        of the latest backward pass (intermediate nodes start each pass from
        zero; only leaves accumulate). Leaves keep their gradient anyway.
        """
        self._retains_grad = True

    def detach(self) -> Tensor:
        """The same value, cut from the graph."""
        return Tensor(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4)}{grad})"

    # ----- arithmetic: forward, and right beside it the local derivative ------------
    def __add__(self, other) -> Tensor:
        other = as_tensor(other)

        def _backward(upstream):  # ∂(a+b)/∂a = ∂(a+b)/∂b = 1: + distributes the upstream gradient
            # BEGIN SOLUTION
            if self.requires_grad:
                self.accumulate_grad(upstream, fresh=True)  # upstream is this call's own: a may keep it
            if other.requires_grad:
                other.accumulate_grad(upstream)  # a copy, since a may hold upstream itself
            # END SOLUTION

        return Tensor.from_op(self.data + other.data, (self, other), "+", _backward)

    def __mul__(self, other) -> Tensor:
        other = as_tensor(other)

        def _backward(upstream):  # ∂(ab)/∂a = b, ∂(ab)/∂b = a: * switches the operands
            # BEGIN SOLUTION
            if self.requires_grad:
                self.accumulate_grad(upstream * other.data, fresh=True)
            if other.requires_grad:
                other.accumulate_grad(upstream * self.data, fresh=True)
            # END SOLUTION

        return Tensor.from_op(self.data * other.data, (self, other), "*", _backward)

    def __truediv__(self, other) -> Tensor:
        other = as_tensor(other)

        def _backward(upstream):  # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
            # BEGIN SOLUTION
            if self.requires_grad:
                self.accumulate_grad(upstream / other.data, fresh=True)
            if other.requires_grad:
                other.accumulate_grad(-upstream * self.data / other.data**2, fresh=True)
            # END SOLUTION

        return Tensor.from_op(self.data / other.data, (self, other), "/", _backward)

    def __neg__(self) -> Tensor:

        def _backward(upstream):
            self.accumulate_grad(-upstream, fresh=True)

        return Tensor.from_op(-self.data, (self,), "neg", _backward)

    def __sub__(self, other) -> Tensor:
        other = as_tensor(other)

        def _backward(upstream):  # ∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1
            # BEGIN SOLUTION
            if self.requires_grad:
                self.accumulate_grad(upstream, fresh=True)  # upstream is this call's own
            if other.requires_grad:
                other.accumulate_grad(-upstream, fresh=True)
            # END SOLUTION

        return Tensor.from_op(self.data - other.data, (self, other), "-", _backward)

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor) or not np.isscalar(exponent):
            raise TypeError("Tensor ** p takes a plain number p; for a Tensor exponent use (p * x.log()).exp()")

        def _backward(upstream):  # d(x^p)/dx = p·x^(p−1)
            # BEGIN SOLUTION
            self.accumulate_grad(upstream * exponent * self.data ** (exponent - 1), fresh=True)
            # END SOLUTION

        return Tensor.from_op(self.data**exponent, (self,), f"**{exponent}", _backward)

    def __matmul__(self, other) -> Tensor:
        other = as_tensor(other)

        def _backward(upstream):  # Z = AB: ∂L/∂A = ∂L/∂Z Bᵀ, ∂L/∂B = Aᵀ ∂L/∂Z
            # BEGIN SOLUTION
            a, b, g = self.data, other.data, upstream
            # A 1-D operand is a row (left) or a column (right) vector, as in numpy.
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            # Give ∂L/∂Z back the axes numpy dropped. The column's axis goes first: for
            # 1-D @ 1-D, Z is 0-d and only after it is there a second-to-last axis to restore.
            g2 = g
            if b.ndim == 1:
                g2 = np.expand_dims(g2, -1)
            if a.ndim == 1:
                g2 = np.expand_dims(g2, -2)
            if self.requires_grad:
                grad_a = g2 @ np.swapaxes(b2, -1, -2)
                self.accumulate_grad(grad_a.reshape(grad_a.shape[:-2] + (-1,)) if a.ndim == 1 else grad_a, fresh=True)
            if other.requires_grad:
                grad_b = np.swapaxes(a2, -1, -2) @ g2
                other.accumulate_grad(grad_b[..., 0] if b.ndim == 1 else grad_b, fresh=True)
            # END SOLUTION

        return Tensor.from_op(self.data @ other.data, (self, other), "@", _backward)

    def __radd__(self, other) -> Tensor:
        return as_tensor(other) + self

    def __rsub__(self, other) -> Tensor:
        return as_tensor(other) - self

    def __rmul__(self, other) -> Tensor:
        return as_tensor(other) * self

    def __rtruediv__(self, other) -> Tensor:
        return as_tensor(other) / self

    def __rmatmul__(self, other) -> Tensor:
        return as_tensor(other) @ self

    # ----- reductions and shape ---------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:

        def _backward(upstream):  # each summand gets the upstream gradient of the sum it went into
            # BEGIN SOLUTION
            g = upstream
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self.accumulate_grad(np.broadcast_to(g, self.data.shape))
            # END SOLUTION

        return Tensor.from_op(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum", _backward)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The sum divided by the number n of entries it adds up."""
        count = self.data.size if axis is None else int(np.prod([self.data.shape[a] for a in np.atleast_1d(axis)]))

        def _backward(upstream):  # each of the n entries averaged gets the upstream gradient divided by n
            # BEGIN SOLUTION
            g = upstream
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            self.accumulate_grad(np.broadcast_to(g / count, self.data.shape))
            # END SOLUTION

        return Tensor.from_op(self.data.mean(axis=axis, keepdims=keepdims), (self,), "mean", _backward)

    def reshape(self, *shape) -> Tensor:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape

        def _backward(upstream):  # the same numbers in the input's shape; upstream is this call's own
            self.accumulate_grad(upstream.reshape(self.data.shape), fresh=True)

        return Tensor.from_op(self.data.reshape(shape), (self,), "reshape", _backward)

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed, as numpy's ``.T``)."""

        def _backward(upstream):  # (Xᵀ)ᵀ = X; upstream is this call's own, so its transposed view needs no copy
            self.accumulate_grad(upstream.T, fresh=True)

        return Tensor.from_op(self.data.T, (self,), "T", _backward)

    # ----- elementwise functions --------------------------------------------------
    def exp(self) -> Tensor:
        value = np.exp(self.data)

        def _backward(upstream):  # d(eˣ)/dx = eˣ
            # BEGIN SOLUTION
            self.accumulate_grad(upstream * value, fresh=True)
            # END SOLUTION

        return Tensor.from_op(value, (self,), "exp", _backward)

    def log(self) -> Tensor:

        def _backward(upstream):  # d(ln x)/dx = 1/x
            # BEGIN SOLUTION
            self.accumulate_grad(upstream / self.data, fresh=True)
            # END SOLUTION

        return Tensor.from_op(np.log(self.data), (self,), "log", _backward)

    def sigmoid(self) -> Tensor:
        """σ(z) = 1 / (1 + e^(−z)), computed without overflow for large |z|."""
        z = self.data
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

        def _backward(upstream):  # σ'(z) = σ(z)(1 − σ(z)): σ(z) is the output, so reuse it
            # BEGIN SOLUTION
            self.accumulate_grad(upstream * s * (1.0 - s), fresh=True)
            # END SOLUTION

        return Tensor.from_op(s, (self,), "sigmoid", _backward)

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)

        def _backward(upstream):  # tanh'(z) = 1 − tanh²(z)
            # BEGIN SOLUTION
            self.accumulate_grad(upstream * (1.0 - t**2), fresh=True)
            # END SOLUTION

        return Tensor.from_op(t, (self,), "tanh", _backward)

    def relu(self) -> Tensor:
        """max{0, z}; convention: ReLU'(0) = 0."""

        def _backward(upstream):
            # BEGIN SOLUTION
            self.accumulate_grad(upstream * (self.data > 0), fresh=True)
            # END SOLUTION

        return Tensor.from_op(np.maximum(self.data, 0.0), (self,), "relu", _backward)

    # ----- backpropagation --------------------------------------------------------
    def topological_order(self) -> list[Tensor]:
        """Every node that needs a gradient, each after all of its parents.

        An explicit stack instead of recursion, so a chain of any length fits.
        """
        # BEGIN SOLUTION
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in visited)
        return order
        # END SOLUTION

    def backward(self, gradient: np.ndarray | float | None = None) -> None:
        """Backpropagate from this tensor: fill ``.grad`` of every tensor it depends on.

        The output is seeded with ∂out/∂out = 1 (or with ``gradient``, the
        upstream gradient, for a non-scalar output), then each node, in
        reverse topological order, passes its gradient on to its parents.
        Leaves accumulate: a second ``backward`` adds to their ``.grad``
        until it is zeroed. An intermediate node's ``.grad`` is released as
        soon as the node has passed it on (no one reads it, and it would
        double the memory of the pass) unless :meth:`retain_grad` asked to
        keep it; a retained one holds this pass's gradient only.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require gradients: no input of this "
                "computation was created with requires_grad=True (or it ran under no_grad())"
            )
        # BEGIN SOLUTION
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient argument needs a scalar output, but this tensor has "
                    f"shape {self.data.shape}; reduce it first (for example .sum()) or pass "
                    f"backward(gradient=...) with an array of shape {self.data.shape}"
                )
            gradient = np.ones_like(self.data)
        gradient = np.asarray(gradient, dtype=np.float64)
        if gradient.shape != self.data.shape:
            raise ValueError(f"backward(gradient=...) needs shape {self.data.shape}, got {gradient.shape}")
        order = self.topological_order()
        for node in order:
            if node._parents:
                node.grad = None
        self.accumulate_grad(gradient)  # a copy: the caller keeps its own array
        for node in reversed(order):
            if node._backward is None or node.grad is None:
                continue
            if node._retains_grad:
                upstream = node.grad.copy()  # the node keeps its array; its parents may take this one
            else:
                upstream, node.grad = node.grad, None  # released: from here on only the parents hold it
            node._backward(upstream)
        # END SOLUTION
