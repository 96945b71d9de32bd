"""What the sandbox does with the grader's requests: load the submission, and answer operations on it.

The process around it (isolation, the fork server, the pipes) is child.py's;
this module is only the work, so the students' checker can run the very same
operations in its own process (see :mod:`grader.grading.replay`). Like child.py
it uses the standard library alone, and is given the protocol module (child.py
loads both by path: the sandbox never imports the grader).

- :func:`load` runs the submission's chunks (the module, or the notebook's
  code cells) one after another in one module namespace, recording each
  chunk's error and going on;
- :func:`answer` answers one request: call a function of the submission,
  call a method of an object, apply an operator, read or set an attribute.
  Any object that is not plain data stays in :class:`Handles`, named by an
  unguessable id the grader uses in a later request.
"""

import __future__

import functools
import inspect
import operator
import os
import sys
import traceback
import types

# The operators a grader's handle passes on (``x * w`` in a test is operator.mul(x, w) here).
OPERATORS = {
    name: getattr(operator, name)
    for name in (
        "add",
        "sub",
        "mul",
        "truediv",
        "floordiv",
        "mod",
        "pow",
        "matmul",
        "neg",
        "pos",
        "abs",
        "getitem",
        "lt",
        "le",
        "gt",
        "ge",
        "eq",
        "ne",
    )
}
OPERATORS["len"] = len
MAX_METHOD_NAMES = 500
FUTURE_FLAGS = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
)
MODULE_PREFIX = "module:"  # a handle naming one of the submission's own top-level functions or classes


def describe(error, chunk_labels):
    """ "ValueError: bad shape (cell 4, line 7, in forward_pass)": the innermost frame in student code."""
    label, line, function = location(error, chunk_labels)
    if isinstance(error, SyntaxError) and label:
        return f"SyntaxError: {error.msg} ({label}, line {line})"
    where = f" ({label}, line {line}, in {function})" if label else ""
    text = str(error)
    return f"{type(error).__name__}{': ' + text if text else ''}{where}"


def location(error, chunk_labels):
    """(chunk label, line, function) where ``error`` happened in student code; ("", 0, "") if not there."""
    if isinstance(error, SyntaxError) and error.filename in chunk_labels:
        return error.filename, error.lineno or 0, ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename in chunk_labels:
            return frame.filename, frame.lineno or 0, frame.name
    return "", 0, ""


def context(source, line, around=2):
    """The lines of ``source`` around ``line`` (1-based), numbered, the line itself marked with ">"."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    shown = range(max(1, line - around), min(len(lines), line + around) + 1)
    width = len(str(shown[-1]))
    return "\n".join(f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1][:160]}" for n in shown)


class ImportGate:
    """Student code may import the standard library and the homework's packages; anything else stops with a
    message naming the package and what grading provides (the grader shows it beside the cell or function).

    Only imports written in the submission are judged: an allowed package imports what it needs freely.
    This is a clear message, not a wall: the sandbox's walls are its isolation and its limits.
    """

    def __init__(self, allowed, labels):
        self.allowed, self.labels = tuple(allowed), labels

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if path is not None or top in self.allowed or top in sys.stdlib_module_names or top in sys.modules:
            return None
        if _importing_file() not in self.labels:
            return None
        provided = ", ".join(self.allowed)
        raise ModuleNotFoundError(
            f"No module named {top!r} when grading: a submission may import the standard library and {provided}",
            name=top,
        )


def _importing_file():
    """The file of the code that asked for the import (the import machinery's own frames skipped)."""
    frame = sys._getframe(2)
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen") or frame.f_code.co_filename == __file__
    ):
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else ""


# ----- objects kept for the grader ------------------------------------------------------------------------
class UnknownHandle(Exception):
    """A request named a handle this fork does not hold."""


class Reference:
    """A handle as it arrives in a request, before it is looked up."""

    __slots__ = ("id",)

    def __init__(self, handle_id):
        self.id = handle_id


