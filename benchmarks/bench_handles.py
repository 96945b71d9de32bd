"""What one round trip into the sandbox costs: the price of every operation a test does on a handle.

    python benchmarks/bench_handles.py [--calls N]

Loads a small engine (a Tensor with + and .sum()) in a sandbox, then prints
the mean cost of N round trips of each kind, in microseconds: a function on a
number (hw1's calls), a constructor giving a handle, reading an attribute
(a 3-entry array; a 100x100 array), an operator on two handles, and a method
call. A figure, never an assertion: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
import time
from pathlib import Path

ENGINE = textwrap.dedent("""
    import numpy as np

    def double(x):
        return 2 * x

    class Tensor:
        def __init__(self, data):
            self.data = np.array(data, dtype=np.float64)

        def __add__(self, other):
            return Tensor(self.data + other.data)

        def sum(self):
            return Tensor(self.data.sum())
""")


def mean_microseconds(action, calls: int) -> float:
    action()  # the first one pays for describing the type
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls

    from grader.grading.submission import read_submission
    from grader.homework.manifest import Limits
    from grader.sandbox import Sandbox, value_of

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "engine.py"
        path.write_text(ENGINE)
        with Sandbox(read_submission(path), Limits(), module_name="engine") as box:
            x = value_of(box.call("Tensor", [1.0, 2.0, 3.0]))
            big = value_of(box.call("Tensor", [[0.5] * 100] * 100))
            rows = [
                ("function on a number (hw1's calls)", lambda: box.call("double", 21)),
                ("constructor giving a handle", lambda: box.call("Tensor", [1.0, 2.0, 3.0])),
                ("attribute: a 3-entry array", lambda: x.data),
                ("attribute: a 100x100 array", lambda: big.data),
                ("operator on two handles (x + x)", lambda: x + x),
                ("method call (x.sum())", lambda: x.sum()),
            ]
            print(f"one round trip into the sandbox, mean of {calls}")
            for label, action in rows:
                print(f"  {label:38} {mean_microseconds(action, calls):8.0f} µs")


if __name__ == "__main__":
    main()
