"""numpy's math libraries run one thread in the grader's processes, as in the sandbox (grader/threads.py)."""

import json
import os
import subprocess
import sys

import pytest

from grader.paths import PROJECT_ROOT
from grader.sandbox import view
from grader.threads import ONE_THREAD

ONE_THREAD_BY_NAME = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# A process that imports numpy, alone or in a command of the grader's command line (as grading does), and tells
# how many threads it has and what its environment said, when numpy was imported, of the variables it is given.
PROBE = """
import json, os, sys
seen = {}

def command(args):
    import numpy
    seen.update({name: os.environ.get(name) for name in sys.argv[2:]})
    return 0

if sys.argv[1] == "in a command":
    from grader import cli
    cli.COMMANDS["list"] = command
    cli.main(["list"])
else:
    command(None)
print(json.dumps({"threads": len(os.listdir("/proc/self/task")), "variables": seen}))
"""


def probe(when: str, **variables: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ONE_THREAD_BY_NAME} | variables
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, when, *ONE_THREAD_BY_NAME],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="threads are counted in /proc (Linux)")
def test_a_command_imports_numpy_with_one_thread():
    graded = probe("in a command")
    assert graded["variables"] == ONE_THREAD_BY_NAME
    assert graded["threads"] == 1
    if len(os.sched_getaffinity(0)) > 1:  # numpy alone starts OpenBLAS's threads here: the count above is the grader's
        assert probe("alone")["threads"] > 1


def test_a_thread_count_the_user_chose_is_kept():
    assert probe("in a command", OPENBLAS_NUM_THREADS="2")["variables"]["OPENBLAS_NUM_THREADS"] == "2"


def test_the_sandbox_runs_one_thread_whatever_the_grader_was_told(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    assert ONE_THREAD == ONE_THREAD_BY_NAME
    assert ONE_THREAD_BY_NAME.items() <= view.environment().items()
