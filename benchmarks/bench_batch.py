"""How batch grading scales with worker processes.

    python benchmarks/bench_batch.py [--copies N]

Grades N copies (default 16) of the hw1 solution with ``run_batch`` and 1 and
then 2 workers, each into a fresh output folder (nothing reused), and prints
the seconds per submission and the speed-up. The homework check, the
gradebook and the summary page are included: what a TA waits for.

A figure, never an assertion: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

HW = "hw1_backprop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    from grader.authoring.module import build_module
    from grader.batch import run_batch
    from grader.homework import manifest as manifests

    solution = build_module(manifests.load(HW), solution=True)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        folder = Path(scratch) / "class"
        folder.mkdir()
        for number in range(args.copies):
            (folder / f"student{number:03}.py").write_text(solution + f"\n# copy {number}\n", encoding="utf-8")
        print(f"batch grading {args.copies} copies of the {HW} solution on {os.cpu_count()} cores")
        seconds = {}
        for workers in args.workers:
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                run_batch(folder, HW, Path(scratch) / f"out-{workers}", workers=workers)
            seconds[workers] = time.perf_counter() - started
            print(
                f"  {workers} worker{'s' if workers > 1 else ' '}: {seconds[workers]:6.2f} s, "
                f"{seconds[workers] / args.copies:.3f} s per submission"
            )
        fewest = min(seconds)
        for workers in sorted(seconds):
            if workers != fewest:
                print(f"  speed-up with {workers} workers over {fewest}: {seconds[fewest] / seconds[workers]:.2f}x")


if __name__ == "__main__":
    main()
