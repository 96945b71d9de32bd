"""numpy's math libraries run one thread in the grader's processes, as in the sandbox (grader/threads.py)."""

import json
import os
import subprocess
import sys

import pytest

from grader.paths import PROJECT_ROOT
from grader.sandbox import view
from grader.threads import ONE_THREAD

# A process that imports numpy, after the grader's command line has run (or not), and tells how many threads
# it has and what its environment says.
PROBE = """
import json, os, sys
from grader.threads import ONE_THREAD
if sys.argv[1] == "after the command line":
    from grader import cli
    cli.main(["list"])
import numpy
variables = {name: os.environ.get(name) for name in ONE_THREAD}
print(json.dumps({"threads": len(os.listdir("/proc/self/task")), "variables": variables}))
"""


def probe(when: str, **variables: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ONE_THREAD} | variables
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, when], env=env, capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="threads are counted in /proc (Linux)")
def test_the_command_line_loads_numpy_with_one_thread():
    alone, graded = probe("alone"), probe("after the command line")
    assert graded["variables"] == ONE_THREAD
    assert graded["threads"] == 1
    # Where numpy alone starts more threads (OpenBLAS on a machine of more than one core), the grader's start saves
    # them; on one core there are none to save, and the count above holds either way.
    assert alone["threads"] >= graded["threads"]


def test_a_thread_count_the_user_chose_is_kept():
    assert probe("after the command line", OPENBLAS_NUM_THREADS="2")["variables"]["OPENBLAS_NUM_THREADS"] == "2"


def test_the_sandbox_runs_one_thread_whatever_the_grader_was_told(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    assert ONE_THREAD.items() <= view.environment().items()
