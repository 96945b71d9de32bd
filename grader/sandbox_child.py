"""The sandboxed process that runs student code (started by grader.sandbox).

Runs as ``python -I -S -B sandbox_child.py CONFIG_FD``. It loads only the
standard library, numpy and grader/protocol.py (by path), never the
reference, the tests or any other part of the grader. In order, it:

1. reads its configuration from CONFIG_FD (a JSON object);
2. isolates itself as far as the operating system allows: a private network
   namespace (no network), a private mount namespace whose root is a fresh
   tmpfs holding only the scratch directory and read-only system and Python
   directories (so the reference, the tests and the homework folders do not
   exist), a private process namespace (see :func:`_enter_namespaces`),
   resource limits, then the unprivileged user; what held and what did not is
   reported back at once, in a frame written before any student code runs
   (so student code cannot forge it);
3. receives the submission's chunks (the module, or the notebook's code
   cells) and executes them one after another in one module namespace,
   recording each chunk's error and going on;
4. answers calls: a function name with plain-data arguments in, a plain-data
   result or an error out. Calls are answered by a fork of the loaded
   process, and the grader asks for a fresh fork before every test, so no
   test sees what student code kept in memory from another (a cache of an
   earlier test's inputs, a counter); when a fork crashes, the next one
   starts at once, without loading the submission again. Every reply echoes its request's ``id`` (a random
   nonce): student code can write frames to the reply pipe itself, but cannot
   know the nonce of a later call, so the grader drops such frames instead of
   taking them for that call's answer.
"""

import ctypes
import ctypes.util
import functools
import io
import json
import os
import resource
import signal
import sys
import traceback
import types

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
GRADER_GONE = 3  # a server's exit status when the grader closed the channel: the sandbox ends
CPU_EXHAUSTED = 128 + signal.SIGXCPU  # the exit status that says "out of CPU time" (as a shell reports SIGXCPU)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                      ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")  # fmt: skip