class Handles:
    """This fork's objects that the grader names by handle: unguessable ids, dropped with the fork."""

    def __init__(self, protocol, limit, module):
        self.protocol, self.limit, self.module = protocol, limit, module
        self.objects = {}
        self.ids = {}  # id(object) -> its handle: one object keeps one handle while the grader holds it
        self.described = {}  # type name -> its method names, sent to the grader once per fork

    def keep(self, value) -> dict:
        handle_id = self.ids.get(id(value))
        if handle_id is None:
            handle_id = os.urandom(12).hex()  # as secrets.token_hex, whose imports (hashlib, random) cost every copy
            self.objects[handle_id] = value
            self.ids[id(value)] = handle_id
        # A function is named by where it was defined ("Tensor.__mul__.<locals>._backward"): the grader
        # names a call by it, and remembers a call that timed out by it, so "function" would lump them.
        name = value.__qualname__ if isinstance(value, types.FunctionType) else type(value).__name__
        if name not in self.described:
            self.described[name] = _method_names(type(value))
        return self.protocol.handle_reference(handle_id, name)

    def resolve(self, value):
        """``value`` with every handle in it replaced by its object (lists and dicts walked)."""
        if isinstance(value, Reference):
            if value.id.startswith(MODULE_PREFIX):  # a function or class of the submission, by name
                found = getattr(self.module, value.id[len(MODULE_PREFIX) :], None)
                if found is None:
                    raise UnknownHandle(value.id)
                return found
            if value.id not in self.objects:
                raise UnknownHandle(value.id)
            return self.objects[value.id]
        if type(value) is list:
            return [self.resolve(item) for item in value]
        if type(value) is dict:
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def free(self, ids):
        for handle_id in ids if type(ids) is list else []:
            value = self.objects.pop(handle_id, None)
            if value is not None:
                self.ids.pop(id(value), None)


def _method_names(cls):
    """The names a grader may call as methods of ``cls`` (properties and plain attributes are read instead)."""
    names = []
    for name in dir(cls):
        try:
            attribute = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if callable(attribute) or isinstance(attribute, (staticmethod, classmethod)):
            names.append(name)
    return names[:MAX_METHOD_NAMES]


def answer(protocol, request, module, handles, labels):
    """The reply to one request (its ``kind``, one of protocol.Kind, and fields, without the id)."""
    kind = protocol.Kind
    handles.free(request.get("free"))
    op, name = request.get("op"), request.get("name")
    try:
        target = handles.resolve(request.get("target"))
        args = handles.resolve(request.get("args", []))
        kwargs = handles.resolve(request.get("kwargs", {}))
    except UnknownHandle as error:
        name = str(error)
        if name.startswith(MODULE_PREFIX):
            message = (
                f"the submission defines no {name[len(MODULE_PREFIX) :][:100]} (was it renamed, or did its cell fail?)"
            )
        else:
            message = "the submission's process lost an object it kept for the grader"
        return {"kind": kind.BAD_HANDLE, "message": message}
    if op == "function":
        function = getattr(module, name, None) if type(name) is str else None
        if not callable(function):
            return {"kind": kind.MISSING}
        run = functools.partial(function, *args, **kwargs)
    elif op == "operator" and name in OPERATORS:
        run = functools.partial(OPERATORS[name], *args)
    elif op == "attribute" and type(name) is str:
        run = functools.partial(getattr, target, name)
    elif op == "setattr" and type(name) is str and len(args) == 1:
        run = functools.partial(setattr, target, name, args[0])
    elif op == "method" and type(name) is str:
        run = lambda: getattr(target, name)(*args, **kwargs)  # noqa: E731
    elif op == "call":
        run = functools.partial(target, *args, **kwargs)
    else:
        return {"kind": kind.ERROR, "type": "ProtocolError", "message": f"a request the sandbox does not know ({op!r})"}
    before = _snapshot(protocol, function, args, kwargs) if op == "function" else {}
    try:
        reply = {"kind": kind.RESULT, "value": run()}
        changed = [name for name, plain in before.items() if _plain_or_none(protocol, plain[0]) != plain[1]]
        if changed:
            reply["changed"] = changed
        return reply
    except AttributeError as error:
        if (
            op in ("attribute", "method")
            and getattr(error, "obj", None) is target
            and getattr(error, "name", None) == name
        ):
            return {"kind": kind.MISSING, "message": describe(error, labels)}
        return {"kind": kind.ERROR, "type": "AttributeError", "message": describe(error, labels)}
    except BaseException as error:
        return {"kind": kind.ERROR, "type": type(error).__name__, "message": describe(error, labels)}


