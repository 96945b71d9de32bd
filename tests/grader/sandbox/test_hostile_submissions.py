"""The hostile-submission corpus around the sandbox: each attack, the grade it may not exceed, the message it gets.

The sandbox's own walls are tested in test_sandbox.py; these are the attacks
on what surrounds it: reading the submission (links, pipes), other sandboxes
on the same machine (fork bombs beside a correct solution, in two grader
processes and inside one batch), and what a sandbox sends back (a forged load
report, a data bomb). A correct solution graded beside an attack keeps full
marks every time.
"""

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader import gradescope
from grader.authoring.module import build_module
from grader.batch import run_batch
from grader.grading.grade import grade
from grader.homework import manifest as manifests
from grader.paths import PROJECT_ROOT

HW = "hw1_backprop"
MANIFEST = manifests.load(HW)
QUICK = replace(MANIFEST.limits, call_seconds=2, load_seconds=5)
as_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="the grader reads submissions as root and gives sandboxes users of their own only when it runs as root",
)


@pytest.fixture(scope="module")
def solution() -> str:
    return build_module(MANIFEST, solution=True)


def grade_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The `grader` command as a user runs it, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT
    )


def graded(path: Path, tmp_path: Path, command: str = "grade") -> dict:
    out = tmp_path / f"result-{time.monotonic_ns()}.json"
    done = grade_cli(command, str(path), "--assignment", HW, "--json", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def assert_refused(result: dict, what: str, secret: str = "") -> None:
    """Scored 0, every test saying the submission was refused as ``what``, nothing of a link's target shown."""
    assert result["score"] == 0
    assert any(what in error for error in result["errors"]), result["errors"]
    assert all(test["status"] == "error" and what in test["message"] for test in result["tests"])
    if secret:
        assert secret not in json.dumps(result)


# ----- 1. links, pipes and devices are never read --------------------------------------------------------
@pytest.mark.parametrize("command", ["grade", "check"])
def test_a_folder_whose_file_links_to_the_reference_scores_zero(tmp_path, command):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / f"{HW}.py").symlink_to(PROJECT_ROOT / "reference" / "backprop.py")
    assert_refused(graded(folder, tmp_path, command), f"{HW}.py is a symbolic link")


def test_a_submission_that_is_itself_a_link_scores_zero(tmp_path, solution):
    target = tmp_path / "elsewhere.py"
    target.write_text(solution)
    link = tmp_path / f"{HW}.py"
    link.symlink_to(target)
    assert_refused(graded(link, tmp_path), "is a symbolic link")


def test_a_link_to_a_root_only_file_never_echoes_its_contents(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("API_KEY = 'hunter2-do-not-show'\n")
    secret.chmod(0o600)
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / f"{HW}.py").symlink_to(secret)
    result = graded(folder, tmp_path)
    assert_refused(result, "is a symbolic link", secret="hunter2")
    assert str(secret) not in json.dumps(result)  # the message names the entry, never what it points to


def test_a_link_anywhere_in_the_folder_refuses_the_submission(tmp_path, solution):
    folder = tmp_path / "submission"
    (folder / "data").mkdir(parents=True)
    (folder / f"{HW}.py").write_text(solution)
    (folder / "data" / "notes.txt").symlink_to("/etc/shadow")
    assert_refused(graded(folder, tmp_path), "data/notes.txt is a symbolic link")


def test_a_named_pipe_is_refused_at_once_not_waited_on(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    os.mkfifo(folder / f"{HW}.py")  # opening it to read would block until a writer came
    started = time.monotonic()
    result = grade(folder, HW, limits=QUICK)
    assert time.monotonic() - started < 60
    assert result.score == 0 and "is a named pipe (FIFO)" in result.errors[0]


def test_in_a_batch_a_link_to_a_classmates_work_gets_zero_and_the_classmate_keeps_full_marks(tmp_path, solution):
    classroom = tmp_path / "class"
    (classroom / "alice").mkdir(parents=True)
    (classroom / "alice" / f"{HW}.py").write_text(solution)
    (classroom / "bob").mkdir()
    (classroom / "bob" / f"{HW}.py").symlink_to(Path("..") / "alice" / f"{HW}.py")  # Bob's file is Alice's
    (classroom / "carol").symlink_to("alice")  # Carol's folder is Alice's
    (classroom / "dave.py").symlink_to(classroom / "alice" / f"{HW}.py")
    assert run_batch(classroom, HW, tmp_path / "out", workers=2) == 0
    results = {
        s: json.loads((tmp_path / "out" / s / "result.json").read_text()) for s in ("alice", "bob", "carol", "dave")
    }
    assert results["alice"]["score"] == 20
    for student in ("bob", "carol", "dave"):
        assert_refused(results[student], "is a symbolic link")
    assert "bob" in (tmp_path / "out" / "gradebook.csv").read_text()


def test_on_gradescope_a_link_to_the_public_reference_scores_zero(tmp_path):
    root = tmp_path / "autograder"
    (root / "source" / "reference").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "source" / "grader_config.json").write_text(json.dumps({"assignment": HW}))
    reference = root / "source" / "reference" / "backprop.py"
    reference.write_text((PROJECT_ROOT / "reference" / "backprop.py").read_text())
    (root / "submission" / f"{HW}.py").symlink_to(reference)
    assert gradescope.run(root, limits=QUICK) == 0
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 0
    assert "symbolic link" in data["output"]


@as_root
def test_protecting_the_graders_folders_never_changes_a_links_target(tmp_path):
    """`gradescope run` makes source/ and results/ root-only; a link in their place must not pass that on."""
    root = tmp_path / "autograder"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    target = tmp_path / "public.txt"
    target.write_text("readable by all")
    target.chmod(0o644)
    (root / "results").symlink_to(elsewhere)
    (root / "submission_metadata.json").symlink_to(target)
    gradescope.protect(root)
    assert (elsewhere.stat().st_mode & 0o777, target.stat().st_mode & 0o777) == (0o755, 0o644)


