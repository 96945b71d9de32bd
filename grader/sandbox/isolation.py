"""Isolation of the sandbox's child process, applied before any student code runs.

Loaded by grader/sandbox/child.py by path (the standard library only): this
module never imports the grader, the reference or the tests. :func:`isolate`
applies every protection the operating system allows, in this order:

1. private network and mount namespaces (and a user namespace for a grader
   that is not root), and a private PID namespace (see :func:`_enter_namespaces`);
2. a fresh tmpfs as the root file system holding only the scratch directory
   and read-only system and Python directories, so the reference, the tests
   and the homework folders do not exist (:func:`_change_root`);
3. resource limits: CPU time, address space, file size, no core files, and
   the number of processes when the sandbox has a user of its own;
4. the sandbox's own user id (a grader running as root gives it one; see
   grader/sandbox/users.py), or dropped capabilities in a user namespace.

It returns what held and what did not, which the child reports to the
grader before it reads the submission.
"""

import ctypes
import os
import resource
import signal

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)


def _load_libc():
    """The C library, by glibc's name first: ``find_library`` runs ``ldconfig -p`` in a subprocess (2 ms in
    every zygote or sandbox that starts Python), so it is asked only where that name is unknown (musl)."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        from ctypes.util import find_library  # imported only here: it brings shutil, subprocess, bz2, lzma

        return ctypes.CDLL(find_library("c"), use_errno=True)


libc = _load_libc()


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(
        libc.mount(
            source and source.encode(),
            target.encode(),
            fstype and fstype.encode(),
            ctypes.c_ulong(flags),
            data and data.encode(),
        ),
        f"mount {target}",
    )


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
    user id (users.py). This process only waits and passes the
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
    protections["limits"] = (
        f"CPU {limits['cpu_seconds']} s, memory {limits['memory_mb']} MiB, files {limits['file_bytes'] // 2**20} MiB"
    )
    if switching_user:
        # Counted per user: the sandbox's user id is its own, so the count is this sandbox's alone.
        limit(resource.RLIMIT_NPROC, int(limits["processes"]))
        protections["limits"] += f", {limits['processes']} processes"
    else:
        off.append(
            "process limit: none (the kernel counts processes per user, and a grader that is not root "
            "cannot give the sandbox a user of its own)"
        )


def _prefer_as_victim():
    """Make this process the one the kernel kills first if the machine runs out of memory, not a grader."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def die_with_parent():
    """Be killed when the process that started this one dies (the grader), whatever the cause."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


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
