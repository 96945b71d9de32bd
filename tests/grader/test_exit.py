"""The ``grader`` program ends without taking Python apart, and loses nothing by it (grader/cli.py, ``run``)."""

import importlib.metadata
import os
import subprocess
import sys

import pytest

from grader import cli
from grader.paths import PROJECT_ROOT

# A grader program whose command prints without a newline (held in stdout's buffer), registers an exit handler,
# and, asked to, starts a thread that waits for the main thread to end; a module-level object says when Python's
# exit takes it apart.
PROBE = """
import atexit, sys, threading
from grader import cli

class Noted:
    def __del__(self):
        print(" taken apart", end="", flush=True)

kept = Noted()
mode = sys.argv[1]

def after_the_main_thread():
    threading.main_thread().join()
    print(" thread finished", end="", flush=True)

def command(args):
    atexit.register(lambda: print(" exit handler ran", end=""))
    print("buffered", end="")  # print, as the commands do: with no stdout at all it prints nothing
    if mode == "with a thread":
        threading.Thread(target=after_the_main_thread).start()
    return 3

cli.COMMANDS["list"] = command
sys.argv = ["grader", "list"]
cli.run()
"""


def buffered_environment() -> dict:
    """This environment, with stdout buffered as it is by default (PYTHONUNBUFFERED would hide a missing flush)."""
    return {name: value for name, value in os.environ.items() if name not in ("PYTHONUNBUFFERED", "PYTHONINSPECT")}


def python(*args: str, **options) -> subprocess.CompletedProcess:
    """This Python run on ``args`` from the project, with stdout buffered, its output captured as text."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "timeout": 60, **options}
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=buffered_environment(), **options)


def probe(mode: str, **options) -> subprocess.CompletedProcess:
    return python("-c", PROBE, mode, **options)


def test_the_program_skips_pythons_teardown_but_not_what_an_exit_must_do():
    ended = probe("alone")
    assert ended.returncode == 3, ended.stderr  # the command's exit status
    assert ended.stdout == "buffered exit handler ran"  # output flushed, exit handlers run, nothing taken apart
    assert ended.stderr == ""


def test_with_another_thread_running_python_exits_as_usual():
    ended = probe("with a thread")
    assert ended.returncode == 3, ended.stderr
    assert ended.stdout == "buffered thread finished exit handler ran taken apart"


def test_python_i_still_gets_its_prompt_after_the_program():
    ended = python("-i", "-c", PROBE, "alone", input="print(' prompt came', end='')\n")
    assert "buffered prompt came" in ended.stdout


def test_a_program_started_without_stdout_ends_as_its_command_said():
    ended = probe("alone", stdout=None, preexec_fn=lambda: os.close(1))  # as `grader list >&-` starts it
    assert ended.returncode == 3, ended.stderr
    assert ended.stderr == ""


def test_a_reader_gone_before_the_last_flush_ends_the_output_quietly():
    process = subprocess.Popen(
        [sys.executable, "-c", PROBE, "alone"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT,
        env=buffered_environment(),
    )
    process.stdout.close()  # as `| head` does: long before the program's one write, at its end
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 3
    assert errors == ""  # not Python's "Exception ignored ... BrokenPipeError"


def test_the_installed_command_and_python_m_both_run_it(capsys):
    scripts = importlib.metadata.entry_points(group="console_scripts", name="grader")
    assert [script.value for script in scripts] == ["grader.cli:run"]
    assert cli.main(["list"]) == 0
    in_process = capsys.readouterr().out
    command = python("-m", "grader.cli", "list")
    assert command.returncode == 0, command.stderr
    assert command.stdout == in_process  # every line, though the process never took Python apart


@pytest.mark.parametrize("argv", [["grade"], ["no-such-command"]])
def test_a_usage_error_still_exits_2(argv):
    command = python("-m", "grader.cli", *argv)
    assert command.returncode == 2
    assert "usage: grader" in command.stderr


def test_a_profiler_still_gets_to_write_what_it_saw(tmp_path):
    profile = tmp_path / "grader.prof"
    command = python("-m", "cProfile", "-o", str(profile), "-m", "grader.cli", "list")
    assert command.returncode == 0, command.stderr
    assert profile.stat().st_size > 0  # written after the program, so only if Python's own exit came
