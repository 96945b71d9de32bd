"""The students' checker: the visible tests, repeated on the student's code without the solution.

``check_<hw>.py`` carries the parts of the grader it needs (grader/authoring/bundle.py) and
the record of every visible test case (grader/authoring/checker.py): the operations the test
made on the solution, and its checks (grader/grading/checks.py) with their expected values.
This module repeats each case on the student's code: every operation through the same client,
operations and protocol as grading (grader/sandbox/local.py), every check by the grader's own
check function with the student's answer where the solution's was; the case's result comes
from the harness's rule (grader/grading/cases.py) and the summary is the grader's. So the
checker and ``grader check`` give the same score to every visible test.

A case whose test has logic of its own that could not be recorded as checks (a plain
``assert`` on the test's own computation) is checked answer by answer instead: each of the
student's answers against the solution's, at the course's tolerance. The summary names
those tests: only the grader runs their own checks. In the other cases too, an answer that
no check looked at (the test judged it by code of its own, or only passed it on) is compared
with the solution's.

As in grading, the submission is loaded once, in a process of its own, and each case runs in a
fork of it: no case sees what another did to the module's state, and code that ends its process
(``os._exit``, a crash, running out of memory) ends only its case. Without ``fork`` (Windows) the
cases run one after another in one process.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from grader.errors import UserError
from grader.grading import checks, compare
from grader.grading.cases import CaseInfo, Credit, Leaderboard, Plots, Unprinted, WorkedExample, case_result
from grader.grading.loading import load_problems
from grader.grading.submission import read_submission
from grader.homework.manifest import Limits
from grader.outputs.results import GradingResult, TestResult, TestStatus, Visibility
from grader.sandbox import OperationFailed, Status, protocol
from grader.sandbox.calls import LoadReport
from grader.sandbox.handles import Handle, ModuleFunction
from grader.sandbox.local import LocalSandbox


@dataclasses.dataclass
class Homework:
    """What the checker knows of its homework, written into it at build time."""

    id: str
    title: str
    functions: list[str]
    packages: list[str]
    limits: dict
    cases: list[dict]

    @property
    def limit(self) -> Limits:
        return Limits(**self.limits)


# ----- one case -----------------------------------------------------------------------------------------
class _Case:
    """One case being repeated: the answers so far, and the fixtures its checks use."""

    def __init__(self, record: dict, sandbox: LocalSandbox):
        self.record, self.sandbox = record, sandbox
        self.info = CaseInfo(record["name"], record["points"], record["functions"], Visibility.VISIBLE)
        self.answers: list = []

    def value(self, encoded):
        """A recorded value: the student's answer where the record names one, the recorded value otherwise."""
        ((kind, body),) = encoded.items()
        if kind == "from":
            return self._answer(body)
        if kind == "module":
            return ModuleFunction(self.sandbox, body)
        if kind == "unprinted":
            return Unprinted(body)
        if kind == "fixture":
            return self._fixture(body)
        if kind == "tuple":
            return tuple(self.value(item) for item in body)
        if kind == "list":
            return [self.value(item) for item in body]
        if kind == "dict":
            return {self.value(key): self.value(item) for key, item in body}
        return protocol.from_plain(body)

    def _answer(self, path: list):
        """The student's answer at ``[step, "value" or "changed", key...]``; None where it has nothing there."""
        step, part, *keys = path
        value = getattr(self.answers[step], part) if step < len(self.answers) else None
        for key in keys:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                return None
        return value

    def _fixture(self, name: str):
        fixtures = self.info.fixtures
        if name not in fixtures:
            if name == "worked_example":
                fixtures[name] = WorkedExample(self._fixture("credit"))
            else:
                fixtures[name] = {"credit": Credit, "plots": Plots, "leaderboard": Leaderboard}[name]()
        return fixtures[name]

    def run(self, grader_errors: list[str]) -> TestResult:
        try:
            for event in self.record["events"]:
                if "step" in event:
                    self._step(event["step"])
                elif not self.record["fallback"]:
                    check = event["check"]
                    arguments = {name: self.value(value) for name, value in check["arguments"].items()}
                    checks.by_key(check["key"])(**arguments)
            error = None
        except BaseException as raised:  # the student's failure, a wrong value, or the checker's own fault
            error = raised
        return case_result(self.info, error, grader_errors)

    def _step(self, step: dict) -> None:
        result = self.sandbox.request(
            step["op"],
            target=self.value(step["target"]),
            name=step["name"],
            args=self.value(step["args"]),
            kwargs=self.value(step["kwargs"]),
            what=step["what"],
        )
        self.answers.append(result)
        if result.status != Status.OK:
            if not step["fails"]:  # the solution answered here: the test ends, as it would in grading
                raise OperationFailed(result.status, result.message)
        elif self.record["fallback"] or step["compare"]:
            compare_answer(result.value, step["answer"], step["what"])


