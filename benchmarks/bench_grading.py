"""How long grading one submission takes, next to the fixed costs it cannot avoid.

    python benchmarks/bench_grading.py [--repeat N] [--assignment HW] [--cores N]

``--assignment`` grades another homework's solution (hw4_training: its training run included; the
target there is under 10 s on one core); ``--cores N`` pins this process and everything it starts
to N cores (Linux), so ``--cores 1`` measures on one core.

Prints, each the median of N runs (in seconds):

- a bare ``python -c pass`` and ``python -c "import numpy"``: the floor (numpy with one BLAS thread,
  as the grader runs it: grader/threads.py);
- ``grader grade`` of the solution module end to end, process start
  included (the target: under 1 s on one core, dominated by Python starts
  and imports, not by the grader's code);
- the same for the solution notebook;
- ``grade()`` called in a running process (what a batch worker pays per
  submission), and the sandbox's share of it: starting the child process and
  loading the submission.

A figure, never an assertion: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, installed or not


def median_seconds(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def command(*args: str):
    return lambda: subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--assignment", default="hw1_backprop")
    parser.add_argument("--cores", type=int, default=None, help="pin to this many cores (Linux)")
    args = parser.parse_args()
    repeat, HW = args.repeat, args.assignment
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])  # inherited by every child
    from grader.threads import use_one_thread

    use_one_thread()  # as the grader's command runs: here, in the floor's Python and in every grader started
    from grader.authoring.handout import build
    from grader.grading.grade import grade
    from grader.grading.submission import read_submission
    from grader.homework import manifest as manifests
    from grader.sandbox import Sandbox

    manifest = manifests.load(HW)
    with tempfile.TemporaryDirectory() as folder:
        written = build(manifest, Path(folder))
        module, notebook = written["solution_module"], written["solution_notebook"]
        grade_command = [sys.executable, "-m", "grader.cli", "grade", "--assignment", HW]

        def sandbox_load():
            with Sandbox(read_submission(module), manifest.limits, module_name=HW):
                pass

        rows = [
            ("python -c pass", median_seconds(command(sys.executable, "-c", "pass"), repeat)),
            ("python -c 'import numpy'", median_seconds(command(sys.executable, "-c", "import numpy"), repeat)),
            ("grader grade <solution .py>", median_seconds(command(*grade_command, str(module)), repeat)),
            ("grader grade <solution .ipynb>", median_seconds(command(*grade_command, str(notebook)), repeat)),
            ("grade() in a running process", median_seconds(lambda: grade(module, HW), repeat)),
            ("  of which: sandbox start + load", median_seconds(sandbox_load, repeat)),
        ]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"grading {HW} on {cores} core{'s' if cores != 1 else ''}, median of {repeat} runs")
    for label, seconds in rows:
        print(f"  {label:34} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