def _bind_read_only(source, target):
    """Bind ``source`` at ``target`` and make the bind read-only, keeping the source's locked flags."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    inherited = 0
    st = os.statvfs(source)
    for flag, bit in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC)):
        if st.f_flag & flag:
            inherited |= bit
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | inherited)


def _enter_namespaces(config, protections, off, as_root):
    """Private network, mount (and, for a non-root grader, user) namespaces, and a private PID namespace.

    The PID namespace is what makes the sandbox's end final: this process
    forks, the child becomes process 1 of the namespace and runs the student
    code, and when it dies the kernel kills every process left in the
    namespace, even one the student detached with fork + setsid. Without it
    such a process would outlive the sandbox until the grader kills it by its
    user id (sandbox_user.py). This process only waits and passes the
    child's end on to the grader, so the grader's kill of the process group
    (or the grader's own death) ends everything.
    """
    flags = CLONE_NEWNS | CLONE_NEWNET | (0 if as_root else CLONE_NEWUSER)
    uid, gid = os.getuid(), os.getgid()
    pid_namespace = libc.unshare(flags | CLONE_NEWPID) == 0
    if not pid_namespace:
        error = os.strerror(ctypes.get_errno())
        _check(libc.unshare(flags), "unshare")
        off.append(f"processes: a background process the submission starts may outlive it (no PID namespace: {error})")
    if not as_root:
        # Map our own user into the new user namespace; that is all an ordinary user may map.
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    protections["network"] = "off (private network namespace)"
    if pid_namespace:
        child = os.fork()
        if child:
            _pass_on_end_of(child, (config["request_fd"], config["reply_fd"]))
        protections["processes"] = "private process namespace: none outlives the sandbox or sees the grader"


def _pass_on_end_of(child, fds):
    """Wait for ``child`` (process 1 of the namespace) and end the same way; never returns."""
    for fd in fds:  # only the child talks to the grader: its death must close the pipes
        os.close(fd)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _change_root(config, protections):
    """Make a tmpfs the root of this process: system and Python directories read-only, scratch writable."""
    new_root = config["root_dir"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    for path in config["read_only_paths"]:
        if not os.path.exists(path):
            continue
        target = new_root + path
        if os.path.islink(path):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
        else:
            _bind_read_only(path, target)
    scratch = new_root + "/scratch"
    os.makedirs(scratch)
    _mount(config["scratch"], scratch, None, MS_BIND | MS_REC)
    os.makedirs(new_root + "/tmp", mode=0o1777, exist_ok=True)  # exists if Python itself lives under /tmp
    os.chmod(new_root + "/tmp", 0o1777)
    old_root = new_root + "/.old_root"
    os.makedirs(old_root)
    _check(libc.syscall(SYS_PIVOT_ROOT, new_root.encode(), old_root.encode()), "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/.old_root", MNT_DETACH), "umount old root")
    os.rmdir("/.old_root")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path in config.get("hidden_paths", []):
        # An installed copy of the project (reference/ in site-packages) inside a read-only directory:
        # cover it with an empty, unreadable file system.
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
    os.chdir("/scratch")
    protections["filesystem"] = "only the scratch directory and read-only system and Python directories are visible"


def _drop_capabilities():
    """Clear every capability (needed where no change of user does it for us)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(libc.syscall(SYS_CAPSET, ctypes.byref(header), ctypes.byref(data)), "capset")


def _set_limits(limits, protections, off, switching_user):
    def limit(which, value):
        resource.setrlimit(which, (value, value))

    limit(resource.RLIMIT_CORE, 0)
    # SIGXCPU at the soft limit says "CPU time"; the hard limit's SIGKILL would look like running out of memory.
    resource.setrlimit(resource.RLIMIT_CPU, (int(limits["cpu_seconds"]), int(limits["cpu_seconds"]) + 2))
    limit(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    limit(resource.RLIMIT_AS, int(limits["memory_mb"]) * 2**20)
    protections["limits"] = (f"CPU {limits['cpu_seconds']} s, memory {limits['memory_mb']} MiB, "
                             f"files {limits['file_bytes'] // 2**20} MiB")  # fmt: skip
    if switching_user:
        # Counted per user: the sandbox's user id is its own, so the count is this sandbox's alone.
        limit(resource.RLIMIT_NPROC, int(limits["processes"]))
        protections["limits"] += f", {limits['processes']} processes"
    else:
        off.append("process limit: none (the kernel counts processes per user, and a grader that is not root "
                   "cannot give the sandbox a user of its own)")


def _prefer_as_victim():
    """Make this process the one the kernel kills first if the machine runs out of memory, not a grader."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def isolate(config):
    """Apply every protection the OS allows; returns {protection: how it held} and a list of what is off."""
    protections, off = {}, []
    as_root = os.getuid() == 0
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    namespaces = False
    if config["use_namespaces"] and SYS_PIVOT_ROOT is not None:
        try:
            _enter_namespaces(config, protections, off, as_root)
            namespaces = True
            _change_root(config, protections)
        except OSError as error:
            off.append(f"namespaces: {error}")
    if not namespaces:
        os.chdir(config["scratch"])
    switching_user = as_root and config["user"] is not None
    _set_limits(config["limits"], protections, off, switching_user)
    _prefer_as_victim()
    os.umask(0o077)  # what student code writes (in /tmp too, without namespaces) stays its own
    if switching_user:
        uid, gid = config["user"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        protections["user"] = f"an unprivileged user of its own (uid {uid})"
    elif namespaces and not as_root:
        _drop_capabilities()
    # Again: a fork and a change of user both clear it, and without it this
    # process would live on if the grader (or the waiting parent) died.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if "network" not in protections:
        off.append("network: still reachable (no network namespace could be made)")
    if "processes" not in protections and not any(entry.startswith("processes") for entry in off):
        off.append("processes: a background process the submission starts may outlive it (no PID namespace)")
    if "filesystem" not in protections:
        off.append("filesystem: the whole file system stays readable (no mount namespace could be made)")
    if "user" not in protections:
        off.append("user: student code runs as the grader's own user" + ("" if as_root else " (not root)"))
    return protections, off


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
    """"ValueError: bad shape (cell 4, line 7, in forward_pass)": the innermost frame in student code."""
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


def main():
    config_fd = int(sys.argv[1])
    with os.fdopen(config_fd, "r") as f:
        config = json.load(f)
    sys.path[:0] = config["python_paths"]
    import numpy  # noqa: F401  (loaded before isolation, as student code will need it)

    sys.path.insert(0, config["grader_dir"])
    import protocol

    sys.path.remove(config["grader_dir"])
    request_fd, reply_fd = config["request_fd"], config["reply_fd"]
    protections, off = isolate(config)
    # Process 1 of a PID namespace ignores signals it has no handler for, SIGXCPU included.
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(CPU_EXHAUSTED))
    os.environ.clear()
    os.environ.update(config["environment"])
    protocol.write_message(reply_fd, {"kind": "isolated", "protections": protections, "off": off})

    limit = int(config["limits"]["output_bytes"])
    stdout, stderr = BoundedOutput(1, limit), BoundedOutput(2, limit)
    sys.stdout = sys.__stdout__ = stdout
    sys.stderr = sys.__stderr__ = stderr

    def printed():
        """Bytes the student code tried to print, kept or not (the grader sees only what was kept)."""
        return stdout.written + stderr.written
    sys.stdin = sys.__stdin__ = io.StringIO()

    module = types.ModuleType(config["module_name"])
    module.__file__ = os.path.join(os.getcwd(), config["file_name"])
    sys.modules[config["module_name"]] = module
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
    protocol.write_message(reply_fd, {"id": load_request["id"], "kind": "ready", **report, "printed": printed()})

    serve = functools.partial(_serve, protocol, module, labels, request_fd, reply_fd, printed)
    while True:  # a fork server: every test gets a fresh copy of the submission as loaded
        server = os.fork()
        if server == 0:
            serve()
        status = _wait(server)
        if os.getpid() == 1:  # process 1 of our own PID namespace: end whatever the server left running
            _kill_the_rest()
        code = os.waitstatus_to_exitcode(status)
        if code == GRADER_GONE:
            return
        protocol.write_message(reply_fd, {"kind": "ended", "exit": code, "printed": printed()})


def _serve(protocol, module, labels, request_fd, reply_fd, printed):
    """Answer calls on this copy of the submission until the grader asks for a fresh one; never returns."""
    while True:
        try:
            request = protocol.read_message(request_fd)
        except EOFError:
            os._exit(GRADER_GONE)
        if request.get("kind") == "reset":
            os._exit(0)
        function = getattr(module, request["function"], None)
        if not callable(function):
            reply = {"kind": "missing"}
        else:
            try:
                value = function(*request["args"], **request["kwargs"])
                reply = {"kind": "result", "value": protocol.to_plain(value)}
            except protocol.NotPlainData as error:
                reply = {"kind": "unsendable", "message": str(error)}
            except BaseException as error:
                reply = {"kind": "error", "type": type(error).__name__, "message": describe(error, labels)}
        reply["id"], reply["printed"] = request["id"], printed()
        try:
            protocol.write_message(reply_fd, reply)
        except protocol.NotPlainData as error:  # too large to send
            protocol.write_message(reply_fd, {"id": request["id"], "kind": "unsendable", "message": str(error)})


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