def compare_answer(got, expected: dict, name: str) -> None:
    """The student's answer against the solution's (for a test whose own checks cannot be repeated)."""
    ((kind, body),) = expected.items()
    if kind == "object":
        if not isinstance(got, Handle):
            raise compare.WrongType(f"{name}: expected an object ({body}), got {type(got).__name__}")
    elif kind == "list":
        compare.assert_kind(got, "list", name=name)
        if len(got) != len(body):
            raise compare.Mismatch(f"{name}: expected a list of {len(body)}, got a list of {len(got)}")
        for index, (item, wanted) in enumerate(zip(got, body)):
            compare_answer(item, wanted, f"{name}[{index}]")
    elif kind == "dict":
        compare.assert_kind(got, "dict", name=name)
        for key, wanted in body:
            key = protocol.from_plain(key["plain"])
            if key not in got:
                raise compare.WrongType(f"{name}: the returned dict lacks the key {key!r}")
            compare_answer(got[key], wanted, f"{name}[{key!r}]")
    else:
        wanted = protocol.from_plain(body)
        if wanted is None or isinstance(wanted, (bool, str)):
            compare.assert_equal(got, wanted, name=name)
        else:
            compare.assert_close(got, wanted, name=name)


# ----- the processes ----------------------------------------------------------------------------------------
def _silenced() -> None:
    """Student code's own printing goes nowhere: the checker's output is the summary."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (1, 2):
        os.dup2(devnull, stream)
    os.close(devnull)


def _limited(limits: Limits) -> None:
    """The homework's CPU and memory limits on this process, where the system has them."""
    try:
        import resource
    except ImportError:  # Windows
        return
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    try:
        with open("/proc/self/statm") as statm:  # the address space used so far, numpy's included
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        used = 0
    room = used + limits.memory_mb * 2**20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (room, room))
    except (ValueError, OSError):  # macOS refuses to lower it: the limit is the system's then
        pass


