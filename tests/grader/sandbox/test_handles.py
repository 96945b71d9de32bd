"""Objects behind handles: a student's engine driven from the grader, only plain data and ids crossing."""

import gc
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from grader.grading.submission import read_submission
from grader.homework.manifest import Limits
from grader.sandbox import Handle, OperationFailed, Sandbox, Status, TestMistake, value_of
from grader.sandbox import client as sandbox_module
from grader.sandbox.handles import ModuleFunction, identity, type_of

LIMITS = Limits(call_seconds=3, load_seconds=5, cpu_seconds=30, memory_mb=1024, output_kb=16, processes=32)

ENGINE = textwrap.dedent("""
    import os
    import numpy as np

    class Tensor:
        def __init__(self, data, requires_grad=False):
            self.data = np.array(data, dtype=np.float64)
            self.grad = None
            self.requires_grad = requires_grad
            self._parents, self._backward = (), None

        @property
        def shape(self):
            return self.data.shape

        def item(self):
            return self.data.item()

        def _out(self, data, parents, backward):
            out = Tensor(data, requires_grad=any(p.requires_grad for p in parents))
            out._parents, out._backward = parents, backward
            return out

        def _add_grad(self, g):
            self.grad = g if self.grad is None else self.grad + g

        def __add__(self, other):
            other = other if isinstance(other, Tensor) else Tensor(other)
            def backward(g):
                self._add_grad(g)
                other._add_grad(g)
            return self._out(self.data + other.data, (self, other), backward)

        __radd__ = __add__

        def __mul__(self, other):
            other = other if isinstance(other, Tensor) else Tensor(other)
            def backward(g):
                self._add_grad(g * other.data)
                other._add_grad(g * self.data)
            return self._out(self.data * other.data, (self, other), backward)

        __rmul__ = __mul__

        def __matmul__(self, other):
            def backward(g):
                self._add_grad(g @ other.data.T)
                other._add_grad(self.data.T @ g)
            return self._out(self.data @ other.data, (self, other), backward)

        def sum(self):
            def backward(g):
                self._add_grad(np.broadcast_to(g, self.data.shape).copy())
            return self._out(self.data.sum(), (self,), backward)

        def __eq__(self, other):
            return True  # an always-equal object: it must never decide anything in the grader

        __hash__ = object.__hash__

        def backward(self):
            order, seen = [], set()
            def visit(node):
                if id(node) not in seen:
                    seen.add(id(node))
                    for p in node._parents:
                        visit(p)
                    order.append(node)
            visit(self)
            self.grad = np.ones_like(self.data)
            for node in reversed(order):
                if node._backward is not None:
                    node._backward(node.grad)

    def relu(x):
        def backward(g):
            x._add_grad(g * (x.data > 0))
        return x._out(np.maximum(x.data, 0.0), (x,), backward)

    def pair(x):
        return x, 3.0

    def apply(f, x):
        return f(x)

    def many(n):
        return [Tensor(i) for i in range(n)]

    def die():
        os._exit(7)

    def broken_method_owner():
        class Broken:
            def explode(self):
                raise ValueError("bad shape (2, 3)")
        return Broken()
""")


@pytest.fixture
def box(tmp_path):
    path = tmp_path / "engine.py"
    path.write_text(ENGINE)
    sandbox = Sandbox(read_submission(path), LIMITS, module_name="engine")
    assert not sandbox.start().fatal
    yield sandbox
    sandbox.close()


def make(box, data, requires_grad=False):
    return value_of(box.call("Tensor", data, requires_grad=requires_grad))


def test_a_constructor_gives_a_handle_and_plain_attributes_come_back_as_fresh_copies(box):
    x = make(box, [[1.0, -2.0]], requires_grad=True)
    assert isinstance(x, Handle) and type_of(x) == "Tensor"
    data = x.data
    assert type(data) is np.ndarray and data.tolist() == [[1.0, -2.0]]
    data[0, 0] = 99.0  # a copy the grader decoded: changing it changes nothing in the sandbox
    assert x.data[0, 0] == 1.0
    assert x.shape == [1, 2] and x.grad is None and x.requires_grad is True


def test_operators_methods_and_functions_on_handles_run_in_the_sandbox(box):
    x = make(box, [[1.0, -2.0]], requires_grad=True)
    w = make(box, [[0.5, 0.25]], requires_grad=True)
    W = make(box, [[1.0], [2.0]], requires_grad=True)
    z = x * w + 1.0  # a constant on the right, then on the left
    z = 2.0 * z
    loss = value_of(box.call("relu", z @ W)).sum()
    assert isinstance(loss, Handle)
    assert loss.item() == pytest.approx(2.0 * ((1.5 * 1.0) + 0.5 * 2.0))
    assert loss.backward() is None
    assert np.allclose(x.grad, [[2 * 0.5 * 1.0, 2 * 0.25 * 2.0]])
    assert np.allclose(W.grad, [[2 * 1.5], [2 * 0.5]])


def test_a_method_call_takes_one_round_trip(box, monkeypatch):
    x = make(box, [1.0, 2.0], requires_grad=True)
    y = x.sum()  # the first Tensor reply described the type's methods
    sent = []
    real = box._send
    monkeypatch.setattr(box, "_send", lambda message: sent.append(message["op"]) or real(message))
    y.backward()
    assert sent == ["method"]


def test_results_hold_handles_and_plain_data_side_by_side(box):
    x = make(box, [1.0])
    got = value_of(box.call("pair", x))
    assert isinstance(got[0], Handle) and got[1] == 3.0