def _snapshot(protocol, function, args, kwargs):
    """{parameter name: (argument, its plain data now)} for every argument that is plain data, to tell afterwards
    which ones the call changed in place (a function told to leave its arguments alone must)."""
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {f"argument {i + 1}": value for i, value in enumerate(args)} | dict(kwargs)
    kept = {}
    for name, value in bound.items():
        plain = _plain_or_none(protocol, value)
        if plain is not None and not isinstance(value, (int, float, str, bool)):  # immutable ones cannot change
            kept[name] = (value, plain)
    return kept


def _plain_or_none(protocol, value):
    try:
        return protocol.to_plain(value)
    except Exception:  # not plain data (an object), or one whose reading runs student code that fails
        return None


def encode_reply(protocol, reply, handles):
    """The frame of ``reply``: its value's objects become handles, and their types' methods come along the first time.

    A reply that cannot be sent (too large, too many objects, or one whose reading runs student code that
    fails) becomes the reply that says so."""
    described, held = len(handles.described), dict(handles.objects)
    try:
        if "value" in reply:
            reply["value"] = protocol.to_plain(reply["value"], on_object=handles.keep)
        if len(handles.described) > described:
            reply["types"] = dict(list(handles.described.items())[described:])
        if len(handles.objects) > handles.limit:  # how many the grader held, and how many this reply adds:
            new = len(handles.objects) - len(held)  # the grader tells from them whose mistake it is
            handles.objects = held
            handles.ids = {id(value): handle_id for handle_id, value in held.items()}
            reply = {"id": reply["id"], "kind": protocol.Kind.HANDLE_LIMIT, "held": len(held), "new": new}
        frame = protocol.encode(reply)
    except protocol.NotPlainData as error:  # too large to send
        frame = protocol.encode({"id": reply["id"], "kind": protocol.Kind.UNSENDABLE, "message": str(error)})
    except BaseException as error:  # student code ran while its value was read (a property, __float__...)
        frame = protocol.encode(
            {
                "id": reply["id"],
                "kind": protocol.Kind.ERROR,
                "type": type(error).__name__,
                "message": f"{type(error).__name__} while its result was read: {error}"[:2000],
            }
        )
    return frame


def load(protocol, module, chunks, packages):
    """Run ``chunks`` in ``module``; returns (their labels, the load report for the grader)."""
    labels = {chunk["label"] for chunk in chunks}
    sys.meta_path.insert(0, ImportGate(packages, labels))
    # Plots draw to nothing, wherever the submission runs (the grader's sandbox, or the student's own
    # checker on a desktop, where a window would open and wait): show() returns at once.
    os.environ["MPLBACKEND"] = "Agg"
    load_errors = []
    futures = 0  # a cell's `from __future__ import ...` holds in the cells after it, as in Jupyter
    for chunk in chunks:
        try:
            code = compile(chunk["source"], chunk["label"], "exec", flags=futures, dont_inherit=True)
            futures |= code.co_flags & FUTURE_FLAGS
            exec(code, module.__dict__)
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: the chunk failed, go on
            message = describe(error, labels)
            label, line, _ = location(error, labels)
            source = next((c["source"] for c in chunks if c["label"] == label), "")
            shown = context(source, line)
            load_errors.append({"label": chunk["label"], "message": message + ("\n" + shown if shown else "")})
    defined = sorted(name for name, value in vars(module).items() if callable(value) and not name.startswith("__"))
    return labels, protocol.load_report(load_errors, defined)