def _run_case_in_fork(sandbox: LocalSandbox, record: dict, limits: Limits) -> tuple[dict, dict]:
    """(the case's result as plain data, the operations that timed out), from a fork that runs it."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            _limited(limits)
            sandbox.reset()
            errors: list[str] = []
            result = _Case(record, sandbox).run(errors)
            protocol.write_message(
                write_end, {"result": dataclasses.asdict(result), "errors": errors, "timed_out": sandbox._timed_out}
            )
        finally:
            os._exit(0)
    os.close(write_end)
    steps = sum("step" in event for event in record["events"])
    deadline = time.monotonic() + limits.call_seconds * (steps + 1) + 10
    try:
        message = protocol.read_message(read_end, deadline=deadline)
    except TimeoutError:
        os.kill(pid, 9)
        message = {"ended": f"it did not finish within {deadline:.0f} s"}
    except (EOFError, protocol.ProtocolError):
        message = {}
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if "result" in message:
        return message, message.get("timed_out", {})
    how = message.get("ended") or _how_it_ended(os.waitstatus_to_exitcode(status), limits)
    result = TestResult(
        record["name"],
        0.0,
        record["points"],
        TestStatus.TIMEOUT if "did not finish" in how else TestStatus.ERROR,
        Visibility.VISIBLE,
        record["functions"],
        message=f"{record['functions'][0]}: the submission's process stopped during this test: {how}",
    )
    return {"result": dataclasses.asdict(result), "errors": []}, {}


def _how_it_ended(code: int, limits: Limits) -> str:
    if code == -9:
        return "it was killed (out of memory?)"
    if code == -24:  # SIGXCPU
        return f"it used more than {limits.cpu_seconds} s of CPU time"
    if code < 0:
        return f"it was stopped by signal {-code}"
    return f"the process exited with status {code} (os._exit or sys.exit in a child process?)"


def _loaded(homework: Homework, submission) -> LocalSandbox:
    """The submission loaded, its functions that did not load explained as grading explains them."""
    sandbox = LocalSandbox(submission, homework.limit, homework.id, tuple(homework.packages))
    _, sandbox.missing_hints = load_problems(submission, sandbox.start())
    return sandbox


def _serve(homework: Homework, submission, write_end: int) -> None:
    """The loading process: load once, then run each case in a fork of it and pass its result on."""
    _silenced()
    sandbox = _loaded(homework, submission)
    report = sandbox.load_report
    protocol.write_message(write_end, {"load": dataclasses.asdict(report)})
    if report.fatal:
        return
    for record in homework.cases:
        message, timed_out = _run_case_in_fork(sandbox, record, homework.limit)
        sandbox._timed_out.update(timed_out)  # not run again in a later case, as when grading
        protocol.write_message(write_end, message)


def _messages(homework: Homework, submission):
    """The load report, then each case's result, from a loading process (or this one, without fork)."""
    if not hasattr(os, "fork"):
        sandbox = _loaded(homework, submission)
        yield {"load": dataclasses.asdict(sandbox.load_report)}
        for record in homework.cases:
            sandbox.reset()
            errors: list[str] = []
            yield {"result": dataclasses.asdict(_Case(record, sandbox).run(errors)), "errors": errors}
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            _serve(homework, submission, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        while True:
            try:
                yield protocol.read_message(read_end)
            except (EOFError, protocol.ProtocolError):
                return
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


# ----- the check ----------------------------------------------------------------------------------------------
def check(path: Path, homework: Homework) -> GradingResult:
    """Every visible case of ``homework`` on the submission at ``path``, as ``grader check`` grades it."""
    started = time.monotonic()
    errors: list[str] = []
    tests: list[TestResult] = []
    try:
        submission = read_submission(Path(path), assignment=homework.id)
    except UserError as error:
        errors.append(str(error))
        tests = [_unavailable(record, f"the submission could not be read: {error}") for record in homework.cases]
    else:
        errors.extend(submission.warnings)
        messages = _messages(homework, submission)
        report = LoadReport(**next(messages, {}).get("load", {"fatal": "the submission's process ended while loading"}))
        if report.fatal:
            errors.append(report.fatal)
        problems, _ = load_problems(submission, report)
        errors.extend(problems)
        for message in messages:
            tests.append(TestResult(**message["result"]))
            errors.extend(f"error in the checker, in {e}" for e in message.get("errors", []))
        done = {test.name for test in tests}
        tests += [
            _unavailable(record, report.fatal or "the checker stopped before this test")
            for record in homework.cases
            if record["name"] not in done
        ]
    return GradingResult.of(
        tests,
        assignment=homework.id,
        submission=str(path),
        errors=errors,
        label="visible tests",
        functions=list(homework.functions),
        execution_time=time.monotonic() - started,
    )


def _unavailable(record: dict, why: str) -> TestResult:
    return TestResult(
        record["name"], 0.0, record["points"], TestStatus.ERROR, Visibility.VISIBLE, record["functions"], message=why
    )


def answer_by_answer(homework: Homework) -> list[str]:
    """The visible tests the checker can only compare answer by answer, and why."""
    return [f"{record['name']}: {record['fallback']}" for record in homework.cases if record["fallback"]]


def main(argv: list[str], homework: Homework, default_files: list[str]) -> int:
    """``python check_<hw>.py [FILE] [--json OUT]``: check FILE (or the handout beside the script)."""
    from grader.outputs.summary import print_summary

    args = list(argv[1:])
    json_path = None
    if "--json" in args:
        at = args.index("--json")
        if at + 1 >= len(args):
            print("--json needs the file to write", file=sys.stderr)
            return 2
        json_path = args.pop(at + 1)
        args.pop(at)
    if len(args) > 1:
        print(f"usage: python {Path(argv[0]).name} [your {homework.id}.py or .ipynb] [--json FILE]", file=sys.stderr)
        return 2
    path = args[0] if args else next((p for p in default_files if os.path.exists(p)), None)
    if path is None:
        print(f"found none of {', '.join(map(os.path.basename, default_files))} here: give the file to check")
        return 2
    if not os.path.exists(path):
        print(f"{path} does not exist: give your .py or .ipynb file")
        return 2
    result = check(Path(path), homework)
    print_summary(result)
    replayed = answer_by_answer(homework)
    if replayed:
        print("\n  these tests are checked here answer by answer against the solution's answers;")
        print("  the grader runs their own checks, which may accept answers these do not:")
        for line in replayed:
            print(f"    {line}")
    print("\nThese are the visible tests only: the grader also runs hidden tests.")
    if json_path:
        from grader.outputs.results import write_json_atomically

        write_json_atomically(Path(json_path), result.to_dict())
    return 0
