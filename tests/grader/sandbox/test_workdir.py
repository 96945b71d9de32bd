"""Work folders: a live grader's is never touched; a killed grader's is removed by the next grader."""

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.authoring.module import build_module
from grader.grading.submission import read_submission
from grader.homework import manifest as manifests
from grader.paths import PROJECT_ROOT
from grader.sandbox import Sandbox, workdir
from grader.sandbox.calls import Status

HW = "hw1_backprop"
MANIFEST = manifests.load(HW)
HOURS = 3600


@pytest.fixture
def temp():
    """A temporary directory of its own (the sandbox's user must reach it, so under /tmp, not pytest's)."""
    folder = Path(tempfile.mkdtemp(prefix="workdir-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    workdir.remove_tree(folder)


def backdate(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def abandoned(temp: Path, name: str, age: float) -> Path:
    """A work folder of the given name and age, as a killed grader leaves it: nobody holds it."""
    folder = temp / name
    (folder / "scratch").mkdir(parents=True)
    (folder / "scratch" / f"{HW}.py").write_text("a student's submission\n")
    (folder / "root").mkdir()
    backdate(folder, age)
    return folder


def test_a_folder_nobody_holds_is_removed_once_a_minute_old(temp):
    gone = abandoned(temp, workdir.PREFIX + "killed", workdir.ABANDONED_SECONDS + 5)
    young = abandoned(temp, workdir.PREFIX + "being-made", 1)
    assert workdir.sweep(temp) == [gone]
    assert not gone.exists() and young.exists()


def test_a_live_sandboxs_folder_is_never_removed_however_old(temp, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    solution = temp / f"{HW}.py"
    solution.write_text(build_module(MANIFEST, solution=True))
    with Sandbox(read_submission(solution, HW), MANIFEST.limits, module_name=HW) as box:
        folder = box._workdir
        assert folder.parent == temp and folder.name.startswith(workdir.PREFIX)
        backdate(folder, 2 * HOURS)
        # Another grader on the machine sweeps: the lock is held by this process, alive.
        swept = subprocess.run(
            [sys.executable, "-c", f"from grader.sandbox import workdir; print(workdir.sweep({str(temp)!r}))"],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
        )
        assert swept.stdout.strip() == "[]", swept.stderr
        assert workdir.sweep(temp) == []
        assert box.call("sigmoid", 0.0).value == 0.5
    assert not folder.exists()


def test_only_this_users_own_real_folders_of_the_sandboxs_names_are_swept(temp):
    target = abandoned(temp, "not-a-work-folder", 2 * HOURS)
    link = temp / (workdir.PREFIX + "link")
    link.symlink_to(target)
    os.utime(link, (time.time() - 2 * HOURS,) * 2, follow_symlinks=False)
    others = [abandoned(temp, name, 3 * 24 * HOURS) for name in ("nn-grader-validate-x1", "nn-grader-build-12345678")]
    assert workdir.sweep(temp) == []
    assert target.is_dir() and list(target.iterdir()) and all(folder.exists() for folder in others)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_another_users_folder_is_never_swept(temp):
    theirs = abandoned(temp, workdir.PREFIX + "someone-elses", 2 * HOURS)
    os.chown(theirs, 12345, 12345)
    backdate(theirs, 2 * HOURS)
    assert workdir.sweep(temp) == [] and theirs.exists()


def test_folders_of_the_earlier_unlocked_layout_are_removed_once_a_day_old(temp):
    old = abandoned(temp, "nn-grader-ab_cd123", 25 * HOURS)
    recent = abandoned(temp, "nn-grader-ef_gh456", 2 * HOURS)
    not_ours = temp / "nn-grader-xy_zw789"  # the right name, but no scratch folder inside
    not_ours.mkdir()
    backdate(not_ours, 25 * HOURS)
    assert workdir.sweep(temp) == [old]
    assert recent.exists() and not_ours.exists()


def test_what_student_code_made_unreadable_is_made_removable_never_through_a_link(temp):
    """Root removes such folders anyway; any other user first makes them its own again (make_removable)."""
    folder = abandoned(temp, workdir.PREFIX + "locked-up", 2 * HOURS)
    sealed = folder / "scratch" / "sealed" / "deeper"
    sealed.mkdir(parents=True)
    (sealed / "data.npy").write_bytes(b"x" * 10)
    outside = temp / "outside"
    outside.mkdir()
    outside.chmod(0o751)
    (folder / "scratch" / "sealed" / "link").symlink_to(outside)
    sealed.chmod(0)
    sealed.parent.chmod(0o500)
    workdir.make_removable(folder)
    assert stat.S_IMODE(sealed.stat().st_mode) == stat.S_IMODE(sealed.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o751  # what a link points to is never changed
    sealed.chmod(0)
    assert workdir.sweep(temp) == [folder] and outside.is_dir()


def test_a_sandbox_restarted_after_a_timeout_keeps_one_locked_folder(temp, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    solution = temp / f"{HW}.py"
    solution.write_text(build_module(MANIFEST, solution=True) + "\ndef spin():\n    while True:\n        pass\n")
    limits = dataclasses.replace(MANIFEST.limits, call_seconds=0.5)
    with Sandbox(read_submission(solution, HW), limits, module_name=HW) as box:
        first = box._workdir
        assert box.call("spin").status == Status.TIMEOUT  # killed; the next call starts a new child
        assert box.call("sigmoid", 0.0).value == 0.5
        assert not first.exists() and box._workdir.exists()
        assert list(temp.glob(workdir.PREFIX + "*")) == [box._workdir]
        backdate(box._workdir, 2 * HOURS)
        assert workdir.sweep(temp) == []
    assert not list(temp.glob(workdir.PREFIX + "*"))


def test_a_grader_killed_while_grading_leaves_a_folder_the_next_grader_removes(temp, tmp_path):
    """As a TA meets it: `grader grade` killed outright (kill -9), then `grader grade` again."""
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(PROJECT_ROOT)}
    slow = temp / "slow" / f"{HW}.py"
    slow.parent.mkdir()
    slow.write_text(build_module(MANIFEST, solution=True) + "\nimport time\ntime.sleep(60)\n")
    grading = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "grade", str(slow), "--assignment", HW],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(temp.glob(f"{workdir.PREFIX}*/scratch/{HW}.py")) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [path.parent.parent for path in temp.glob(f"{workdir.PREFIX}*/scratch/{HW}.py")]
    assert left, "the grader never started its sandbox"
    grading.send_signal(signal.SIGKILL)
    grading.wait()
    assert all(folder.exists() for folder in left)  # a killed grader cannot remove its own folder

    for folder in left:
        backdate(folder, 2 * workdir.ABANDONED_SECONDS)
    solution = temp / "solution" / f"{HW}.py"
    solution.parent.mkdir()
    solution.write_text(build_module(MANIFEST, solution=True))
    result = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "grade", str(solution), "--assignment", HW, "--json", str(result)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    graded = json.loads(result.read_text())
    assert graded["score"] == graded["max_score"] > 0
    assert not any(folder.exists() for folder in left)
    assert not list(temp.glob(f"{workdir.PREFIX}*"))  # and its own is gone too