# ----- 2. no submission's processes change another's outcome ---------------------------------------------
# Load time: take every process the sandbox's user may have and keep them, so that nothing else
# running as that user (the fork that answers each test, above all) can start.
FORK_BOMB = textwrap.dedent("""
    import os as _os, time as _time

    def _take_every_process_slot(seconds):
        while True:
            try:
                pid = _os.fork()
            except OSError:
                return
            if pid == 0:
                _time.sleep(seconds)
                _os._exit(0)

    _take_every_process_slot(6)
    """)


def fork_bomb(solution: str) -> str:
    return solution + FORK_BOMB


@as_root
def test_a_fork_bomb_graded_in_another_grader_process_leaves_a_correct_solution_at_full_marks(tmp_path, solution):
    (tmp_path / "bomb").mkdir()
    (tmp_path / "bomb" / f"{HW}.py").write_text(fork_bomb(solution))
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / f"{HW}.py").write_text(solution)
    command = [sys.executable, "-m", "grader.cli", "grade", "--assignment", HW, "--json"]
    for round_ in range(3):  # every time, not once
        bomb = subprocess.Popen(
            command + [str(tmp_path / f"bomb-{round_}.json"), str(tmp_path / "bomb")],
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)  # the bomb has loaded and holds its processes
        good = graded(tmp_path / "good", tmp_path)
        assert bomb.poll() is None, "the fork bomb finished before the correct solution was graded beside it"
        assert good["score"] == 20, [t["message"] for t in good["tests"] if t["status"] != "passed"]
        assert bomb.wait(timeout=300) == 0, bomb.stderr.read()
        assert json.loads((tmp_path / f"bomb-{round_}.json").read_text())["score"] < 20


@as_root
def test_a_fork_bomb_in_a_batch_leaves_every_correct_classmate_at_full_marks(tmp_path, solution):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "bomb.py").write_text(fork_bomb(solution))
    for student in ("alice", "bob", "carol", "dave", "erin"):
        (classroom / f"{student}.py").write_text(solution)
    assert run_batch(classroom, HW, tmp_path / "out", workers=2) == 0
    for student in ("alice", "bob", "carol", "dave", "erin"):
        result = json.loads((tmp_path / "out" / student / "result.json").read_text())
        assert result["score"] == 20, (student, [t["message"] for t in result["tests"] if t["status"] != "passed"])
    assert json.loads((tmp_path / "out" / "bomb" / "result.json").read_text())["score"] < 20


# ----- 3. what a sandbox sends back is bounded before it is decoded --------------------------------------
# Student code can find the grader's request (and the pipe to answer it) in the frames that called it.
FORGE = textwrap.dedent("""
    import json as _json, os as _os, struct as _struct, sys as _sys

    def _send_as_the_sandbox(variable, message):
        frame = _sys._getframe()
        while frame is not None and not {variable, "reply_fd"} <= set(frame.f_locals):
            frame = frame.f_back
        request, reply_fd = frame.f_locals[variable], frame.f_locals["reply_fd"]
        body = _json.dumps({**message, "id": request["id"]}).encode()
        _os.write(reply_fd, _struct.pack(">I", len(body)) + body)
    """)


@pytest.mark.parametrize("count", [30_000, 400])
def test_a_forged_load_report_is_cut_to_its_bounds(tmp_path, solution, count):
    """30,000 errors of 2,000 characters (60 MB) are refused unread; 400 (0.8 MB) are cut to 50."""
    forged = FORGE + textwrap.dedent(f"""
        _send_as_the_sandbox("load_request", {{"kind": "ready", "defined": ["x"] * 10_000,
                                              "errors": [{{"label": "cell 1", "message": "E" * 2000}}] * {count}}})
        """)
    path = tmp_path / f"{HW}.py"
    path.write_text(solution + forged)
    result = grade(path, HW, limits=QUICK)
    size = len(json.dumps(result.to_dict()))
    assert size < 200_000, f"the result is {size} bytes"
    if count > 1000:
        assert result.score == 0 and "more than any reply may have" in result.errors[0]
    else:
        assert result.score == 20  # the forged report is the student's own business; its size is not
        assert len(result.errors) == 50 and result.errors[-1].endswith("… and 351 more errors")


DATA_BOMB = FORGE + textwrap.dedent("""
    def sigmoid_derivative(z):
        _send_as_the_sandbox("request", {"kind": "result", "value": [{"k": [0.5]}] * 1_300_000})
        return 0.0
    """)


def test_a_data_bomb_reply_is_refused_before_decoding_and_costs_the_grader_little_memory(tmp_path, solution):
    """16 MB of ``[{"k":[0.5]},...]``: 3.9 million objects, which cost a grader that decodes them 5 s and 800 MB."""
    path = tmp_path / f"{HW}.py"
    path.write_text(solution + DATA_BOMB)
    script = (
        f"import json, resource; from grader.grading.grade import grade; from grader.homework.manifest import Limits\n"
        f"r = grade({str(path)!r}, {HW!r}, limits=Limits(call_seconds=10, load_seconds=5))\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'result': r.to_dict(), 'peak_mb': peak}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    result = report["result"]
    bombed = [t for t in result["tests"] if t["functions"][0] == "sigmoid_derivative"]
    assert bombed and all(t["score"] == 0 and "list or dict items" in t["message"] for t in bombed)
    assert result["score"] == 20 - sum(t["max_score"] for t in bombed)  # every other function keeps its points
    assert report["peak_mb"] < 500, f"the grader's peak memory was {report['peak_mb']:.0f} MB"