def test_the_students_equality_never_decides_in_the_grader(box):
    x, y = make(box, [1.0]), make(box, [2.0])
    assert isinstance(x == y, bool) and (x == y) is True  # it ran in the sandbox; True is plain data
    with pytest.raises(TypeError, match="no truth value"):
        bool(x)
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(x)


def test_an_error_names_the_operation_and_a_missing_attribute_says_so(box):
    thing = value_of(box.call("broken_method_owner"))
    with pytest.raises(OperationFailed) as raised:
        thing.explode()
    assert (
        raised.value.status == Status.ERROR
        and "Broken.explode() raised ValueError: bad shape (2, 3)" in raised.value.message
    )
    x = make(box, [1.0])
    with pytest.raises(OperationFailed, match="Tensor.gradient does not exist"):
        _ = x.gradient
    with pytest.raises(OperationFailed, match=r"Tensor @ Tensor raised"):
        make(box, [1.0, 2.0]) @ make(box, [[1.0, 2.0]])


def test_a_closure_that_timed_out_does_not_stop_another_closure_from_running(tmp_path):
    """Closures are named by where they are defined: one operation's local gradient looping forever
    is not taken for every other operation's (they are all of type "function")."""
    path = tmp_path / "closures.py"
    path.write_text(
        "def looping():\n    def backward(g):\n        while True:\n            pass\n    return backward\n\n"
        "def doubling():\n    def backward(g):\n        return 2 * g\n    return backward\n"
    )
    quick = replace(LIMITS, call_seconds=0.5)
    with Sandbox(read_submission(path), quick, module_name="engine", remember_timeouts=True) as sandbox:
        looping = value_of(sandbox.call("looping"))
        assert type_of(looping) == "looping.<locals>.backward"
        with pytest.raises(OperationFailed, match=r"looping.<locals>.backward\(...\) did not return") as raised:
            looping(1.0)
        assert raised.value.status == Status.TIMEOUT
        sandbox.reset()
        assert value_of(sandbox.call("doubling"))(1.0) == 2.0


def test_a_handle_from_an_earlier_test_is_the_tests_mistake(box):
    x = make(box, [1.0])
    box.reset()  # the harness does this before every test
    with pytest.raises(TestMistake, match="from an earlier test"):
        x.sum()


def test_a_handle_from_another_sandbox_is_the_tests_mistake(box, tmp_path):
    path = tmp_path / "other.py"
    path.write_text(ENGINE)
    with Sandbox(read_submission(path), LIMITS, module_name="engine") as other:
        y = make(other, [1.0])
        with pytest.raises(TestMistake, match="another submission's sandbox"):
            box.call("relu", y)


def test_an_argument_that_is_not_plain_data_is_the_tests_mistake(box):
    with pytest.raises(TestMistake, match="relu: only plain data and handles can be sent"):
        box.call("relu", object())


def test_after_the_submission_crashed_its_objects_are_gone_and_that_is_its_own_doing(box):
    x = make(box, [1.0])
    assert box.call("die").status == Status.CRASH
    with pytest.raises(OperationFailed) as raised:
        x.sum()
    assert raised.value.status == Status.CRASH and "is gone" in raised.value.message
    assert make(box, [2.0]).item() == 2.0  # the fresh fork serves the rest of the test


def test_dropped_handles_are_freed_so_a_long_chain_stays_within_the_limit(box, monkeypatch):
    monkeypatch.setattr(sandbox_module, "MAX_HANDLES", 50)
    box.close()
    assert not box.start().fatal  # the child learns the limit when it starts
    y = make(box, [1.0], requires_grad=True)
    for _ in range(200):  # 200 intermediate results, each dropped by the next line
        y = y * 1.0
        gc.collect()
    assert y.item() == 1.0


def test_too_many_live_handles_say_whose_mistake_it_is(box, monkeypatch):
    monkeypatch.setattr(sandbox_module, "MAX_HANDLES", 50)
    box.close()
    assert not box.start().fatal
    kept = [make(box, [float(i)]) for i in range(50)]
    with pytest.raises(TestMistake, match="the test keeps 50 objects .* drop the handles"):
        make(box, [0.0])
    result = box.call("many", 60)  # one reply holding more than the limit: the submission's doing
    assert result.status == Status.ERROR and "returned 60 objects" in result.message
    assert len(kept) == 50


def test_the_same_object_comes_back_under_the_same_handle(box):
    x = make(box, [1.0])
    again = value_of(box.call("pair", x))[0]
    assert identity(again) == identity(x) and identity(make(box, [1.0])) != identity(x)


def test_an_object_that_comes_back_twice_lives_until_the_grader_drops_its_last_handle(box):
    x = make(box, [1.0])
    again = value_of(box.call("pair", x))[0]  # the same object: the grader's one handle of it
    assert again is x
    del again
    gc.collect()
    assert x.item() == 1.0  # still in the sandbox


def test_a_function_of_the_submission_can_be_passed_by_name(box):
    x = make(box, [-1.0, 2.0])
    y = value_of(box.call("apply", ModuleFunction(box, "relu"), x))
    assert y.data.tolist() == [0.0, 2.0]
    with pytest.raises(OperationFailed, match="apply: the submission defines no no_such_function"):
        value_of(box.call("apply", ModuleFunction(box, "no_such_function"), x))


def test_setting_an_attribute_sets_it_in_the_sandbox(box):
    x = make(box, [1.0, 2.0], requires_grad=True)
    x.requires_grad = False
    assert x.requires_grad is False
    x.data = np.array([5.0])  # a plain value crosses as data, like an argument
    assert x.item() == 5.0
