"""Tests collected once and run for submission after submission (a batch worker's session) grade as a fresh run does."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading.harness import HarnessPlugin, TestSession, run_tests
from grader.grading.submission import read_submission
from grader.homework.manifest import Limits
from grader.paths import PROJECT_ROOT
from grader.sandbox import Sandbox

LIMITS = Limits(call_seconds=3, load_seconds=5, cpu_seconds=20, memory_mb=512, output_kb=16, processes=32)
TESTS = """
import os

import pytest


@pytest.fixture(scope="session")
def journal():
    # Where each setup and teardown of this session-scoped fixture is written down.
    path = os.environ["JOURNAL"]
    with open(path, "a") as f:
        f.write("made\\n")
    yield
    with open(path, "a") as f:
        f.write("ended\\n")


@pytest.fixture
def checked(student, journal):
    value = student.f()
    assert value > 0, "f must give a positive number"
    return value


@pytest.mark.grade(points=2, functions=["f"])
def test_f_gives_two(checked, credit):
    credit.award(0.5)  # half the points for a positive number
    assert checked == 2


@pytest.mark.grade(points=1, functions=["f"])
@pytest.mark.parametrize("times", [1, 2])
def test_f_gives_the_same_each_time(student, times):
    assert [student.f() for _ in range(times)] == [2] * times


@pytest.mark.grade(points=1, functions=["f"])
def test_f_five_times(student):
    # A failed assert's message has what pytest's assertion plugin explains (which item differs).
    assert [student.f()] * 5 == [2, 2, 2, 2, 2]


@pytest.mark.grade(points=1, functions=["f"])
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_f_without_a_warning(student):
    import warnings

    if student.f() != 2:
        warnings.warn("not two", RuntimeWarning)  # an error, by the test's own warning filter


@pytest.mark.grade(points=1, functions=["f"])
def test_skipped_by_itself(student):
    pytest.skip("the test's own decision")
"""
SUBMISSIONS = {
    "positive": "def f():\n    return 1\n",  # half of test_f_gives_two, through credit
    "negative": "def f():\n    return -1\n",  # fails in its fixture, before any credit is given
    "right": "def f():\n    return 2\n",
    "counting": "calls = []\ndef f():\n    calls.append(1)\n    return 1 + len(calls)\n",  # right once per test only
}


@pytest.fixture
def homework(tmp_path, monkeypatch):
    tests = tmp_path / "hw" / "tests" / "visible"
    tests.mkdir(parents=True)
    (tests / "test_f.py").write_text(TESTS, encoding="utf-8")
    monkeypatch.setenv("JOURNAL", str(tmp_path / "journal.txt"))
    return tmp_path


def submission(folder, name):
    path = folder / name / "sub.py"
    path.parent.mkdir(parents=True)
    path.write_text(SUBMISSIONS[name], encoding="utf-8")
    return read_submission(path)


def outcome(results):
    return [(t.name, t.score, t.status, t.message) for t in results]


def plugin(homework, target=None):
    return HarnessPlugin(sandbox=target, functions=("f",), tests_root=homework / "hw" / "tests")


def compare(homework) -> dict:
    """Each submission graded alone, then all in one session: {"alone": ..., "in_session": ..., "journal": ...}."""
    files = [homework / "hw" / "tests" / "visible" / "test_f.py"]
    alone = {}
    for name in SUBMISSIONS:
        with Sandbox(submission(homework / "alone", name), LIMITS, module_name="sub") as box:
            alone[name] = outcome(run_tests(plugin(homework, box), files))
    (homework / "journal.txt").unlink()

    in_session = {}

    def serve(session):
        for number, name in enumerate(ORDER):
            with Sandbox(submission(homework / f"session{number}", name), LIMITS, module_name="sub") as box:
                results, _ = session.run(box)
            in_session.setdefault(name, []).append(outcome(results))

    harness = plugin(homework)
    run_tests(harness, files, session=TestSession(harness, serve))
    return {"alone": alone, "in_session": in_session, "journal": (homework / "journal.txt").read_text().split()}


ORDER = ["positive", "negative", "right", "counting", "negative"]  # "negative" after the others too


def test_a_session_grades_each_submission_as_a_run_of_its_own_would(homework):
    # In a process of its own: this test's own pytest would otherwise lend its plugins' wrappers to the runs.
    done = subprocess.run(
        [sys.executable, __file__, str(homework)], capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr
    graded = json.loads(done.stdout)
    alone, in_session = graded["alone"], graded["in_session"]

    # What the comparison below relies on: credit, a failing fixture, fresh state per test, pytest's plugins.
    by_name = {
        name: {test: (score, status, message) for test, score, status, message in runs} for name, runs in alone.items()
    }
    assert by_name["positive"]["f::f_gives_two"][0] == 1.0 and by_name["negative"]["f::f_gives_two"][0] == 0.0
    assert [by_name["counting"][f"f::f_gives_the_same_each_time[{n}]"][1] for n in (1, 2)] == ["passed", "failed"]
    assert "index 0" in by_name["positive"]["f::f_five_times"][2].lower()
    assert by_name["positive"]["f::f_without_a_warning"][1] != "passed"
    assert by_name["right"]["f::f_without_a_warning"][1] == "passed"
    assert "f::skipped_by_itself" in by_name["right"]

    for name, runs in in_session.items():
        assert all(run == alone[name] for run in runs), name
    # Every fixture, the session's too, is made again for each submission and ended after its last test.
    assert graded["journal"] == ["made", "ended"] * len(ORDER)


if __name__ == "__main__":
    import os

    folder = Path(sys.argv[1])
    os.environ["JOURNAL"] = str(folder / "journal.txt")
    print(json.dumps(compare(folder)))
