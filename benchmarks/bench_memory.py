"""How much address space a sandbox needs to grade a homework: the figure behind ``[limits] memory_mb``.

    python benchmarks/bench_memory.py [hw]          (default: hw1_backprop)

Grades the homework's solution and, after every call into the sandbox, reads
``VmPeak`` (the largest address space the process ever had: what RLIMIT_AS,
hence ``memory_mb``, bounds) and ``VmHWM`` (its largest resident memory) of
every sandbox process from ``/proc``, as the grader sees them from outside.
Prints the largest of each next to the manifest's limit and the room
Gradescope's container leaves (``[gradescope] memory_mb`` minus what the grader
itself needs). A figure, never an assertion.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def sandbox_processes() -> list[Path]:
    found = []
    for folder in Path("/proc").iterdir():
        try:
            if folder.name.isdigit() and b"sandbox/child.py" in (folder / "cmdline").read_bytes():
                found.append(folder)
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def kib(status: str, key: str) -> int:
    line = next((line for line in status.splitlines() if line.startswith(key + ":")), f"{key}: 0 kB")
    return int(line.split()[1])


def main() -> None:
    from grader.authoring.module import build_module
    from grader.gradescope import GRADER_MEMORY_MB
    from grader.grading.grade import grade
    from grader.homework import manifest as manifests
    from grader.sandbox import Sandbox

    manifest = manifests.load(sys.argv[1] if len(sys.argv) > 1 else "hw1_backprop")
    peaks = {"VmPeak": 0, "VmHWM": 0}
    original_call = Sandbox.call

    def measured_call(self, function, *args, **kwargs):
        result = original_call(self, function, *args, **kwargs)
        for process in sandbox_processes():
            try:
                status = (process / "status").read_text()
            except OSError:
                continue
            for key in peaks:
                peaks[key] = max(peaks[key], kib(status, key))
        return result

    Sandbox.call = measured_call
    with tempfile.TemporaryDirectory() as folder:
        solution = Path(folder) / f"{manifest.id}.py"
        solution.write_text(build_module(manifest, solution=True), encoding="utf-8")
        result = grade(solution, manifest.id)
    print(f"{manifest.id}: the solution scores {result.score:g} / {result.max_score:g}")
    print(f"  largest address space of a sandbox process (VmPeak): {peaks['VmPeak'] / 1024:7.1f} MiB")
    print(f"  largest resident memory of a sandbox process (VmHWM): {peaks['VmHWM'] / 1024:7.1f} MiB")
    print(
        f"  [limits] memory_mb = {manifest.limits.memory_mb} MiB; Gradescope's container leaves "
        f"{manifest.gradescope.memory_mb - GRADER_MEMORY_MB} MiB ([gradescope] memory_mb = "
        f"{manifest.gradescope.memory_mb} minus about {GRADER_MEMORY_MB} for the grader)"
    )


if __name__ == "__main__":
    main()
