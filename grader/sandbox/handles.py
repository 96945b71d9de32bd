"""Objects that stay in the sandbox, driven from the grader through handles.

hw2-hw4 grade objects: the student's Tensor, optimizers, layers. They must
never leave the child (only plain data may cross), so a test holds a
:class:`Handle` instead: an unguessable id the child maps to the object.
Everything done to a handle runs in the child and gives plain data when the
result is plain (a number, an array, a list of them), or another handle::

    x = student.Tensor([[1.0, -2.0]], requires_grad=True)   # a handle
    loss = (x * w + b).relu().sum()                          # operators and methods: handles
    loss.backward()                                          # runs in the sandbox
    x.grad                                                   # plain data: a fresh numpy array

Rules, each enforced here or in the child:

- An attribute the object's type defines as a method gives a bound method
  that runs in one round trip when called (the child sends each type's method
  names once per fork); any other attribute is read in the child at once, and
  assigning one (``optimizer.lr = 0.01``) sets it there.
- Comparisons (``==``, ``<``), indexing and arithmetic run in the child (numpy
  semantics are the student's); a handle cannot be used as a truth value,
  iterated, or hashed by value: compare plain data, in the grader.
- Handles live for one test: the harness asks for a fresh fork before each
  one. Naming a handle from an earlier test or from another sandbox is the
  *test's* mistake (:class:`TestMistake`); a handle whose object the
  submission's crashed process took with it fails as the submission's
  (``CRASH``). Handles the test drops are freed in the child with its next request.
"""

from __future__ import annotations

import weakref

from .calls import OperationFailed, Status, TestMistake, value_of

# Python's operators, as the child applies them (operator.<name>), with the symbol a message shows.
BINARY = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "truediv": "/",
    "floordiv": "//",
    "mod": "%",
    "pow": "**",
    "matmul": "@",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
}
UNARY = {"neg": "-", "pos": "+", "abs": "abs"}


class Handle:
    """An object in the sandbox. See the module docstring for what may be done with it."""

    __slots__ = ("_sandbox", "_id", "_type", "_test", "_fork", "__weakref__")

    def __init__(self, sandbox, handle_id: str, type_name: str, test: int, fork: int):
        self._sandbox, self._id, self._type, self._test, self._fork = sandbox, handle_id, type_name, test, fork
        weakref.finalize(self, sandbox.release_handle, handle_id, fork)

    def __getattr__(self, name: str):
        if name.startswith("__"):  # Python's and libraries' own probing (__array__, __len__...) stays here
            raise AttributeError(name)
        if name in self._sandbox.methods_of(self._type):
            return Method(self, name)
        return value_of(self._sandbox.request("attribute", target=self, name=name, what=f"{self._type}.{name}"))

    def __call__(self, *args, **kwargs):
        return value_of(self._sandbox.request("call", target=self, args=args, kwargs=kwargs, what=f"{self._type}(...)"))

    def __setattr__(self, name: str, value) -> None:
        if name in Handle.__slots__:  # the handle's own bookkeeping
            object.__setattr__(self, name, value)
            return
        what = f"{self._type}.{name} = ..."
        value_of(self._sandbox.request("setattr", target=self, name=name, args=(value,), what=what))

    def __getitem__(self, index):
        return _operate("getitem", "[]", self, index)

    def __len__(self) -> int:
        return _operate("len", "len", self)

    def __bool__(self):
        raise TypeError(
            f"a {self._type} in the sandbox has no truth value here: read plain data from it "
            "(.data, .item()) and compare that"
        )

    def __iter__(self):
        raise TypeError(f"a {self._type} in the sandbox cannot be iterated from the grader: index it, or read its data")

    def __eq__(self, other):
        return _operate("eq", "==", self, other)

    def __ne__(self, other):
        return _operate("ne", "!=", self, other)

    __hash__ = object.__hash__  # by identity: the object's own __hash__ runs nowhere near the grader

    def __repr__(self) -> str:
        return f"<{self._type} in the sandbox>"


def _binary(name: str, symbol: str):
    def forward(self, other):
        return _operate(name, symbol, self, other)

    def reflected(self, other):
        return _operate(name, symbol, other, self)

    return forward, reflected


