"""The batch's worker processes: each collects the homework's tests once, then grades submission after submission.

Collecting a homework's tests (pytest's start, the test files imported, every case built) costs
about as much as grading a small homework, so a worker pays for it once, not once per submission
(see :class:`grader.grading.harness.TestSession`). Nothing of one submission stays for the next:
each has a sandbox of its own, and every fixture is torn down after its last test.

A worker asks the parent for its next job before it grades the one it holds, and starts that one
(its sandbox loads) while it tests the one before; it sends each outcome back as it is done. A
worker that dies loses only the jobs it held (at most two); a new worker takes its place for the
jobs still waiting.
On Linux the workers are forks of the parent, which imports the grading modules first, so they
start at once and share those pages with it. With exactly one worker per core, each worker, and
every sandbox it starts, keeps to its core (see :func:`_cores`).
"""

from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.errors import UserError

STOP_SECONDS = 10.0  # a worker told to stop ends its pytest session; one that takes longer is killed
WANT = "want"  # a worker's request for its next job


def grade_jobs(
    jobs: dict[str, Any],
    workers: int,
    start_one: Callable[[Any], Any],
    grade_one: Callable[[Any, Any, Any], Any],
    on_done: Callable[[str, Any], None],
) -> dict[str, Any]:
    """Grade every job in ``workers`` processes; ``on_done(student, outcome)`` here as each is done.

    In a worker, ``start_one(job)`` starts a job ahead (its sandbox loads while the worker tests the
    job before it), and ``grade_one(job, session, started)`` grades it with the worker's tests. Both
    must be module-level functions (where workers are not forks, they are sent to them by name).
    Returns the jobs whose worker died while it held them.
    """
    context = _prepared_context()
    waiting = collections.deque(jobs.items())
    lost: dict[str, Any] = {}
    count = min(workers, len(waiting))
    running = [_Worker(context, start_one, grade_one, core) for core in _cores(count)]

    def died(worker: _Worker) -> None:
        """Only what the worker held is lost; a new worker takes its place (and its core) while jobs are waiting."""
        lost.update(worker.holding)
        worker.kill()
        running.remove(worker)
        if waiting:
            running.append(_Worker(context, start_one, grade_one, worker.core))

    try:
        while running:
            ready = multiprocessing.connection.wait([worker.connection for worker in running])
            for worker in [w for w in running if w.connection in ready]:
                try:
                    message = worker.connection.recv()
                    if message == WANT:
                        worker.give(waiting.popleft() if waiting else None)
                        continue
                except Exception:  # it died (its pipe closed), or its last words are not a message
                    died(worker)
                    continue
                student, _ = worker.holding.popleft()
                if isinstance(message, Failure):
                    raise UserError(f"grading {student}: {message.what}")
                on_done(student, message)
                if worker.told_to_stop and not worker.holding:
                    worker.stop()
                    running.remove(worker)
    finally:  # Ctrl-C, or a failed write: the workers end now, not after grading what is queued
        for worker in running:
            worker.kill()
    return lost


def usable_cores() -> int:
    """The cores this process may run on: its affinity (taskset, a container's cpuset), not the machine's count."""
    allowed = _allowed_cores()
    return len(allowed) if allowed is not None else os.cpu_count() or 1


def _allowed_cores() -> list[int] | None:
    """The cores this process may run on, in order; None where there is no affinity (not Linux)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None


def _cores(workers: int) -> list[int | None]:
    """The core each of ``workers`` keeps to, with its sandboxes (None: any core).

    A worker and its sandbox hand work to each other several times per test: a request, its answer,
    the end of one copy of the submission and the fork of the next. With exactly one worker per core,
    keeping each worker's processes on its core keeps those hand-offs on that core's caches and never
    wakes another core for them; on 2 cores, interleaved runs of 2-worker batches took 5.1 s pinned
    against 5.6 s not (100 hw0 submissions), and 7.7 s against 8.4 s (60 of hw1). With fewer workers,
    none is pinned: a worker's sandbox then answers on a free core while the worker prepares its next
    test, which is worth more. With more, none is either: cores shared unevenly would slow some.

    A submission can still move its own processes to another core, as it always could; what one
    sandbox's processes take from another's is bounded by their limits, not by cores.
    """
    allowed = _allowed_cores()
    if allowed is None or workers != len(allowed):
        return [None] * workers
    return allowed


@dataclass(frozen=True)
class Failure:
    """What a worker sends for a job it could not finish for a reason of the grader's own (a full disk...)."""

    what: str


