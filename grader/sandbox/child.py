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

import __future__

import functools
import gc
import inspect
import io
import json
import operator
import os
import secrets
import select
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
FUTURE_FLAGS = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
)
MODULE_PREFIX = "module:"  # a handle naming one of the submission's own top-level functions or classes


class BoundedOutput(io.TextIOBase):
    """stdout/stderr for student code: the output file keeps its first ``limit`` bytes; the rest is counted.

    Every fork of the sandbox writes to the same file, so the room left is
    read from the file's size, not from this process's own count.
    """

    def __init__(self, fd, limit):
        self.fd, self.limit, self.written = fd, limit, 0
        self.full = False  # the file only grows: once full, no write needs to look at it again

    def writable(self):
        return True

    def write(self, text):
        data = str(text).encode("utf-8", "replace")
        if not self.full:
            room = self.limit - os.fstat(self.fd).st_size
            if room > 0:
                os.write(self.fd, data[:room])
            self.full = room <= len(data)
        self.written += len(data)
        return len(text)

    def flush(self):
        pass


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


def _answer(protocol, request, module, handles, labels):
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


# ----- the process ------------------------------------------------------------------------------------------
def main():
    if sys.argv[1] == "--zygote":
        return zygote(int(sys.argv[2]), int(sys.argv[3]))
    with os.fdopen(int(sys.argv[1]), "r") as f:
        config = json.load(f)
    isolation, protocol = prepare(config["python_paths"])
    run(config, isolation, protocol)


def prepare(python_paths):
    """Import what every sandbox needs before isolation (numpy, and isolation.py and protocol.py by path)."""
    sys.path[:0] = python_paths
    import numpy  # noqa: F401  (loaded before isolation, as student code will need it)

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import isolation
    import protocol

    sys.path.remove(here)
    return isolation, protocol


def zygote(bootstrap_fd, control_fd):
    """Fork a sandbox for each request of the grader, from a process that imported numpy once.

    The grader sends, on the control socket (a SOCK_SEQPACKET pair), one message per sandbox: its
    configuration (JSON), with its request pipe, reply pipe and output file attached. This process
    forks; the fork becomes the sandbox exactly as a fresh ``child.py CONFIG_FD`` would, from
    isolation on. The grader is told the fork's pid, and later how it ended. Nothing of one sandbox
    stays here for the next: the configuration and descriptors are dropped once forked.
    """
    import socket

    with os.fdopen(bootstrap_fd, "r") as f:
        bootstrap = json.load(f)
    isolation, protocol = prepare(bootstrap["python_paths"])
    isolation.die_with_parent()
    control = socket.socket(fileno=control_fd)
    # A fork's end wakes the loop at once (the grader may be waiting for it), through a self-pipe.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        for pid, code in _reaped():
            control.send(json.dumps({"ended": pid, "exit": code}).encode())
        ready = select.select([control, wake_read], [], [])[0]
        if wake_read in ready:
            os.read(wake_read, 4096)
        if control not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
        if not message:
            os._exit(0)  # the grader is gone
        config = json.loads(message)
        sandbox = os.fork()
        if sandbox == 0:
            control.close()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (wake_read, wake_write):
                os.close(fd)
            _become_sandbox(config, fds, isolation, protocol)
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"started": sandbox}).encode())


def _become_sandbox(config, fds, isolation, protocol):
    """In a fork of the zygote: the process a fresh child.py would be, on the descriptors received."""
    try:
        os.setsid()  # its own process group: the grader kills the sandbox and all it started as one
        request_fd, reply_fd, output_fd = fds
        for stream in (1, 2):
            os.dup2(output_fd, stream)
        os.close(output_fd)
        os.chdir(config["scratch"])
        os.environ.clear()
        os.environ.update(config["environment"])
        run({**config, "request_fd": request_fd, "reply_fd": reply_fd}, isolation, protocol)
    finally:
        os._exit(protocol.EXIT_GRADER_GONE)


def _reaped():
    """(pid, exit status) of every fork of the zygote that has ended since last asked."""
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append((pid, os.waitstatus_to_exitcode(status)))


def run(config, isolation, protocol):
    """Isolate this process, load the submission, and serve the grader's requests until it is done."""
    request_fd, reply_fd = config["request_fd"], config["reply_fd"]
    protections, off = isolation.isolate(config)
    # Process 1 of a PID namespace ignores signals it has no handler for, SIGXCPU included.
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(protocol.EXIT_CPU_EXHAUSTED))
    os.environ.clear()
    os.environ.update(config["environment"])
    os.environ["MPLCONFIGDIR"] = os.path.join(os.getcwd(), ".matplotlib")  # its font cache: the scratch is writable
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
    labels = _load(protocol, module, request_fd, reply_fd, printed, config["packages"])
    # Every fork starts from this state: keep the collector from touching (and so copying) the pages of
    # the objects loaded so far, or each fork pays for a copy of most of the heap on its first collection.
    gc.freeze()
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


def _load(protocol, module, request_fd, reply_fd, printed, packages):
    """Run the submission's chunks in ``module``, report what failed; returns the chunks' labels."""
    load_request = protocol.read_message(request_fd)
    chunks = load_request["chunks"]
    labels = {chunk["label"] for chunk in chunks}
    sys.meta_path.insert(0, ImportGate(packages, labels))
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
        reply = _answer(protocol, request, module, handles, labels)
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