for _name, _symbol in BINARY.items():
    _forward, _reflected = _binary(_name, _symbol)
    setattr(Handle, f"__{_name}__", _forward)
    if _name not in ("lt", "le", "gt", "ge"):
        setattr(Handle, f"__r{_name}__", _reflected)
for _name, _symbol in UNARY.items():
    setattr(Handle, f"__{_name}__", lambda self, _n=_name, _s=_symbol: _operate(_n, _s, self))


class Method:
    """``handle.name`` for a method of the object's type: calling it runs ``handle.name(...)`` in the sandbox."""

    __slots__ = ("_handle", "_name")

    def __init__(self, handle: Handle, name: str):
        self._handle, self._name = handle, name

    def __call__(self, *args, **kwargs):
        handle = self._handle
        what = f"{handle._type}.{self._name}()"
        return value_of(
            handle._sandbox.request("method", target=handle, name=self._name, args=args, kwargs=kwargs, what=what)
        )

    def __repr__(self) -> str:
        return f"<method {self._handle._type}.{self._name} in the sandbox>"


def _operate(name: str, symbol: str, *operands):
    sandbox = next(o._sandbox for o in operands if isinstance(o, Handle))
    kinds = [o._type if isinstance(o, Handle) else type(o).__name__ for o in operands]
    if name == "getitem":
        what = f"{kinds[0]}[...]"
    elif len(operands) == 1:
        what = f"{symbol}{kinds[0]}" if symbol in "-+" else f"{symbol}({kinds[0]})"
    else:
        what = f"{kinds[0]} {symbol} {kinds[1]}"
    return value_of(sandbox.request("operator", name=name, args=operands, what=what))


class ModuleFunction:
    """A top-level function or class of the submission, by name: ``student.relu(z)`` calls it in the
    sandbox; passed as an argument (``student.check(student.tanh, x)``) it names the submission's own."""

    __slots__ = ("_sandbox", "_name")

    def __init__(self, sandbox, name: str):
        self._sandbox, self._name = sandbox, name

    def __call__(self, *args, **kwargs):
        return value_of(self._sandbox.call(self._name, *args, **kwargs))

    def with_changes(self, *args, **kwargs) -> tuple[object, list[str]]:
        """(what the call returned, the names of the arguments it changed in place): for a function told to
        leave its arguments as they were. Only arguments that are plain data are watched."""
        result = self._sandbox.call(self._name, *args, **kwargs)
        return value_of(result), result.changed

    def __repr__(self) -> str:
        return f"<the submission's {self._name}>"


MODULE_PREFIX = "module:"  # as child.py reads it


def identity(handle: Handle | ModuleFunction) -> str:
    """Which object ``handle`` names: two handles of one test name the same object exactly when these agree
    (a function of the submission passed by name is ``module:<name>``)."""
    if isinstance(handle, ModuleFunction):
        return MODULE_PREFIX + handle._name
    return handle._id


def type_of(handle: Handle) -> str:
    """The name of the type of the object behind ``handle`` (as the child reported it)."""
    return handle._type


def reference_to(handle, sandbox, test: int, fork: int) -> str:
    """The id to send for ``handle`` in a request to ``sandbox``.

    :class:`TestMistake` if the test cannot name it there (not a handle, another sandbox's, an
    earlier test's); :class:`OperationFailed` (a crash) if the submission's process that held its
    object has stopped since: the submission's own doing.
    """
    if isinstance(handle, ModuleFunction):
        if handle._sandbox is not sandbox:
            raise TestMistake(f"{handle._name} of another submission was used in this one")
        return MODULE_PREFIX + handle._name
    if not isinstance(handle, Handle):
        raise TestMistake(
            f"only plain data and handles can be sent into the sandbox, not an object of type {type(handle).__name__}"
        )
    if handle._sandbox is not sandbox:
        raise TestMistake(f"a {handle._type} handle from another submission's sandbox was used in this one")
    if handle._test != test:
        raise TestMistake(
            f"a {handle._type} handle from an earlier test was used: handles live for one test "
            "(each test runs in a fresh copy of the submission)"
        )
    if handle._fork != fork:
        raise OperationFailed(
            Status.CRASH,
            f"a {handle._type} from earlier in this test is gone: the submission's process stopped since it was made",
        )
    return handle._id
