"""The sandboxed process that runs student code (started by grader/sandbox/parent.py).

Runs as ``python -I -S -B child.py CONFIG_FD``. It loads only the standard
library, numpy, and protocol.py and isolation.py beside it (by path), never
the reference, the tests or any other part of the grader. In order, it:

1. reads its configuration from CONFIG_FD (a JSON object);
2. isolates itself as far as the operating system allows (isolation.py) and
   reports what held and what did not at once, in a frame written before any
   student code runs (so student code cannot forge it);
3. receives the submission's chunks (the module, or the notebook's code
   cells) and executes them one after another in one module namespace,
   recording each chunk's error and going on;
4. answers requests (:func:`_answer`): call a function of the submission,
   call a method of an object, apply an operator, read an attribute. What
   comes back is plain data, and any object that is not stays here, in this
   fork's table of handles, and is sent as a handle the grader can name in a
   later request. Requests are answered by a fork of the loaded process, and
   the grader asks for a fresh fork before every test, so no test sees what
   student code kept in memory from another (a cache of an earlier test's
   inputs, a counter, the objects behind an earlier test's handles); when a
   fork crashes, the next one starts at once, without loading the submission
   again.

Every reply echoes its request's ``id`` (a random nonce): student code can
write frames to the reply pipe itself, but cannot know the nonce of a later
request, so the grader drops such frames instead of taking them for its answer.
"""

import functools
import inspect
import io
import json
import operator
import os
import secrets
import signal
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
MODULE_PREFIX = "module:"  # a handle naming one of the submission's own top-level functions or classes


class BoundedOutput(io.TextIOBase):
    """stdout/stderr for student code: the output file keeps its first ``limit`` bytes; the rest is counted.

    Every fork of the sandbox writes to the same file, so the room left is
    read from the file's size, not from this process's own count.
    """

    def __init__(self, fd, limit):
        self.fd, self.limit, self.written = fd, limit, 0

    def writable(self):
        return True

    def write(self, text):
        data = str(text).encode("utf-8", "replace")
        room = self.limit - os.fstat(self.fd).st_size
        if room > 0:
            os.write(self.fd, data[:room])
        self.written += len(data)
        return len(text)

    def flush(self):
        pass


def describe(error, chunk_labels):
    """ "ValueError: bad shape (cell 4, line 7, in forward_pass)": the innermost frame in student code."""
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename in chunk_labels:
            where = f" ({frame.filename}, line {frame.lineno}, in {frame.name})"
            break
    if isinstance(error, SyntaxError) and error.filename in chunk_labels:
        where = f" ({error.filename}, line {error.lineno})"
        return f"SyntaxError: {error.msg}{where}"
    text = str(error)
    return f"{type(error).__name__}{': ' + text if text else ''}{where}"


# ----- objects kept for the grader ------------------------------------------------------------------------
class UnknownHandle(Exception):
    """A request named a handle this fork does not hold."""


class _Reference:
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
            handle_id = secrets.token_hex(12)
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
        if isinstance(value, _Reference):
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


def _answer(request, module, handles, labels, kind):
    """The reply to one request (its ``kind``, one of protocol.Kind, and fields, without the id)."""
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
    elif op == "method" and type(name) is str:
        run = lambda: getattr(target, name)(*args, **kwargs)  # noqa: E731
    elif op == "call":
        run = functools.partial(target, *args, **kwargs)
    else:
        return {"kind": kind.ERROR, "type": "ProtocolError", "message": f"a request the sandbox does not know ({op!r})"}
    try:
        return {"kind": kind.RESULT, "value": run()}
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