def _prepared_context() -> multiprocessing.context.BaseContext:
    """Where processes can fork (Linux), workers are forks of this process with the grading modules already
    imported (pytest, numpy, jinja2 ...): each starts grading at once, and their pages stay shared with this
    process's until written. ``gc.freeze`` keeps the collector from writing to (and so copying) every one."""
    if sys.platform != "linux":
        return multiprocessing.get_context("spawn")  # forking a process with threads is unsafe on macOS
    import gc

    import grader.grading.grade  # noqa: F401  (imported for the forks)
    import grader.grading.harness  # noqa: F401
    import grader.outputs.report  # noqa: F401

    gc.freeze()
    return multiprocessing.get_context("fork")


class _Worker:
    """A worker process, seen from the parent: its pipe, and the jobs it holds (the one it grades, the next)."""

    def __init__(self, context, start_one, grade_one, core: int | None):
        self.core = core
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_work, args=(theirs, start_one, grade_one, core), daemon=True)
        self.process.start()
        theirs.close()  # only the worker holds its end: its death is the end of this pipe
        self.holding: collections.deque[tuple[str, Any]] = collections.deque()
        self.told_to_stop = False

    def give(self, entry: tuple[str, Any] | None) -> None:
        """Send the worker its next job (student, job), or None: there is none, end after the last."""
        if entry is None:
            self.told_to_stop = True
            self.connection.send(None)
        else:
            self.holding.append(entry)
            self.connection.send(entry[1])

    def stop(self) -> None:
        self.process.join(STOP_SECONDS)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


def _work(connection, start_one, grade_one, core: int | None) -> None:
    """In a worker: grade jobs, each started while the one before is tested, in one pytest session.

    ``core``: the one core this worker and its sandboxes (which inherit it) run on, or None.
    """
    if core is not None:
        try:
            os.sched_setaffinity(0, {core})
        except OSError:  # the core went away (a changed cpuset): any core will do
            pass
    from grader.authoring.module import handout_names
    from grader.grading.grade import test_files
    from grader.grading.harness import HarnessPlugin, TestSession, run_tests
    from grader.sandbox import Unavailable

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    if sys.platform == "linux":
        from grader.sandbox.isolation import die_with_parent

        die_with_parent()  # a parent killed outright (no Ctrl-C to handle) takes its workers along

    def next_job():
        connection.send(WANT)
        return connection.recv()

    job = next_job()
    if job is None:
        return
    started = start_one(job)  # its sandbox starts while pytest collects the tests
    served = False

    def serve(session: TestSession | None) -> None:
        nonlocal job, started, served
        served = True
        while job is not None:
            current, current_started = job, started
            job = next_job()
            started = start_one(job) if job is not None else None
            try:
                outcome = grade_one(current, session, current_started)
            except Exception as error:
                outcome = Failure(f"{type(error).__name__}: {error}")
            connection.send(outcome)
            if session is not None and session.broken:
                return  # these tests cannot run again: this worker ends, and what it holds goes to another

    manifest = job.manifest
    plugin = HarnessPlugin(
        sandbox=Unavailable("no submission yet"),
        functions=manifest.functions,
        tests_root=manifest.folder / "tests",
        names=handout_names(manifest),
    )
    try:
        try:
            run_tests(plugin, test_files(manifest), session=TestSession(plugin, serve))
        except UserError:
            pass  # what went wrong is in the results: each job graded with the session said so
        if not served:  # pytest never reached the tests: each job collects them itself
            serve(None)
    finally:
        if started is not None and started.sandbox is not None:
            started.sandbox.close()  # a job started ahead and never graded here
