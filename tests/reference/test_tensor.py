"""The Tensor engine (hw2_autodiff): every operation's gradient, the graph rules, the error messages.

Gradients are checked against centred differences with a random upstream
gradient (a ones upstream hides transposed or mis-broadcast gradients), on
random inputs kept away from kinks and poles.
"""

from __future__ import annotations

import gc
import sys
import weakref
import zlib

import numpy as np
import pytest
from gradient_asserts import assert_gradients_pass

from grader.grading import tolerances
from reference import Tensor, no_grad
from reference import functional as F
from reference.gradcheck import check_gradients
from reference.tensor import unbroadcast


def normal(*shape):
    """Inputs anywhere on the real line."""
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    """Inputs in [0.5, 2]: the domain of log and of non-integer powers, away from 0."""
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Inputs with 0.5 ≤ |x| ≤ 2 of either sign: denominators, and ReLU away from its kink."""
    return lambda rng: rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


OPERATIONS = {
    "add (3,4)+(4,)": (lambda a, b: a + b, [normal(3, 4), normal(4)]),
    "add (3,4)+(3,1)": (lambda a, b: a + b, [normal(3, 4), normal(3, 1)]),
    "add scalar+tensor": (lambda a: 2.5 + a, [normal(3, 4)]),
    "sub (3,1)-(1,4)": (lambda a, b: a - b, [normal(3, 1), normal(1, 4)]),
    "sub scalar-tensor": (lambda a: 1.5 - a, [normal(3, 4)]),
    "mul (3,1)*(1,4)": (lambda a, b: a * b, [normal(3, 1), normal(1, 4)]),
    "mul (2,3,4)*(4,)": (lambda a, b: a * b, [normal(2, 3, 4), normal(4)]),
    "mul tensor*array": (lambda a: a * np.arange(1.0, 5.0), [normal(3, 4)]),
    "div (2,3,4)/(3,1)": (lambda a, b: a / b, [normal(2, 3, 4), away_from_zero(3, 1)]),
    "div (3,4)/(4,)": (lambda a, b: a / b, [normal(3, 4), away_from_zero(4)]),
    "div scalar/tensor": (lambda a: 2.0 / a, [away_from_zero(3, 4)]),
    "neg": (lambda a: -a, [normal(3, 4)]),
    "pow 2": (lambda a: a**2, [away_from_zero(3, 4)]),  # a gradient near 0 is below the checker's resolution
    "pow 3": (lambda a: a**3, [away_from_zero(3, 4)]),
    "pow 0.5": (lambda a: a**0.5, [positive(3, 4)]),
    "pow -1.5": (lambda a: a**-1.5, [positive(3, 4)]),
    "sum all": (lambda a: a.sum(), [normal(2, 3, 4)]),
    "sum axis 0": (lambda a: a.sum(axis=0), [normal(2, 3, 4)]),
    "sum axis -1": (lambda a: a.sum(axis=-1), [normal(2, 3, 4)]),
    "sum axis (0,2)": (lambda a: a.sum(axis=(0, 2)), [normal(2, 3, 4)]),
    "sum all keepdims": (lambda a: a.sum(keepdims=True), [normal(2, 3, 4)]),
    "sum axis 1 keepdims": (lambda a: a.sum(axis=1, keepdims=True), [normal(2, 3, 4)]),
    "sum axis (0,-1) keepdims": (lambda a: a.sum(axis=(0, -1), keepdims=True), [normal(2, 3, 4)]),
    "mean all": (lambda a: a.mean(), [normal(2, 3, 4)]),
    "mean axis 1": (lambda a: a.mean(axis=1), [normal(2, 3, 4)]),
    "mean axis -1 keepdims": (lambda a: a.mean(axis=-1, keepdims=True), [normal(2, 3, 4)]),
    "mean axis (0,2)": (lambda a: a.mean(axis=(0, 2)), [normal(2, 3, 4)]),
    "mean axis (1,2) keepdims": (lambda a: a.mean(axis=(1, 2), keepdims=True), [normal(2, 3, 4)]),
    "reshape (2,3,4)->(6,4)": (lambda a: a.reshape(6, 4), [normal(2, 3, 4)]),
    "reshape tuple (4,6)": (lambda a: a.reshape((4, 6)), [normal(2, 3, 4)]),
    "reshape -1": (lambda a: a.reshape(-1), [normal(2, 3, 4)]),
    "T 2-D": (lambda a: a.T, [normal(3, 4)]),
    "T 3-D": (lambda a: a.T, [normal(2, 3, 4)]),
    "exp": (lambda a: a.exp(), [normal(3, 4)]),
    "log": (lambda a: a.log(), [positive(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [normal(3, 4)]),
    "tanh": (lambda a: a.tanh(), [normal(3, 4)]),
    "relu": (lambda a: a.relu(), [away_from_zero(3, 4)]),
    "matmul 2-D@2-D": (lambda a, b: a @ b, [normal(3, 4), normal(4, 5)]),
    "matmul 1-D@2-D": (lambda a, b: a @ b, [normal(4), normal(4, 5)]),
    "matmul 2-D@1-D": (lambda a, b: a @ b, [normal(3, 4), normal(4)]),
    "matmul 1-D@1-D": (lambda a, b: a @ b, [normal(4), normal(4)]),
    "matmul 3-D@2-D batched": (lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 5)]),
    "matmul 3-D@3-D batched": (lambda a, b: a @ b, [normal(2, 3, 4), normal(2, 4, 5)]),
    "matmul array@tensor": (lambda b: np.arange(12.0).reshape(3, 4) @ b, [normal(4, 5)]),
    "composite": (lambda a, b: ((a @ b).tanh() * 2.0 - 1.0).sum(axis=0) / 3.0, [normal(3, 4), normal(4, 5)]),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_gradient_matches_numeric_gradient(name):
    f, makers = OPERATIONS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # a seed per case, stable across runs
    inputs = [make(rng) for make in makers]
    tolerance = tolerances.GRADCHECK_KINK if name == "relu" else tolerances.GRADCHECK_SMOOTH
    assert_gradients_pass(check_gradients(f, inputs, rng=rng, tolerance=tolerance))


@pytest.mark.parametrize("name", ["add (3,4)+(4,)", "mul (3,1)*(1,4)", "div (2,3,4)/(3,1)", "matmul 3-D@2-D batched"])
def test_operation_forward_equals_numpy(name):
    f, makers = OPERATIONS[name]
    rng = np.random.default_rng(1)
    inputs = [make(rng) for make in makers]
    expected = f(*inputs)  # the same expression on plain arrays is numpy's own answer
    got = f(*[Tensor(x) for x in inputs])
    np.testing.assert_allclose(got.data, expected, rtol=tolerances.FORWARD_RTOL, atol=tolerances.FORWARD_ATOL)


BROADCAST_SHAPES = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((2, 3, 4), ()), ((1, 4), (3, 1, 1))]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_broadcast_operand_gradient_has_operand_shape(op, shapes):
    rng = np.random.default_rng(2)
    a = Tensor(rng.uniform(0.5, 2.0, shapes[0]), requires_grad=True)
    b = Tensor(rng.uniform(0.5, 2.0, shapes[1]), requires_grad=True)
    out = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
    out.sum().backward()
    assert a.grad.shape == a.shape
    assert b.grad.shape == b.shape


def test_broadcast_operand_gradient_is_summed_over_stretched_axes():
    a = Tensor(np.zeros((3, 4)), requires_grad=True)
    b = Tensor(np.zeros((4,)), requires_grad=True)
    (a + b).sum().backward()
    np.testing.assert_array_equal(b.grad, np.full(4, 3.0))  # each b_j was added to 3 rows


def test_reduction_gradient_has_input_shape():
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    x.mean(axis=(0, 2)).sum().backward()
    assert x.grad.shape == (2, 3, 4)
    np.testing.assert_allclose(x.grad, np.full((2, 3, 4), 1 / 8), rtol=tolerances.FORWARD_RTOL)


def test_diamond_graph_sums_gradients_of_both_branches():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    left = x * 2.0
    right = x + 3.0
    (left * right).sum().backward()  # d/dx 2x(x+3) = 4x + 6
    np.testing.assert_allclose(x.grad, 4 * x.data + 6, rtol=tolerances.FORWARD_RTOL)


def test_square_by_self_multiplication_gives_two_x():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=tolerances.FORWARD_RTOL)


def test_node_used_several_times_receives_every_use():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    (y * y + y + y).sum().backward()  # d/dx (9x² + 6x) = 18x + 6
    np.testing.assert_allclose(x.grad, 18 * x.data + 6, rtol=tolerances.FORWARD_RTOL)


def test_leaf_gradients_accumulate_across_backward_calls():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_second_backward_through_same_graph_does_not_double_count_intermediates():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    loss = (y * y).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(y.grad, 2 * y.data, rtol=tolerances.FORWARD_RTOL)  # one pass's worth
    np.testing.assert_allclose(x.grad, 2 * (8 * x.data), rtol=tolerances.FORWARD_RTOL)  # two passes' worth


def test_setting_grad_to_none_resets_accumulation():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 2.0).sum().backward()
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_grad_does_not_alias_the_gradient_argument():
    x = Tensor(np.zeros(3), requires_grad=True)
    upstream = np.array([1.0, 2.0, 3.0])
    (x * 1.0).backward(upstream)
    upstream[0] = 100.0
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_operands_of_one_node_get_separate_grad_arrays():
    a = Tensor(np.zeros(3), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    (a + b).sum().backward()
    a.grad[0] = 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])


def test_grad_read_after_first_backward_is_not_changed_by_second():
    x = Tensor(np.ones(3), requires_grad=True)
    (x * 2.0).sum().backward()
    first = x.grad
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(first, [2.0, 2.0, 2.0])


def test_no_grad_results_do_not_require_grad():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2.0).exp().sum()
    assert y.requires_grad is False


def test_no_grad_results_have_no_graph_to_backpropagate():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2.0).sum()
    with pytest.raises(RuntimeError):
        y.backward()
    assert x.grad is None


def test_no_grad_restores_gradient_tracking_on_exit():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        pass
    assert (x * 2.0).requires_grad is True


def test_no_grad_restores_gradient_tracking_after_an_exception():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert (x * 2.0).requires_grad is True


def test_nested_no_grad_stays_off_until_the_outer_block_ends():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        with no_grad():
            pass
        assert (x * 2.0).requires_grad is False
    assert (x * 2.0).requires_grad is True


def test_graph_is_freed_when_its_output_is_dropped_without_cycle_collector():
    x = Tensor(np.ones(3), requires_grad=True)
    hidden = (x * 2.0).exp()
    loss = (hidden * hidden).sum()
    loss.backward()
    hidden_ref = weakref.ref(hidden)
    gc.disable()  # reference counting alone must free it: no node may sit in a reference cycle
    try:
        del hidden, loss
        assert hidden_ref() is None
    finally:
        gc.enable()


def test_no_grad_result_keeps_no_reference_to_its_inputs():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        hidden = x * 2.0
        y = hidden.exp()
    hidden_ref = weakref.ref(hidden)
    gc.disable()
    try:
        del hidden
        assert hidden_ref() is None  # y holds no graph back to hidden
    finally:
        gc.enable()
    assert y.requires_grad is False


def test_chain_of_twenty_thousand_operations_backpropagates_without_recursion_error():
    assert sys.getrecursionlimit() < 20_000  # so a recursive traversal would fail here
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0


def test_backward_on_non_scalar_without_gradient_names_shape_and_remedies():
    y = Tensor(np.ones((3, 4)), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError) as error:
        y.backward()
    message = str(error.value)
    assert "(3, 4)" in message
    assert ".sum()" in message
    assert "gradient=" in message


def test_backward_on_tensor_not_requiring_grad_raises_runtime_error():
    y = Tensor(np.ones(3)).sum()
    with pytest.raises(RuntimeError, match="requires_grad"):
        y.backward()


def test_backward_with_gradient_of_wrong_shape_names_both_shapes():
    y = Tensor(np.ones((3, 4)), requires_grad=True) * 2.0
    with pytest.raises(ValueError) as error:
        y.backward(np.ones((4, 3)))
    assert "(3, 4)" in str(error.value) and "(4, 3)" in str(error.value)


def test_power_with_tensor_exponent_raises_type_error():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="plain number"):
        x ** Tensor(2.0)


def test_cse587_example_forward_value():
    x, y, z = (Tensor(v, requires_grad=True) for v in (1.0, 2.0, 0.0))
    f = (x + y) * F.maximum(y, z)
    assert f.item() == 6.0  # exact: small integers


def test_cse587_example_input_gradients():
    x, y, z = (Tensor(v, requires_grad=True) for v in (1.0, 2.0, 0.0))
    f = (x + y) * F.maximum(y, z)
    f.backward()
    assert (x.grad, y.grad, z.grad) == (2.0, 5.0, 0.0)  # ∂f/∂y = 3 + 2 sums y's two uses


def test_cse587_example_intermediate_gradients():
    x, y, z = (Tensor(v, requires_grad=True) for v in (1.0, 2.0, 0.0))
    a = x + y
    b = F.maximum(y, z)
    a.retain_grad()
    b.retain_grad()
    (a * b).backward()
    assert (a.grad, b.grad) == (2.0, 3.0)  # ∂f/∂a = b, ∂f/∂b = a: * switches


# ----- which gradients backward() keeps: leaves, and intermediates that retain_grad() -----


def test_intermediate_grad_is_released_after_backward_by_default():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    z = y.exp()
    loss = z.sum()
    loss.backward()
    assert (y.grad, z.grad, loss.grad) == (None, None, None)
    np.testing.assert_allclose(x.grad, 3.0 * np.exp(3.0 * x.data), rtol=tolerances.FORWARD_RTOL)


def test_retain_grad_keeps_an_intermediate_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    z = y * y
    z.sum().backward()
    np.testing.assert_allclose(y.grad, 2 * y.data, rtol=tolerances.FORWARD_RTOL)
    assert z.grad is None  # only the node that asked keeps its gradient


def test_retain_grad_on_the_output_keeps_the_seed():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.retain_grad()
    loss.backward()
    assert loss.grad == 1.0


def test_leaf_is_leaf_and_intermediate_is_not():
    x = Tensor(np.ones(2), requires_grad=True)
    assert x.is_leaf and not (x * 2.0).is_leaf


def test_leaves_still_accumulate_while_intermediates_are_released():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2.0
    loss = (y * y).sum()  # d/dx 4x² = 8x
    loss.backward()
    loss.backward()
    assert y.grad is None
    np.testing.assert_allclose(x.grad, 2 * (8 * x.data), rtol=tolerances.FORWARD_RTOL)


def test_diamond_graph_with_released_intermediates_sums_both_branches():
    # x feeds two branches that meet again; both branch nodes pass through + and reshape,
    # the ops that hand the upstream gradient on without a copy.
    x = Tensor(np.array([[0.5, -1.0], [2.0, 3.0]]), requires_grad=True)
    left = (x + 1.0).reshape(4)
    right = (x * x).T.reshape(4)
    (left * right).sum().backward()  # ∂/∂x_ij of Σ (x_ij + 1) x_ji²
    X = x.data
    expected = X.T**2 + 2 * X * (X.T + 1.0)
    np.testing.assert_allclose(x.grad, expected, rtol=tolerances.FORWARD_RTOL)
    assert left.grad is None and right.grad is None


def test_leaf_grad_does_not_alias_a_retained_intermediate_grad():
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    y = x.T  # a pass-through: without the copy x.grad would be a view of y.grad
    y.retain_grad()
    (y * 1.0).sum().backward()
    y.grad[0, 0] = 100.0
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


@pytest.mark.parametrize("op", ["+", "-", "reshape", "T"])
def test_leaf_grad_through_pass_through_op_does_not_alias_the_gradient_argument(op):
    x = Tensor(np.zeros((2, 2)), requires_grad=True)
    out = {"+": lambda: x + 0.0, "-": lambda: x - 0.0, "reshape": lambda: x.reshape(2, 2), "T": lambda: x.T}[op]()
    upstream = np.array([[1.0, 2.0], [3.0, 4.0]])
    out.backward(upstream)
    upstream[0, 0] = 100.0
    assert x.grad[0, 0] != 100.0 and x.grad[1, 1] == 4.0


def test_operands_of_one_add_get_separate_grad_arrays_through_a_chain():
    a = Tensor(np.zeros(3), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    ((a + b) * 2.0).sum().backward()  # the + node's upstream is its own: a may keep it, b must not share it
    a.grad[0] = 100.0
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])


def test_same_tensor_on_both_sides_of_add_gets_twice_the_upstream():
    x = Tensor(np.ones(3), requires_grad=True)
    ((x + x) * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0, 6.0])


def test_tensor_stores_float64():
    assert Tensor([1, 2, 3]).data.dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32)).data.dtype == np.float64


def test_tensor_copies_its_input_array():
    source = np.array([1.0, 2.0, 3.0])
    t = Tensor(source)
    source[0] = 100.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_leaf_grad_is_none_before_backward():
    assert Tensor(np.ones(3), requires_grad=True).grad is None


def test_unbroadcast_takes_the_shape_as_a_list_too():  # as a test sends it through the sandbox, which has no tuples
    grad = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(unbroadcast(grad, [1, 4]), unbroadcast(grad, (1, 4)))
    assert unbroadcast(grad, [3, 4]) is grad
