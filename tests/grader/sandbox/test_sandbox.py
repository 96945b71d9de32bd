"""The sandbox: student code runs in a limited child process and only plain data comes back."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from grader.grading.submission import read_submission
from grader.homework.manifest import Limits
from grader.paths import PROJECT_ROOT
from grader.sandbox import Sandbox, parent
from grader.sandbox import view as sandbox_module

LIMITS = Limits(call_seconds=2, load_seconds=2, cpu_seconds=20, memory_mb=1024, output_kb=16, processes=32)

STUDENT = """
import os, sys, time
import numpy as np

def double(x):
    return 2 * x

def add_arrays(a, b):
    return a + b

def keep(a):
    return a

def change_in_place(values, scale, weights=None):
    values.append(scale)
    return len(values)

class Liar(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__

class LiarArray(np.ndarray):
    def __eq__(self, other):
        return True

def liar_float():
    return Liar(1.0)

def liar_array():
    return np.zeros(3).view(LiarArray)

def nested():
    return {"w": np.eye(2), "loss": np.float64(0.25), "steps": [1, 2.5, None, "done"]}

def broken(x):
    y = x + 1
    raise ValueError(f"bad shape {y}")

def spin():
    while True:
        pass

def leave():
    os._exit(0)

def allocate():
    return np.ones(10**10 // 8).sum()

def chatter():
    line = "x" * (1 << 20)
    for _ in range(100):
        print(line)
    return "done"

def unsendable():
    return object()

def not_a_function_but_a_number():
    return 1
"""


def make_submission(tmp_path: Path, source: str, name: str = "hw_student.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return read_submission(path)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    box = Sandbox(make_submission(tmp_path_factory.mktemp("student"), STUDENT), LIMITS)
    report = box.start()
    assert not report.fatal and not report.errors
    yield box
    box.close()


def open_sandbox(tmp_path, source, limits=LIMITS):
    box = Sandbox(make_submission(tmp_path, source), limits)
    box.start()
    return box


# ----- plain data ---------------------------------------------------------------------
def test_a_call_returns_plain_data(student):
    result = student.call("double", 21)
    assert result.status == "ok" and result.value == 42 and type(result.value) is int


def test_numpy_arrays_cross_both_ways_as_fresh_arrays(student):
    a, b = np.arange(3.0), np.ones(3)
    result = student.call("add_arrays", a, b)
    assert result.status == "ok" and type(result.value) is np.ndarray
    np.testing.assert_array_equal(result.value, [1, 2, 3])
    sent = np.zeros(2)
    back = student.call("keep", sent).value
    assert back is not sent and not np.shares_memory(back, sent)


def test_nested_results_keep_their_structure(student):
    value = student.call("nested").value
    np.testing.assert_array_equal(value["w"], np.eye(2))
    assert value["loss"] == 0.25 and type(value["loss"]) is float and value["steps"] == [1, 2.5, None, "done"]


def test_a_float_subclass_that_equals_everything_arrives_as_a_plain_float(student):
    value = student.call("liar_float").value
    assert type(value) is float and value == 1.0 and value != 2.0


def test_an_ndarray_subclass_that_equals_everything_arrives_as_a_plain_ndarray(student):
    value = student.call("liar_array").value
    assert type(value) is np.ndarray
    assert not bool(np.all(value == np.ones(3)))


# ----- errors -------------------------------------------------------------------------
def test_an_exception_is_an_error_naming_the_exception_and_the_students_line(student):
    result = student.call("broken", 1)
    assert result.status == "error"
    assert "ValueError: bad shape 2" in result.message
    line = STUDENT.splitlines().index('    raise ValueError(f"bad shape {y}")') + 1
    assert f"line {line}" in result.message and "in broken" in result.message


def test_a_missing_function_is_an_error_saying_the_submission_defines_no_such_function(student):
    result = student.call("forward_pass", 1)
    assert result.status == "error" and "defines no function forward_pass" in result.message


def test_an_object_that_is_not_plain_data_stays_in_the_sandbox_behind_a_handle(student):
    from grader.sandbox import Handle
    from grader.sandbox.handles import type_of

    result = student.call("unsendable")
    assert result.status == "ok" and isinstance(result.value, Handle) and type_of(result.value) == "object"


def test_an_infinite_loop_times_out_near_the_limit_and_the_next_call_works(tmp_path):
    box = open_sandbox(tmp_path, STUDENT)
    try:
        started = time.monotonic()
        result = box.call("spin")
        elapsed = time.monotonic() - started
        assert result.status == "timeout" and "did not return within 2 s" in result.message
        assert (
            elapsed < LIMITS.call_seconds + 10
        )  # stopped by the limit, not left to run: a liveness bound, not a speed target
        assert box.call("double", 4).value == 8
    finally:
        box.close()


def test_os_exit_in_a_function_is_a_crash_with_a_clear_message_and_the_next_call_works(tmp_path):
    box = open_sandbox(tmp_path, STUDENT)
    try:
        result = box.call("leave")
        assert result.status == "crash"
        assert "stopped while running leave" in result.message and "exited with status 0" in result.message
        assert box.call("double", 5).value == 10
    finally:
        box.close()


def test_a_10_gb_allocation_is_a_memory_error_and_the_next_call_works(tmp_path):
    box = open_sandbox(tmp_path, STUDENT)
    try:
        result = box.call("allocate")
        assert result.status == "error" and "MemoryError" in result.message
        assert box.call("double", 6).value == 12
    finally:
        box.close()


def test_printing_100_mb_completes_with_output_capped_and_counted(tmp_path):
    box = open_sandbox(tmp_path, STUDENT)
    result = box.call("chatter")
    box.close()
    assert result.status == "ok" and result.value == "done"
    assert len(box.output) <= LIMITS.output_kb * 1024
    assert box.output.startswith(b"xxxx")
    assert box.output_bytes >= 100 * 2**20


def test_sys_exit_at_top_level_is_a_load_error_of_that_chunk_and_earlier_functions_still_work(tmp_path):
    box = Sandbox(
        make_submission(
            tmp_path, "import sys\ndef early():\n    return 'here'\nsys.exit(3)\ndef late():\n    return 1\n"
        ),
        LIMITS,
    )
    try:
        report = box.start()
        assert not report.fatal
        assert [e["label"] for e in report.errors] == ["hw_student.py"]
        assert "SystemExit" in report.errors[0]["message"] and "line 4" in report.errors[0]["message"]
        assert box.call("early").value == "here"
        assert "defines no function late" in box.call("late").message
    finally:
        box.close()


def test_a_future_import_in_one_cell_holds_in_the_cells_after_it_as_in_jupyter(tmp_path):
    """The handouts begin with `from __future__ import annotations`: later cells annotate with names defined after."""
    cells = [
        "from __future__ import annotations",
        "def twice(x: Later) -> Later:\n    return 2 * x",
        "class Later:\n    def same(self) -> Later:\n        return self",
    ]
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "hw_student.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    box = Sandbox(read_submission(path), LIMITS)
    try:
        report = box.start()
        assert not report.fatal and not report.errors
        assert box.call("twice", 4).value == 8
    finally:
        box.close()


def test_a_syntax_error_is_a_load_error_naming_the_line(tmp_path):
    box = Sandbox(make_submission(tmp_path, "def fine():\n    return 1\n\ndef broken(:\n    pass\n"), LIMITS)
    try:
        report = box.start()
        assert not report.fatal and len(report.errors) == 1
        assert "SyntaxError" in report.errors[0]["message"] and "line 4" in report.errors[0]["message"]
    finally:
        box.close()


def test_an_infinite_loop_at_top_level_is_fatal_and_mentions_the_load_time_limit(tmp_path):
    box = Sandbox(make_submission(tmp_path, "while True:\n    pass\n"), LIMITS)
    started = time.monotonic()
    try:
        report = box.start()
        assert "did not finish loading within 2 s" in report.fatal
        assert time.monotonic() - started < LIMITS.load_seconds + 10  # a liveness bound, not a speed target
    finally:
        box.close()


# ----- the reply channel cannot be forged -----------------------------------------------
FORGER = '''
import json, os, struct

def _frame(message):
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body

def _reply_fds():
    fds = []
    for fd in range(3, 64):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            pass
    return fds

def forge_next():
    """Writes fake replies (no id, a guessed id) to every open fd, then answers honestly."""
    for fd in _reply_fds():
        for message in ({"kind": "result", "value": "FORGED"}, {"kind": "result", "value": "FORGED", "id": "0"}):
            try:
                os.write(fd, _frame(message))
            except OSError:
                pass
    return "honest"

def answer():
    return "real answer"

def huge_claim():
    for fd in _reply_fds():
        try:
            os.write(fd, struct.pack(">I", 0xFFFFFFFF))
        except OSError:
            pass
    import time
    time.sleep(5)

def nested_bomb():
    for fd in _reply_fds():
        try:
            os.write(fd, _frame_raw(b"[" * 200000 + b"]" * 200000))
        except OSError:
            pass
    import time
    time.sleep(5)

def _frame_raw(body):
    return struct.pack(">I", len(body)) + body

def open_fds():
    return [0, 1, 2] + _reply_fds()
'''


def test_a_fake_reply_written_to_the_pipe_is_never_taken_for_a_later_call(tmp_path):
    box = open_sandbox(tmp_path, FORGER)
    try:
        assert box.call("forge_next").value == "honest"
        assert box.call("answer").value == "real answer"
        assert box.call("answer").value == "real answer"
    finally:
        box.close()


def test_a_reply_claiming_4_gb_is_refused_without_reading_it_and_the_next_call_works(tmp_path):
    box = open_sandbox(tmp_path, FORGER)
    try:
        result = box.call("huge_claim")
        assert result.status == "crash" and "more than any reply may have" in result.message
        assert box.call("answer").value == "real answer"
    finally:
        box.close()


def test_a_reply_nested_too_deeply_is_a_crash_not_a_grader_error(tmp_path):
    box = open_sandbox(tmp_path, FORGER)
    try:
        result = box.call("nested_bomb")
        assert result.status == "crash" and "not plain data" in result.message
        assert box.call("answer").value == "real answer"
    finally:
        box.close()


def test_only_the_standard_streams_and_the_two_protocol_pipes_are_open_in_the_child(tmp_path):
    box = open_sandbox(tmp_path, FORGER)
    try:
        fds = box.call("open_fds").value
        assert fds[:3] == [0, 1, 2] and len(fds) == 5
    finally:
        box.close()


def test_the_sandbox_modules_load_nothing_that_makes_each_copy_dearer():
    """Every test's copy of the submission is a fork of the loaded process, and a fork (and its exit) costs in
    proportion to what that process has mapped: hashlib alone maps libcrypto, and the modules below together
    made a fork and exit of it 1.5 ms instead of 0.9 (on a 2-core build machine). So the child's own modules
    import none of them; only what the submission itself imports is loaded."""
    script = (
        "import sys, os\n"
        f"sys.path[:0] = [{str(Path(np.__file__).parent.parent)!r}, {str(PROJECT_ROOT / 'grader' / 'sandbox')!r}]\n"
        "import numpy\n"
        "before = set(sys.modules)\n"
        "import isolation, operations, protocol\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert {"isolation", "operations", "protocol"} <= loaded
    dear = {"hashlib", "_hashlib", "hmac", "secrets", "random", "ctypes.util", "subprocess", "shutil", "bz2", "lzma"}
    assert not loaded & dear


def test_the_c_library_is_found_without_a_subprocess_where_glibc_names_it(monkeypatch):
    """ctypes.util.find_library runs ``ldconfig -p``: a process started in every zygote, asked only off glibc."""
    import ctypes
    import ctypes.util
    import subprocess

    from grader.sandbox import isolation

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    assert isolation._load_libc().unshare  # the function the namespaces need is there

    glibc_name = ctypes.CDLL

    def musl(name, *args, **kwargs):
        if name == "libc.so.6":
            raise OSError("libc.so.6: cannot open shared object file")
        return glibc_name(name, *args, **kwargs)

    mapped = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "/libc.so" in line}
    asked = []
    monkeypatch.setattr(ctypes, "CDLL", musl)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: asked.append(name) or mapped.pop())
    assert isolation._load_libc().unshare
    assert asked == ["c"]


# ----- isolation (real only as root, with namespaces) -------------------------------------
ISOLATION = '''
import os, signal, socket, threading, time

def connect():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1).close()
        return "connected"
    except OSError as error:
        return type(error).__name__

def exists(path):
    return os.path.exists(path)

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read(100).decode("latin-1")
    except OSError as error:
        return type(error).__name__

def import_reference():
    try:
        import reference
        return "imported " + repr(getattr(reference, "__path__", ""))
    except ImportError as error:
        return type(error).__name__

def uid():
    return os.getuid()

def environment():
    return dict(os.environ)

def threads(count):
    release, started = threading.Event(), 0
    for _ in range(count):
        try:
            threading.Thread(target=release.wait, daemon=True).start()
            started += 1
        except RuntimeError:
            break
    release.set()
    return started

def big_file(megabytes):
    try:
        with open("/scratch/big.bin", "wb") as f:
            for _ in range(megabytes):
                f.write(b"x" * (1 << 20))
        return "written"
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror}"

def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return "killed"
    except OSError as error:
        return type(error).__name__

def escape():
    """chroot, the old root, then a user namespace of its own (allowed here) to unmount the new root."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    attempts = []
    for attempt in (lambda: os.chroot("/tmp"), lambda: os.listdir("/.old_root")):
        try:
            attempt()
            attempts.append("worked")
        except OSError as error:
            attempts.append(type(error).__name__)
    in_namespace = libc.unshare(0x10000000 | 0x00020000) == 0  # CLONE_NEWUSER | CLONE_NEWNS
    unmounted = in_namespace and libc.umount2(b"/", 2) == 0
    attempts.append("unmounted /" if unmounted else "umount refused")
    attempts.append(sorted(os.listdir("/")))
    return attempts

def background():
    """fork + setsid: a grandchild that would outlive the call."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(write_end, b"!")
            time.sleep(60)
        os._exit(0)
    os.waitpid(pid, 0)
    os.read(read_end, 1)
    return "started"
'''


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    os.environ["SECRET_TOKEN"] = "do-not-leak"
    try:
        box = Sandbox(make_submission(tmp_path_factory.mktemp("isolated"), ISOLATION), LIMITS)
        box.start()
    finally:
        del os.environ["SECRET_TOKEN"]
    if os.getuid() != 0:
        box.close()
        pytest.skip("isolation is real only when the grader runs as root (these tests run as an ordinary user)")
    if box.protections_off:
        box.close()
        pytest.skip(f"namespaces or the user switch are unavailable here: {box.protections_off}")
    yield box
    box.close()


def test_the_network_is_unreachable(isolated):
    assert isolated.call("connect").value != "connected"


def test_the_project_directory_and_the_reference_do_not_exist_in_the_sandbox(isolated):
    for path in (PROJECT_ROOT, PROJECT_ROOT / "reference", PROJECT_ROOT / "assignments", Path.cwd()):
        assert isolated.call("exists", str(path)).value is False
    assert isolated.call("import_reference").value in ("ModuleNotFoundError", "ImportError")


def test_the_graders_output_file_and_the_parents_proc_entries_cannot_be_read(isolated, tmp_path):
    secret = tmp_path / "result.json"
    secret.write_text('{"score": 0}')
    assert isolated.call("read", str(secret)).value in ("FileNotFoundError", "PermissionError")
    for path in (f"/proc/{os.getpid()}/environ", f"/proc/{os.getpid()}/cwd/pyproject.toml", "/proc/1/environ"):
        assert isolated.call("read", path).value in ("FileNotFoundError", "PermissionError")


def test_the_student_runs_as_a_reserved_user_of_its_own(isolated):
    from grader.sandbox.users import uid_range

    uid = isolated.call("uid").value
    first, last = uid_range()
    assert first <= uid <= last
    assert isolated.protections["user"].endswith(f"(uid {uid})")


def test_the_environment_is_scrubbed(isolated):
    environment = isolated.call("environment").value
    assert "SECRET_TOKEN" not in environment
    assert not any(key.startswith(("GRADER", "PYTEST", "GRADESCOPE")) for key in environment)


def test_threads_are_limited_by_the_process_limit_without_hanging(isolated):
    result = isolated.call("threads", 200)
    assert result.status == "ok" and 0 < result.value <= LIMITS.processes


def test_a_huge_file_in_scratch_fails_beyond_the_file_size_limit(isolated):
    assert isolated.call("big_file", 64).value.startswith("OSError: File too large")


def test_the_child_cannot_kill_the_grader(isolated):
    assert isolated.call("kill", os.getpid()).value in ("PermissionError", "ProcessLookupError")
    assert isolated.call("kill", 1).value in ("PermissionError", "ProcessLookupError", "killed")  # 1: its own namespace


def test_the_root_cannot_be_escaped(isolated):
    box = isolated
    chroot, old_root, unmount, listing = box.call("escape").value
    assert chroot == "PermissionError" and old_root == "FileNotFoundError" and unmount == "umount refused"
    assert "work" not in listing and "home" not in listing and "proc" not in listing
    box.close()  # the escape attempt changed the namespaces of this child: start a fresh one for later tests
    box.start()


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found | {pid}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_after_close_no_process_of_the_sandbox_remains_not_even_a_detached_grandchild(tmp_path):
    box = open_sandbox(tmp_path, ISOLATION)
    if "processes" not in box.protections:
        box.close()
        pytest.skip(f"no PID namespace here, a detached grandchild may outlive the sandbox: {box.protections_off}")
    assert box.call("background").value == "started"
    processes = descendants(box._process.pid)
    workdir = box._workdir
    assert len(processes) >= 3  # the waiting parent, the student's process, the grandchild
    box.close()
    deadline = time.monotonic() + 2
    while any(alive(pid) for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in processes if alive(pid)]
    assert not workdir.exists()


def test_an_installed_copy_of_the_project_inside_a_visible_directory_is_hidden(tmp_path, monkeypatch):
    fake_site = tmp_path / "site"
    (fake_site / "reference").mkdir(parents=True)
    (fake_site / "reference" / "__init__.py").write_text("ANSWER = 42\n")
    os.chmod(tmp_path, 0o755)
    real = sandbox_module.read_only_paths
    monkeypatch.setattr(sandbox_module, "read_only_paths", lambda: real() + [str(fake_site)])
    monkeypatch.setattr(
        sandbox_module, "site", type("site", (), {"getsitepackages": staticmethod(lambda: [str(fake_site)])})
    )
    box = open_sandbox(tmp_path, ISOLATION)
    try:
        if box.protections_off:
            pytest.skip(f"namespaces are unavailable here: {box.protections_off}")
        assert box.call("exists", str(fake_site)).value is True
        assert box.call("read", str(fake_site / "reference" / "__init__.py")).value in (
            "PermissionError",
            "FileNotFoundError",
        )
    finally:
        box.close()


@pytest.mark.parametrize("named_by", ["NN_GRADER_COURSE", "private"])
def test_a_course_folder_inside_a_visible_directory_is_hidden(tmp_path, monkeypatch, named_by):
    visible = tmp_path / "visible"
    hidden_test = visible / "my-course" / "assignments" / "hw0" / "tests" / "hidden" / "test_secret.py"
    hidden_test.parent.mkdir(parents=True)
    hidden_test.write_text("EXPECTED = 0.25\n")
    os.chmod(tmp_path, 0o755)
    real = sandbox_module.read_only_paths
    monkeypatch.setattr(sandbox_module, "read_only_paths", lambda: real() + [str(visible)])
    course = visible / "my-course"
    monkeypatch.setenv("NN_GRADER_COURSE", str(course) if named_by == "NN_GRADER_COURSE" else "")
    private = [course] if named_by == "private" else []
    box = Sandbox(make_submission(tmp_path, ISOLATION), LIMITS, private=private)
    box.start()
    try:
        if box.protections_off:
            pytest.skip(f"namespaces are unavailable here: {box.protections_off}")
        assert box.call("exists", str(visible)).value is True
        assert box.call("read", str(hidden_test)).value in ("PermissionError", "FileNotFoundError")
    finally:
        box.close()


def test_the_report_of_protections_names_what_held(tmp_path):
    box = open_sandbox(tmp_path, "def f():\n    return 1\n")
    try:
        assert box.call("f").value == 1
        held = " ".join(box.protections)
        if os.getuid() == 0 and not box.protections_off:
            for name in ("network", "filesystem", "limits", "user", "processes"):
                assert name in held
        else:
            assert box.protections_off
    finally:
        box.close()


def test_a_student_process_that_leaves_the_process_group_still_dies_when_its_call_times_out(tmp_path):
    source = (
        "import os\ndef detach_and_spin():\n    try:\n        os.setsid()\n    except OSError:\n        pass\n"
        "    while True:\n        pass\n"
    )
    box = open_sandbox(tmp_path, source)
    try:
        pid = box._process.pid
        processes = descendants(pid)
        assert box.call("detach_and_spin").status == "timeout"
    finally:
        box.close()
    deadline = time.monotonic() + 2
    while any(alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in processes if alive(p)]


def test_without_namespaces_replies_still_cannot_be_forged_and_what_is_off_is_said(tmp_path):
    box = Sandbox(make_submission(tmp_path, FORGER), LIMITS, use_namespaces=False)
    try:
        box.start()
        assert any(entry.startswith("processes") for entry in box.protections_off)
        assert any(entry.startswith("network") for entry in box.protections_off)
        assert box.call("forge_next").value == "honest"
        assert box.call("answer").value == "real answer"
    finally:
        box.close()


def test_running_out_of_cpu_time_is_reported_as_cpu_time(tmp_path):
    limits = Limits(call_seconds=20, load_seconds=5, cpu_seconds=1, memory_mb=1024, output_kb=16, processes=32)
    box = open_sandbox(tmp_path, "def burn():\n    while True:\n        pass\n", limits)
    try:
        result = box.call("burn")
        assert result.status == "crash"
        assert "more than 1 s of CPU time" in result.message
    finally:
        box.close()


# ----- a fresh copy of the submission for every test --------------------------------------
MEMORY = """
import os

calls = []

def count():
    calls.append(1)
    return len(calls)

def die():
    os._exit(0)
"""


def test_reset_gives_the_next_calls_a_fresh_copy_of_the_loaded_submission(tmp_path):
    box = open_sandbox(tmp_path, MEMORY)
    try:
        assert [box.call("count").value for _ in range(3)] == [1, 2, 3]
        box.reset()
        assert box.call("count").value == 1
    finally:
        box.close()


def test_a_test_that_takes_long_before_its_first_call_gets_a_fresh_copy_not_a_reload(tmp_path, monkeypatch):
    # reset() does not wait for the old copy's end; the next request does, and counts its wait from then.
    monkeypatch.setattr(parent, "RESET_SECONDS", 0.2)
    box = open_sandbox(tmp_path, MEMORY)
    try:
        sandbox_process = box._process.pid
        assert [box.call("count").value for _ in range(2)] == [1, 2]
        box.reset()
        time.sleep(0.5)  # the grader's own work (a slow fixture, a reference computation) before the next call
        assert box.call("count").value == 1
        assert box._process.pid == sandbox_process  # the same sandbox: nothing was loaded again
    finally:
        box.close()


def test_a_crash_in_one_call_costs_no_reload_the_next_call_runs_in_a_fresh_fork(tmp_path):
    box = open_sandbox(tmp_path, MEMORY)
    try:
        box.call("count")
        sandbox_process = box._process.pid
        crashed = box.call("die")
        assert crashed.status == "crash" and "stopped while running die" in crashed.message
        assert box.call("count").value == 1  # a fresh fork of the loaded module
        assert box._process.pid == sandbox_process  # the same sandbox: nothing was loaded again
    finally:
        box.close()


LATE_END = """
import os, threading, time

# Runs in the fork server after every fork: it answers the grader late, long after the new copy could.
os.register_at_fork(after_in_parent=lambda: time.sleep(0.3))

def die_soon():  # the copy ends on its own between two requests
    threading.Thread(target=lambda: (time.sleep(0.1), os._exit(7))).start()
    return 1

def double(x):
    return 2 * x
"""


def test_a_copy_that_ends_between_two_calls_fails_the_call_that_finds_it_gone_and_no_later_test(tmp_path):
    """The call after the copy's own end is that test's crash; the next test's calls all run, in a fresh copy."""
    box = open_sandbox(tmp_path, LATE_END)
    try:
        assert box.call("die_soon").value == 1
        time.sleep(0.6)  # the copy ends on its own (0.1 s after the call)
        assert box.call("double", 1).status == "crash"
        box.reset()
        answers = []
        for x in (10, 11, 12):
            time.sleep(0.4)  # the grader's own work between calls: time for any late report to arrive
            answers.append(box.call("double", x))
        assert [(a.status, a.value) for a in answers] == [("ok", 20), ("ok", 22), ("ok", 24)]
    finally:
        box.close()


def test_a_copy_that_ends_on_its_own_after_its_last_call_costs_the_next_test_nothing(tmp_path):
    """Its end is reported before the reset is read, by the next copy: neither end is the next test's crash."""
    box = open_sandbox(tmp_path, LATE_END)
    try:
        assert box.call("die_soon").value == 1  # the test's last call; its copy ends 0.1 s later
        time.sleep(0.6)
        box.reset()
        assert [(a.status, a.value) for a in (box.call("double", 1), box.call("double", 2))] == [("ok", 2), ("ok", 4)]
        box.reset()
        assert [box.call("double", x).value for x in (3, 4)] == [6, 8]
    finally:
        box.close()


BORN_DEAD = """
import os

os.register_at_fork(after_in_child=lambda: os._exit(7))  # every copy ends as it starts

def double(x):
    return 2 * x
"""


def test_copies_that_end_as_they_start_make_crashes_not_a_reset_that_waits_out_its_time(tmp_path):
    box = open_sandbox(tmp_path, BORN_DEAD)
    try:
        sandbox_process = box._process.pid
        for _ in range(3):
            assert box.call("double", 1).status == "crash"
            box.reset()
        assert box._process.pid == sandbox_process  # no reset waited for an end that never comes, then reloaded
    finally:
        box.close()


def test_a_background_process_started_in_one_test_is_gone_after_reset(tmp_path):
    box = open_sandbox(tmp_path, ISOLATION)
    try:
        if "processes" not in box.protections:
            pytest.skip(f"no PID namespace here: {box.protections_off}")
        assert box.call("background").value == "started"
        before = descendants(box._process.pid)
        assert len(before) >= 4  # the waiting parent, process 1, the fork that ran the test, the grandchild
        box.reset()
        deadline = time.monotonic() + 2
        leftovers = [pid for pid in before if alive(pid)]
        while len(leftovers) > 3 and time.monotonic() < deadline:  # the waiting parent, process 1, a new fork
            time.sleep(0.05)
            leftovers = [pid for pid in descendants(box._process.pid) if alive(pid)]
        assert len(leftovers) <= 3
    finally:
        box.close()


FILL_THE_PROCESS_LIMIT = """
import os, threading, time

calls = []

def count():
    calls.append(1)
    return len(calls)

def fill(most):  # leaves up to ``most`` sleeping processes, as many as the process limit allows
    started = 0
    while started < most:
        try:
            child = os.fork()
        except OSError:
            return started
        if child == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
    return started

def threads(most):  # starts up to ``most`` threads at once (the limit counts them too), then ends them
    stop, started = threading.Event(), []
    for _ in range(most):
        try:
            started.append(threading.Thread(target=stop.wait))
            started[-1].start()
        except RuntimeError:
            started.pop()
            break
    stop.set()
    for thread in started:
        thread.join()
    return len(started)
"""


def test_processes_a_test_left_up_to_the_process_limit_take_nothing_from_the_next_tests_limit(tmp_path):
    # Every process a copy left is ended, and reaped, before the next copy is forked: each test has the
    # whole limit, however full the test before left it.
    box = open_sandbox(tmp_path, FILL_THE_PROCESS_LIMIT)
    try:
        if "processes" not in box.protections or "processes" not in box.protections.get("limits", ""):
            pytest.skip(f"no PID namespace or no process limit here: {box.protections_off}")
        sandbox_process = box._process.pid
        room = box.call("threads", 100).value  # the whole limit, taken at once
        left_most = box.call("fill", 100).value
        assert room > 2 and left_most > 2
        for left in [left_most, left_most // 2, 1] * 4:
            box.reset()
            assert box.call("fill", left).value == left
            box.reset()  # the next test, at once: the whole limit again, however many the last test left
            assert (box.call("threads", 100).value, box.call("count").value) == (room, 1)
        assert box._process.pid == sandbox_process  # no reset waited out its time and loaded the submission again
    finally:
        box.close()


THREAD_AT_LOAD = """
import os, threading, time

threading.Thread(target=threading.Event().wait, daemon=True).start()  # lives on in the loaded process
# After each fork the loaded process sleeps here: a signal sent to it meanwhile goes to the thread above.
os.register_at_fork(after_in_parent=lambda: time.sleep(0.2))

calls = []

def count():
    calls.append(1)
    return len(calls)
"""


def test_a_thread_the_submission_started_while_loading_keeps_no_copy_from_being_renewed(tmp_path):
    # Such a thread lives on in the loaded process and may take any signal sent to it (a copy's end, SIGCHLD):
    # the loaded process must learn of each end by waiting for it, never by a signal alone.
    box = open_sandbox(tmp_path, THREAD_AT_LOAD)
    try:
        sandbox_process = box._process.pid
        for _ in range(4):  # each copy ends while the loaded process sleeps after forking it
            assert [box.call("count").value for _ in range(2)] == [1, 2]
            box.reset()
        assert box._process.pid == sandbox_process
    finally:
        box.close()


IGNORES_ITS_CHILDREN = (
    MEMORY
    + """
import signal

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # while loading: the kernel would then reap every copy unasked

def ignores_children():
    return signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN
"""
)


def test_a_submission_that_ignores_its_children_while_loading_still_has_its_copies_ends_seen(tmp_path):
    box = open_sandbox(tmp_path, IGNORES_ITS_CHILDREN)
    try:
        sandbox_process = box._process.pid
        crashed = box.call("die")
        assert crashed.status == "crash" and "stopped while running die" in crashed.message
        assert box.call("count").value == 1
        box.reset()
        assert box.call("count").value == 1
        assert box._process.pid == sandbox_process
        assert box.call("ignores_children").value is True  # in each copy, as it asked
    finally:
        box.close()


def test_a_call_reports_which_arguments_it_changed_in_place(student):
    result = student.call("change_in_place", [1.0, 2.0], 3.0, weights={"w": 1.0})
    assert result.status == "ok" and result.value == 3 and result.changed == ["values"]
    assert student.call("keep", [1.0]).changed == []
