"""The ``grader`` program ends without taking Python apart, and loses nothing by it (grader/cli.py, ``run``)."""

import importlib.metadata
import subprocess
import sys

import pytest

from grader import cli
from grader.paths import PROJECT_ROOT

# A grader program whose command prints without a newline (held in stdout's buffer), registers an exit handler,
# and, asked to, leaves a thread running; a module-level object says when Python's exit takes it apart.
PROBE = """
import atexit, sys, threading, time
from grader import cli

class Noted:
    def __del__(self):
        print(" taken apart", end="", flush=True)

kept = Noted()
mode = sys.argv[1]

def command(args):
    atexit.register(lambda: print(" exit handler ran", end=""))
    sys.stdout.write("buffered")
    if mode == "with a thread":
        threading.Thread(target=lambda: (time.sleep(0.2), print(" thread finished", end=""))).start()
    return 3

cli.COMMANDS["list"] = command
sys.argv = ["grader", "list"]
cli.run()
"""


def probe(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60
    )


def test_the_program_skips_pythons_teardown_but_not_what_an_exit_must_do():
    ended = probe("alone")
    assert ended.returncode == 3, ended.stderr  # the command's exit status
    assert ended.stdout == "buffered exit handler ran"  # output flushed, exit handlers run, nothing taken apart
    assert ended.stderr == ""


def test_with_another_thread_running_python_exits_as_usual():
    ended = probe("with a thread")
    assert ended.returncode == 3, ended.stderr
    assert ended.stdout == "buffered thread finished exit handler ran taken apart"  # the thread finished first


def test_the_installed_command_and_python_m_both_run_it(capsys):
    scripts = importlib.metadata.entry_points(group="console_scripts", name="grader")
    assert [script.value for script in scripts] == ["grader.cli:run"]
    assert cli.main(["list"]) == 0
    in_process = capsys.readouterr().out
    command = subprocess.run(
        [sys.executable, "-m", "grader.cli", "list"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60
    )
    assert command.returncode == 0, command.stderr
    assert command.stdout == in_process  # every line, though the process never took Python apart


@pytest.mark.parametrize("argv", [["grade"], ["no-such-command"]])
def test_a_usage_error_still_exits_2(argv):
    command = subprocess.run(
        [sys.executable, "-m", "grader.cli", *argv], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60
    )
    assert command.returncode == 2
    assert "usage: grader" in command.stderr


def test_a_profiler_still_gets_to_write_what_it_saw(tmp_path):
    profile = tmp_path / "grader.prof"
    command = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "grader.cli", "list"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert command.returncode == 0, command.stderr
    assert profile.stat().st_size > 0  # written after the program, so only if Python's own exit came
