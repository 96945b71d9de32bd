"""The batch's worker processes: each collects the homework's tests once, then grades submission after submission.

Collecting a homework's tests (pytest's start, the test files imported, every case built) costs
about as much as grading a small homework, so a worker pays for it once, not once per submission
(see :class:`grader.grading.harness.TestSession`). Nothing of one submission stays for the next:
each has a sandbox of its own, and every fixture is torn down after its last test.

The parent hands each worker one job at a time over a pipe and takes its outcome back. A worker
that dies loses only the job it held; a new worker takes its place for the jobs still waiting.
On Linux the workers are forks of the parent, which imports the grading modules first, so they
start at once and share those pages with it.
"""

from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import signal
import sys
from collections.abc import Callable
from typing import Any

STOP_SECONDS = 10.0  # a worker told to stop ends its pytest session; one that takes longer is killed


def grade_jobs(
    jobs: dict[str, Any],
    workers: int,
    grade_one: Callable[[Any, Any], Any],
    on_done: Callable[[str, Any], None],
) -> dict[str, Any]:
    """Run ``grade_one(job, session)`` for every job in ``workers`` processes, ``on_done(student, outcome)`` here.

    ``grade_one`` must be a module-level function (where workers are not forks, it is sent to them by
    name). Returns the jobs whose worker died while grading them.
    """
    context = _prepared_context()
    waiting = collections.deque(jobs.items())
    lost: dict[str, Any] = {}
    running: list[_Worker] = []
    try:
        for _ in range(min(workers, len(waiting))):
            running.append(_Worker(context, grade_one, *waiting.popleft()))
        while running:
            ready = multiprocessing.connection.wait([worker.connection for worker in running])
            for worker in [w for w in running if w.connection in ready]:
                student, job = worker.holding
                try:
                    outcome = worker.connection.recv()
                except Exception:  # it died (its pipe closed), or its last words are not an outcome
                    lost[student] = job
                    worker.kill()
                    running.remove(worker)
                    if waiting:
                        running.append(_Worker(context, grade_one, *waiting.popleft()))
                    continue
                on_done(student, outcome)
                if waiting:
                    worker.give(*waiting.popleft())
                else:
                    worker.stop()
                    running.remove(worker)
    finally:  # Ctrl-C, or a failed write in on_done: the workers end now, not after grading what is queued
        for worker in running:
            worker.kill()
    return lost


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
    """A worker process, seen from the parent: its pipe and the job it holds."""

    def __init__(self, context, grade_one, student: str, job):
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_work, args=(theirs, grade_one), daemon=True)
        self.process.start()
        theirs.close()  # only the worker holds its end: its death is the end of this pipe
        self.give(student, job)

    def give(self, student: str, job) -> None:
        self.holding = (student, job)
        self.connection.send(job)

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(STOP_SECONDS)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


def _work(connection, grade_one) -> None:
    """In a worker: grade the jobs the parent sends, in one pytest session, until it sends None."""
    from grader.authoring.module import handout_names
    from grader.errors import UserError
    from grader.grading.grade import test_files
    from grader.grading.harness import HarnessPlugin, TestSession, run_tests
    from grader.sandbox import Unavailable

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    job = connection.recv()
    if job is None:
        return
    manifest = job.manifest
    served = False

    def serve(session: TestSession) -> None:
        nonlocal job, served
        served = True
        while job is not None:
            connection.send(grade_one(job, session))
            job = connection.recv()

    plugin = HarnessPlugin(
        sandbox=Unavailable("no submission yet"),
        functions=manifest.functions,
        tests_root=manifest.folder / "tests",
        names=handout_names(manifest),
    )
    try:
        run_tests(plugin, test_files(manifest), session=TestSession(plugin, serve))
    except UserError:
        pass  # what went wrong is in the results: each job graded with the session said so
    while not served and job is not None:  # pytest never reached the tests: each job collects them itself
        connection.send(grade_one(job, None))
        job = connection.recv()
