"""What grading costs, beside the floor a Python process cannot go below, for hw1 and for a small homework.

    python benchmarks/bench_speed.py [--repeat N] [--class-size N] [--batch-repeat N]

The small homework is the instructor's guide's example (hw0_sigmoid: 5 points, 4 tests), built
from docs/authoring.md's own text into a temporary course folder. For each homework it prints,
each the median of N runs:

- ``grader grade`` of the solution, process start included, beside a bare ``python -c "import
  numpy"`` (the floor: every grading needs a Python with numpy, the sandbox's child too; numpy with
  one BLAS thread, as the grader runs it: grader/threads.py), and the ratio of the two; and beside
  a Python that imports numpy and pytest, which the grader's own process must (the tests are pytest
  files and run there, never in the sandbox), so no grading can cost less;
- where one grading's time goes: the grader's own start (its imports), the sandbox's start and
  the submission's load, pytest's collection of the tests, the tests themselves, and writing the
  JSON and HTML results; and, the mean of 200 requests, what a request costs when it is the first
  of its test case, answered by a fresh copy of the loaded submission (each test case gets one, so
  no test sees what another left), against a request answered by the same copy;
- a batch of a class of mixed submissions (the solution, the blank handout, a wrong one, one that
  does not load) with 1 and 2 workers, the median of ``--batch-repeat`` runs of each taken in
  turn: submissions per second, seconds per submission, the speed-up, how many cores the machine
  kept busy meanwhile (one worker keeps more than one busy: its sandbox answers on one core while
  it prepares the next test on the other, so two workers on two cores cannot go twice as fast);
- in runs of their own (sampling memory slows a batch), the peak memory of the batch's whole
  process tree (every worker and sandbox), resident (RSS: a page forks share counts in each) and
  proportional (PSS: a shared page counts once), and what the second worker adds.

Where this Python may not write bytecode (PYTHONDONTWRITEBYTECODE), everything is measured on a copy of
the project compiled to bytecode, as an installed grader is (see :func:`compiled_project`), and one
grading is also timed as this checkout runs it, compiling the grader every time.

Figures, never assertions: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_grading import median_seconds  # noqa: E402  (beside this script; the same median everywhere)

NO_SUCH_FUNCTION = "no_submission_defines_this"  # a request that runs none of the student's code
# A Python with numpy and pytest, ended as the grader's command ends (grader/cli.py: run): without the teardown.
WITH_PYTEST = "import os, numpy, pytest; os._exit(0)"
MEMORY_CLASS_SIZE = 40  # enough for every worker's sandboxes to come and go many times: the peak is reached early


def run(*command: str, env: dict) -> None:
    """Run ``command`` quietly in the project ``env`` names (its PYTHONPATH), from that project's folder."""
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=env["PYTHONPATH"]
    )


def compiled_project(folder: Path) -> Path:
    """A copy of the project with its modules compiled to bytecode, in ``folder``.

    An installed Python package has its bytecode: pip compiles what it installs, Gradescope's image keeps
    what the self-test compiled, and a checkout compiles once, on its first run. Where Python may not
    write bytecode (PYTHONDONTWRITEBYTECODE, as on some build machines) every run of a checkout compiles
    the grader again, which is not what grading costs where it is used; so the figures are measured on
    this copy, and the single grading also without bytecode.
    """
    copy = folder / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".venv", "out", "dist"))
    for package in ("grader", "reference"):
        compileall.compile_dir(copy / package, quiet=1)
    return copy


