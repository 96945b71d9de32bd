"""Sandboxes forked from the zygote: every protection of a fresh child, nothing carried from one to the next."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from grader.grading.submission import read_submission
from grader.homework.manifest import Limits
from grader.paths import PROJECT_ROOT
from grader.sandbox import Sandbox
from grader.sandbox.zygote import Zygote

LIMITS = Limits(call_seconds=3, load_seconds=5, cpu_seconds=20, memory_mb=512, output_kb=16, processes=32)
PROBE = textwrap.dedent('''
    import os, sys
    FIRST_SUBMISSIONS_GLOBAL = 1

    def a_module_defines(name):
        """Whether any module this process holds defines ``name`` (what a fork carries from its parent)."""
        return any(name in getattr(module, "__dict__", {}) for module in list(sys.modules.values()))

    def uid():
        return os.getuid()
''')


def sandbox(tmp_path, name: str, source: str, use_zygote: bool) -> Sandbox:
    path = tmp_path / name / "probe.py"
    path.parent.mkdir()
    path.write_text(source)
    box = Sandbox(read_submission(path), LIMITS, module_name="probe", use_zygote=use_zygote)
    assert not box.start().fatal
    return box


def test_a_sandbox_from_the_zygote_holds_every_protection_a_fresh_one_does(tmp_path):
    fresh = sandbox(tmp_path, "fresh", PROBE, use_zygote=False)
    forked = sandbox(tmp_path, "forked", PROBE, use_zygote=True)
    try:
        assert isinstance(forked._process.pid, int) and Zygote._current is not None
        assert set(forked.protections) == set(fresh.protections) and forked.protections_off == fresh.protections_off
        assert forked.call("uid").value != fresh.call("uid").value  # each its own user, as always
    finally:
        fresh.close()
        forked.close()


def test_nothing_of_one_submission_reaches_the_next_through_the_zygote(tmp_path):
    first = sandbox(tmp_path, "first", PROBE, use_zygote=True)
    assert first.call("a_module_defines", "FIRST_SUBMISSIONS_GLOBAL").value is True
    first.close()
    second = sandbox(tmp_path, "second", PROBE.replace("FIRST_SUBMISSIONS_GLOBAL = 1", ""), use_zygote=True)
    try:
        assert second.call("a_module_defines", "FIRST_SUBMISSIONS_GLOBAL").value is False
    finally:
        second.close()


def test_sandboxes_asked_for_at_once_each_get_their_own_fork_whatever_order_they_are_used_in(tmp_path):
    # spawn() does not wait for the zygote: each sandbox learns its fork's pid from the zygote's answers,
    # which come in the order the forks were asked for, whichever sandbox reads them.
    boxes = []
    for number in range(3):
        path = tmp_path / f"student{number}" / "probe.py"
        path.parent.mkdir()
        path.write_text(PROBE + f"\ndef number():\n    return {number}\n")
        boxes.append(Sandbox(read_submission(path), LIMITS, module_name="probe", use_zygote=True))
    try:
        for box in boxes:
            box.spawn()
        for box in reversed(boxes):
            assert not box.finish_loading().fatal
        assert len({box._process.pid for box in boxes}) == 3
        for number, box in enumerate(boxes):
            assert box.call("number").value == number
            box.reset()
            assert box.call("number").value == number
        boxes[0].close()  # kills the process it knows as its own: the others must still answer
        assert [box.call("number").value for box in boxes[1:]] == [1, 2]
        boxes[1].close()
        assert boxes[2].call("number").value == 2
    finally:
        for box in boxes:
            box.close()


def test_a_sandbox_closed_as_soon_as_it_is_started_ends_at_once(tmp_path):
    # A batch worker starts the next submission ahead, and closes it unused if grading fails first: the
    # close may come before the zygote's fork has even made its own process group.
    script = textwrap.dedent(f"""
        import pathlib
        from grader.grading.submission import read_submission
        from grader.homework.manifest import Limits
        from grader.sandbox import Sandbox
        path = pathlib.Path({str(tmp_path / "probe.py")!r})
        path.write_text("def f():\\n    return 1\\n")
        for _ in range(30):
            box = Sandbox(read_submission(path), Limits(), module_name="probe")
            box.spawn()
            box.close()
        print("closed")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert done.stdout.strip() == "closed", done.stderr


def test_a_zygote_that_died_is_replaced_and_grading_goes_on(tmp_path):
    box = sandbox(tmp_path, "before", PROBE, use_zygote=True)
    box.close()
    zygote = Zygote._current
    os.kill(zygote._process.pid, signal.SIGKILL)
    zygote._process.wait()
    after = sandbox(tmp_path, "after", PROBE, use_zygote=True)
    try:
        assert after.call("uid").status == "ok" and Zygote._current is not zygote
    finally:
        after.close()


def test_the_zygote_dies_with_its_grader():
    script = (
        "import time; from grader.sandbox.zygote import Zygote; z = Zygote.shared(); "
        "print(z._process.pid, flush=True); time.sleep(60)"
    )
    grader = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    zygote_pid = int(grader.stdout.readline())
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(zygote_pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{zygote_pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":  # dead, waiting for its reaper
                return
        time.sleep(0.05)
    pytest.fail("the zygote outlived its grader")
