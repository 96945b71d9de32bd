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
4. answers requests (operations.py's ``answer``): call a function of the submission,
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
import gc
import io
import json
import os
import select
import signal
import sys
import types

operations = None  # operations.py, loaded by path in prepare()


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


# ----- the process ------------------------------------------------------------------------------------------
def main():
    # Student code meets Ctrl-C as in any Python, even when the grader that started this ignores it (a batch worker).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.argv[1] == "--zygote":
        return zygote(int(sys.argv[2]), int(sys.argv[3]))
    with os.fdopen(int(sys.argv[1]), "r") as f:
        config = json.load(f)
    isolation, protocol = prepare(config["python_paths"])
    run(config, isolation, protocol)


def prepare(python_paths):
    """Import what every sandbox needs before isolation (numpy, and isolation.py, operations.py and protocol.py by
    path)."""
    sys.path[:0] = python_paths
    import numpy  # noqa: F401  (loaded before isolation, as student code will need it)

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import isolation
    import operations as loaded_operations
    import protocol

    global operations  # the rest of this module uses it as if imported at the top
    operations = loaded_operations

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
    # A copy's end is seen by waiting for it. A submission that ignored SIGCHLD while loading (the kernel then
    # reaps children unasked: no end is seen, and each test loaded it again) has it back in each copy, not here.
    loaded_sigchld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:  # a fork server: every test gets a fresh copy of the submission as loaded
        server = os.fork()
        if server == 0:
            if loaded_sigchld is not None:  # None: not set from Python, so as it was: the default
                signal.signal(signal.SIGCHLD, loaded_sigchld)
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
    labels, report = operations.load(protocol, module, load_request["chunks"], packages)
    protocol.write_message(
        reply_fd, {"id": load_request["id"], "kind": protocol.Kind.READY, **report, "printed": printed()}
    )
    return labels


def _serve(protocol, module, labels, request_fd, reply_fd, printed, handle_limit):
    """Answer requests on this copy of the submission until the grader asks for a fresh one; never returns."""
    handles = operations.Handles(protocol, handle_limit, module)
    while True:
        try:
            request = protocol.read_message(
                request_fd, on_handle=lambda handle_id, _type: operations.Reference(handle_id)
            )
        except EOFError:
            os._exit(protocol.EXIT_GRADER_GONE)
        if request.get("kind") == protocol.Kind.RESET:
            os._exit(protocol.EXIT_RESET)
        reply = operations.answer(protocol, request, module, handles, labels)
        reply["id"], reply["printed"] = request["id"], printed()
        protocol.write_frame(reply_fd, operations.encode_reply(protocol, reply, handles))


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