def guide_course(folder: Path) -> Path:
    """The guide's example homework, written from docs/authoring.md into ``folder``."""
    from test_authoring_guide import GUIDE, fenced_blocks

    for attributes, body in fenced_blocks(GUIDE.read_text(encoding="utf-8")):
        if "file" in attributes:
            path = folder / attributes["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
    return folder


def class_folder(folder: Path, hw: str, size: int) -> Path:
    """``size`` submissions, a quarter each: the solution, the blank handout, a wrong one, one that does not load."""
    from grader.authoring.module import build_module
    from grader.homework import manifest as manifests

    manifest = manifests.load(hw)
    solution, blank = build_module(manifest, solution=True), build_module(manifest, solution=False)
    wrong = solution.replace("return", "return 0.5 *", 1)  # the first function off by a factor
    broken = solution + "\ndef (:\n"
    folder.mkdir(parents=True)
    for number in range(size):
        text = (solution, blank, wrong, broken)[number % 4]
        (folder / f"student{number:03}.py").write_text(text + f"\n# {number}\n", encoding="utf-8")
    return folder


def breakdown(hw: str, path: Path, repeat: int, env: dict) -> tuple[dict[str, float], tuple[int, float, float, float]]:
    """Seconds per phase of one grading, each measured on its own; and (test cases, then :func:`fresh_copy_cost`)."""
    from grader.grading import grade as grading
    from grader.grading.harness import HarnessPlugin, run_tests
    from grader.grading.submission import read_submission
    from grader.homework import manifest as manifests
    from grader.outputs.report import html_report
    from grader.outputs.results import write_json_atomically
    from grader.sandbox import Sandbox, Unavailable

    manifest = manifests.load(hw)
    submission = read_submission(path, hw)

    def sandbox_start():
        with Sandbox(submission, manifest.limits, module_name=hw, packages=manifest.packages):
            pass

    def collection():
        plugin = HarnessPlugin(
            sandbox=Unavailable("timing"), functions=manifest.functions, tests_root=manifest.folder / "tests"
        )
        run_tests(plugin, grading.test_files(manifest))

    result = grading.grade(path, hw)
    whole = median_seconds(lambda: grading.grade(path, hw), repeat)
    copies = fresh_copy_cost(submission, manifest)
    start = median_seconds(sandbox_start, repeat)
    collect = median_seconds(collection, repeat)  # collection, and each test failing at once without a sandbox
    with tempfile.TemporaryDirectory() as out:
        write = median_seconds(
            lambda: (
                write_json_atomically(Path(out) / "r.json", result.to_dict()),
                Path(out, "r.html").write_text(html_report(result)),
            ),
            repeat,
        )
    imports = median_seconds(
        lambda: run(sys.executable, "-c", "import grader.cli, grader.grading.harness", env=env), repeat
    )
    floor = median_seconds(lambda: run(sys.executable, "-c", "import numpy", env=env), repeat)
    return {
        "the grader's start (its imports, beyond a Python with numpy)": imports - floor,
        "the sandbox's start and the submission's load": start,
        "pytest's collection (and its per-test machinery)": collect,
        "the tests themselves (the rest of one grading)": max(whole - start - collect, 0.0),
        "writing result.json and report.html": write,
    }, (len(result.tests), *copies)


def fresh_copy_cost(submission, manifest, requests: int = 200) -> tuple[float, float, float]:
    """(seconds, busy CPU seconds of the machine) of a request answered by a fresh copy of the loaded submission,
    as every test case's first request is, and (seconds) of one answered by the same copy; means of ``requests``.

    The request names a function no submission defines: the copy's own work (the protocol) and none of the
    student's. The machine's CPU counts the copy's fork and end. Here each fresh copy is asked at once; in a
    grading, the old copy ends and the next is forked while pytest reports the test before, so a test case's
    first request waits less than this, and the figure is the most it can cost."""
    from grader.sandbox import Sandbox, Status

    with Sandbox(submission, manifest.limits, module_name=manifest.id, packages=manifest.packages) as sandbox:
        answer = sandbox.call(NO_SUCH_FUNCTION)
        if sandbox.load_report.fatal or answer.status != Status.ERROR or NO_SUCH_FUNCTION not in answer.message:
            raise RuntimeError(f"the solution's sandbox does not answer as it should: {sandbox.load_report}, {answer}")

        def per_request(fresh: bool) -> tuple[float, float]:
            started, busy = time.perf_counter(), busy_cpu_seconds()
            for _ in range(requests):
                if fresh:
                    sandbox.reset()
                sandbox.call(NO_SUCH_FUNCTION)
            return (time.perf_counter() - started) / requests, (busy_cpu_seconds() - busy) / requests

        same, _ = per_request(fresh=False)
        fresh, busy = per_request(fresh=True)
    return fresh, busy, same


def peak_tree_memory(process: subprocess.Popen) -> tuple[int, int]:
    """The largest totals (bytes) over ``process`` and all its descendants, sampled until it ends: of resident
    memory (RSS: a page shared by forks counts in each) and of proportional memory (PSS: a shared page
    counts once, split between its sharers; what the machine gives the batch)."""
    peak_rss = peak_pss = 0
    page = os.sysconf("SC_PAGE_SIZE")
    while process.poll() is None:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * page
        total_rss = total_pss = 0
        stack = [process.pid]
        while stack:
            pid = stack.pop()
            total_rss += rss.get(pid, 0)
            total_pss += _pss(pid)
            stack.extend(children.get(pid, []))
        peak_rss, peak_pss = max(peak_rss, total_rss), max(peak_pss, total_pss)
        time.sleep(0.05)
    return peak_rss, peak_pss


def _pss(pid: int) -> int:
    """The proportional set size of ``pid`` in bytes (0 if it ended, or the kernel has no smaps_rollup)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since it started (Linux's /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def batch(
    hw: str, folder: Path, out: Path, workers: int, env: dict, watch_memory: bool = False
) -> tuple[float, tuple[int, int], float]:
    """(seconds, (peak RSS, peak PSS) of the process tree, cores kept busy) of one ``grader batch`` run, nothing
    reused. Busy cores are the whole machine's: the sandboxes, forked by the zygote, never count in the batch's own
    CPU time. The memory is (0, 0) unless ``watch_memory``: sampling it walks every process's memory map 20 times a
    second, which takes CPU time and the map locks the sandboxes' forks need; it slowed 100-submission batches by 5%
    with one worker and by 17% with two. So a timed run never watches."""
    command = [
        sys.executable,
        "-m",
        "grader.cli",
        "batch",
        str(folder),
        "--assignment",
        hw,
        "--out",
        str(out),
        "--workers",
        str(workers),
    ]
    started, busy = time.perf_counter(), busy_cpu_seconds()
    process = subprocess.Popen(
        command, cwd=env["PYTHONPATH"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak: list[tuple[int, int]] = []
    watcher = threading.Thread(target=lambda: peak.append(peak_tree_memory(process)))
    if watch_memory:
        watcher.start()
    process.wait()
    seconds, busy = time.perf_counter() - started, busy_cpu_seconds() - busy
    if watch_memory:
        watcher.join()
    shutil.rmtree(out, ignore_errors=True)  # the next run grades everyone again
    return seconds, peak[0] if peak else (0, 0), busy / seconds


def report(
    hw: str, env: dict, repeat: int, class_size: int, scratch: Path, uncompiled: dict | None, batch_repeat: int
) -> None:
    from grader.authoring.module import build_module
    from grader.homework import manifest as manifests

    solution = scratch / hw / f"{hw}.py"
    solution.parent.mkdir(parents=True)
    solution.write_text(build_module(manifests.load(hw), solution=True), encoding="utf-8")
    grade = [sys.executable, "-m", "grader.cli", "grade", str(solution), "--assignment", hw]
    one = median_seconds(lambda: run(*grade, env=env), repeat)
    floor = median_seconds(lambda: run(sys.executable, "-c", "import numpy", env=env), repeat)
    pytest_floor = median_seconds(lambda: run(sys.executable, "-c", WITH_PYTEST, env=env), repeat)
    print(f"\n{hw}, median of {repeat}")
    print(f"  grader grade <solution>             {one * 1000:7.0f} ms")
    print(f"  python -c 'import numpy'            {floor * 1000:7.0f} ms   ratio {one / floor:.1f}x")
    print(
        f"  python -c 'import numpy, pytest'    {pytest_floor * 1000:7.0f} ms   {pytest_floor / floor:.1f}x the floor "
        "(what any grading process pays before its work: it runs the tests, ordinary pytest files)"
    )
    if uncompiled is not None:
        cold = median_seconds(lambda: run(*grade, env=uncompiled), repeat)
        print(f"  grader grade, compiling the grader  {cold * 1000:7.0f} ms   (this Python writes no bytecode)")
    print("  where one grading's time goes:")
    phases, (cases, fresh, busy, same) = breakdown(hw, solution, repeat, env)
    for phase, seconds in phases.items():
        print(f"    {phase:62} {seconds * 1000:6.0f} ms")
    print(
        f"  each of its {cases} test cases starts on a fresh copy of the loaded submission: a request answered by "
        f"one takes at most {fresh * 1000:.1f} ms ({busy * 1000:.1f} ms of the machine's CPU), by the same copy "
        f"{same * 1000:.1f} ms"
    )
    folder = class_folder(scratch / f"{hw}-class", hw, class_size)
    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(batch_repeat):  # 1 and 2 workers in turn: a slow spell of a shared machine slows both
        for workers in runs:
            seconds, _, busy = batch(hw, folder, scratch / f"{hw}-out", workers, env)
            runs[workers].append((seconds, busy))
    seconds = {workers: statistics.median(s for s, _ in timed) for workers, timed in runs.items()}
    print(f"  batch of {class_size}, median of {batch_repeat} runs each, 1 and 2 workers in turn:")
    for workers, timed in runs.items():
        print(
            f"    {workers} worker{'s' if workers > 1 else ' '}: {seconds[workers]:6.1f} s, "
            f"{class_size / seconds[workers]:5.1f} submissions/s, {seconds[workers] / class_size:.3f} s each, "
            f"{statistics.median(b for _, b in timed):.2f} cores busy   "
            f"(runs: {', '.join(f'{s:.1f}' for s, _ in timed)} s)"
        )
    print(f"  speed-up with 2 workers: {seconds[1] / seconds[2]:.2f}x")
    memory_class = class_folder(scratch / f"{hw}-memory-class", hw, min(class_size, MEMORY_CLASS_SIZE))
    memory = {workers: batch(hw, memory_class, scratch / f"{hw}-out", workers, env, True)[1] for workers in (1, 2)}
    print(f"  peak memory of the process tree (a class of {min(class_size, MEMORY_CLASS_SIZE)}, in runs of its own):")
    for workers, (rss, pss) in memory.items():
        print(
            f"    {workers} worker{'s' if workers > 1 else ' '}: "
            f"{rss / 2**20:.0f} MB resident, {pss / 2**20:.0f} MB proportional"
        )
    print(
        f"  memory of the second worker: {(memory[2][0] - memory[1][0]) / 2**20:.0f} MB resident, "
        f"{(memory[2][1] - memory[1][1]) / 2**20:.0f} MB proportional"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--class-size", type=int, default=200)
    parser.add_argument("--batch-repeat", type=int, default=3, help="runs of each batch (default 3)")
    args = parser.parse_args()
    from grader.homework import course as courses
    from grader.threads import use_one_thread

    use_one_thread()  # as the grader's command runs: here (the phases timed in this process), in the floor's Python

    with tempfile.TemporaryDirectory(prefix="bench-speed-") as folder:
        scratch = Path(folder)
        course = guide_course(scratch / "course")
        checkout = {**os.environ, courses.ENVIRONMENT: str(course), "PYTHONPATH": str(ROOT)}
        os.environ[courses.ENVIRONMENT] = str(course)
        print(f"grading cost on {os.cpu_count()} cores (batch: a class of {args.class_size} mixed submissions)")
        env, uncompiled = checkout, None
        if sys.flags.dont_write_bytecode:
            print("this Python writes no bytecode (PYTHONDONTWRITEBYTECODE): measured on a compiled copy of the grader")
            env, uncompiled = {**checkout, "PYTHONPATH": str(compiled_project(scratch))}, checkout
        with contextlib.redirect_stderr(io.StringIO()):
            for hw in ("hw1_backprop", "hw0_sigmoid"):
                report(hw, env, args.repeat, args.class_size, scratch, uncompiled, args.batch_repeat)


if __name__ == "__main__":
    main()