# ----- the process ------------------------------------------------------------------------------------------
def main():
    config_fd = int(sys.argv[1])
    with os.fdopen(config_fd, "r") as f:
        config = json.load(f)
    sys.path[:0] = config["python_paths"]
    import numpy  # noqa: F401  (loaded before isolation, as student code will need it)

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import isolation
    import protocol

    sys.path.remove(here)
    request_fd, reply_fd = config["request_fd"], config["reply_fd"]
    protections, off = isolation.isolate(config)
    # Process 1 of a PID namespace ignores signals it has no handler for, SIGXCPU included.
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(protocol.EXIT_CPU_EXHAUSTED))
    os.environ.clear()
    os.environ.update(config["environment"])
    protocol.write_message(reply_fd, {"kind": protocol.Kind.ISOLATED, "protections": protections, "off": off})

    limit = int(config["limits"]["output_bytes"])
    stdout, stderr = BoundedOutput(1, limit), BoundedOutput(2, limit)
    sys.stdout = sys.__stdout__ = stdout
    sys.stderr = sys.__stderr__ = stderr
    sys.stdin = sys.__stdin__ = io.StringIO()

    def printed():
        """Bytes the student code tried to print, kept or not (the grader sees only what was kept)."""
        return stdout.written + stderr.written

    module = types.ModuleType(config["module_name"])
    module.__file__ = os.path.join(os.getcwd(), config["file_name"])
    sys.modules[config["module_name"]] = module
    labels = _load(protocol, module, request_fd, reply_fd, printed)
    handle_limit = int(config["limits"]["handles"])
    serve = functools.partial(_serve, protocol, module, labels, request_fd, reply_fd, printed, handle_limit)
    while True:  # a fork server: every test gets a fresh copy of the submission as loaded
        server = os.fork()
        if server == 0:
            serve()
        status = _wait(server)
        if os.getpid() == 1:  # process 1 of our own PID namespace: end whatever the server left running
            _kill_the_rest()
        code = os.waitstatus_to_exitcode(status)
        if code == protocol.EXIT_GRADER_GONE:
            return
        protocol.write_message(reply_fd, {"kind": protocol.Kind.ENDED, "exit": code, "printed": printed()})


def _load(protocol, module, request_fd, reply_fd, printed):
    """Run the submission's chunks in ``module``, report what failed; returns the chunks' labels."""
    load_request = protocol.read_message(request_fd)
    chunks = load_request["chunks"]
    labels = {chunk["label"] for chunk in chunks}
    load_errors = []
    for chunk in chunks:
        try:
            code = compile(chunk["source"], chunk["label"], "exec", dont_inherit=True)
            exec(code, module.__dict__)
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: the chunk failed, go on
            load_errors.append({"label": chunk["label"], "message": describe(error, labels)})
    defined = sorted(name for name, value in vars(module).items() if callable(value) and not name.startswith("__"))
    report = protocol.load_report(load_errors, defined)
    protocol.write_message(
        reply_fd, {"id": load_request["id"], "kind": protocol.Kind.READY, **report, "printed": printed()}
    )
    return labels


def _serve(protocol, module, labels, request_fd, reply_fd, printed, handle_limit):
    """Answer requests on this copy of the submission until the grader asks for a fresh one; never returns."""
    handles = Handles(protocol, handle_limit, module)
    while True:
        try:
            request = protocol.read_message(request_fd, on_handle=lambda handle_id, _type: _Reference(handle_id))
        except EOFError:
            os._exit(protocol.EXIT_GRADER_GONE)
        if request.get("kind") == protocol.Kind.RESET:
            os._exit(0)
        reply = _answer(request, module, handles, labels, protocol.Kind)
        reply["id"], reply["printed"] = request["id"], printed()
        _write(protocol, reply_fd, reply, handles)


def _write(protocol, reply_fd, reply, handles):
    """Send ``reply``; its value's objects become handles, and their types' methods come along the first time."""
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
    protocol.write_frame(reply_fd, frame)


def _wait(pid):
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def _kill_the_rest():
    """Kill every other process of this PID namespace (what a test started in the background) and reap it."""
    try:
        os.kill(-1, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    while True:
        try:
            if os.waitpid(-1, 0)[0] == 0:
                return
        except ChildProcessError:
            return
        except InterruptedError:
            continue


if __name__ == "__main__":
    main()
