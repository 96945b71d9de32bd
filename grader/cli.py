"""The ``grader`` command line.

    grader demo [--out DIR]                              build hw1, grade its samples, show the reports
    grader build <hw> [--dist DIR]                       handouts, visible checker, samples, Gradescope zip
    grader grade <submission> --assignment <hw> [--json FILE] [--html FILE]   every test, hidden ones included
    grader check <submission> --assignment <hw> [--json FILE] [--html FILE]   the visible tests only
    grader batch <folder> --assignment <hw> --out DIR [--workers N] [--only ID...] [--force]
                                                         a class: gradebook, reports, reports to hand back
    grader export <out> --assignment <hw> [--format canvas|scores|functions] [--to FILE]
    grader gradebook add <out> --assignment <hw> [--db FILE|URL]   the course gradebook (SQLite, or a server)
    grader gradebook show [--format wide|scores] [--to FILE] [--db FILE|URL]
    grader validate <hw>                                 proof that the homework's tests catch wrong code
    grader list                                          the homeworks it knows, and where it found them
    grader gradescope run [--root DIR]                   inside Gradescope's container: results.json
    grader gradescope self-test [--root DIR]             setup.sh's last step: the solution must score full marks
    grader --version

Every command takes ``--course DIR``: a course folder (``DIR/assignments/<hw>/``,
``DIR/reference/<source>.py``) searched for homeworks before the project's own;
the environment variable ``NN_GRADER_COURSE`` does the same (see
:mod:`grader.homework.course`). ``grader build`` writes into the homework's
course's ``dist/`` unless told ``--dist``.

Exit status: 0 whatever the score; 2 for a usage error or bad input (a
message in one line, no traceback); 1 for an internal error.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from pathlib import Path

import grader
from grader.errors import UserError
from grader.paths import DEFAULT_DIST_DIR
from grader.threads import use_one_thread


def _add_course_option(parser: argparse.ArgumentParser) -> None:
    """``--course DIR``, which every command takes, before or after its name."""
    parser.add_argument(
        "--course",
        type=Path,
        default=argparse.SUPPRESS,  # given before the command, it must survive the command's own parser
        metavar="DIR",
        help="a course folder (DIR/assignments/<hw>/, DIR/reference/) searched for homeworks first "
        "(default: $NN_GRADER_COURSE, then the project's own)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Autograder for the neural-networks course homeworks.")
    parser.add_argument("--version", action="version", version=version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser("build", help="write a homework's student and solution handouts")
    build.add_argument("assignment", help="homework id, e.g. hw1_backprop")
    build.add_argument(
        "--dist", type=Path, default=None, help="output folder (default: dist/ of the homework's course folder)"
    )

    for name, what in (
        ("grade", "grade a submission with every test, hidden ones included"),
        ("check", "run the visible tests only, as a student would before submitting"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("submission", type=Path, help="a .py, an .ipynb, or a folder holding one")
        command.add_argument("--assignment", "-a", required=True, help="homework id, e.g. hw1_backprop")
        command.add_argument("--json", type=Path, help="write the result as JSON to this file")
        command.add_argument("--html", type=Path, help="write the feedback report as HTML to this file")

    _add_class_commands(commands)

    validate = commands.add_parser("validate", help="prove a homework's tests: full marks, zero, every mistake caught")
    validate.add_argument("assignment", help="homework id, e.g. hw1_backprop")

    commands.add_parser("list", help="the homeworks grader knows, and the folders it found them in")

    demo = commands.add_parser("demo", help="build hw1, grade its sample submissions, print where the reports are")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default: ./demo-output)")

    gradescope_commands = _add_gradescope_commands(commands)
    for command in [parser, *commands.choices.values(), *gradescope_commands.choices.values()]:
        _add_course_option(command)
    return parser


def _add_class_commands(commands) -> None:
    """A TA's commands: grade a class, export its gradebook, gather the course's gradebook."""
    batch = commands.add_parser("batch", help="grade every submission in a folder: gradebook, reports, class summary")
    batch.add_argument("folder", type=Path, help="one file or sub-folder per student, or a Gradescope export")
    batch.add_argument("--assignment", "-a", required=True, help="homework id, e.g. hw1_backprop")
    batch.add_argument("--out", type=Path, required=True, help="where the gradebook, results and reports go")
    batch.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel graders (default: one per core it may use; each then keeps to its core)",
    )
    batch.add_argument("--only", nargs="+", default=(), metavar="ID", help="regrade these students (their ids)")
    batch.add_argument("--force", action="store_true", help="regrade every submission, even unchanged ones")
    batch.add_argument("--times", type=Path, help="CSV student,submitted_at: when each came in (late policy)")
    batch.add_argument("--extensions", type=Path, help="CSV student,due: extended due times (late policy)")

    export = commands.add_parser("export", help="a batch's gradebook for an LMS: canvas, scores (id,score), functions")
    export.add_argument("out", type=Path, help="the folder grader batch wrote (it holds gradebook.csv)")
    export.add_argument("--assignment", "-a", required=True, help="homework id, e.g. hw1_backprop")
    export.add_argument("--format", choices=("canvas", "scores", "functions"), default="canvas")
    export.add_argument("--to", type=Path, help="the file to write (default: <out>/export-<format>.csv)")

    gradebook = commands.add_parser("gradebook", help="the course gradebook: every homework's batch in one table")
    gradebook_commands = gradebook.add_subparsers(dest="gradebook_command", metavar="COMMAND", required=True)
    add = gradebook_commands.add_parser("add", help="add (or replace) a homework's batch results")
    add.add_argument("out", type=Path, help="the folder grader batch wrote (it holds gradebook.csv)")
    add.add_argument("--assignment", "-a", required=True, help="homework id, e.g. hw1_backprop")
    show = gradebook_commands.add_parser("show", help="write the course table as CSV")
    show.add_argument("--format", choices=("wide", "scores"), default="wide")
    show.add_argument("--to", type=Path, help="the file to write (default: print it)")
    for command in (add, show):
        command.add_argument(
            "--db",
            metavar="FILE|URL",
            help="a SQLite file or a database URL such as postgresql+psycopg://USER@HOST/DATABASE "
            "(default: $NN_GRADER_GRADEBOOK_DB, then ./course.sqlite)",
        )


def _add_gradescope_commands(commands):
    """The commands run inside Gradescope's container; returns their subparsers."""
    gradescope = commands.add_parser("gradescope", help="run inside Gradescope's autograder container")
    gradescope_commands = gradescope.add_subparsers(dest="gradescope_command", metavar="COMMAND", required=True)
    run = gradescope_commands.add_parser(
        "run", help="grade /autograder/submission into /autograder/results/results.json"
    )
    run.add_argument("--root", type=Path, default=Path("/autograder"), help="the container's autograder folder")
    self_test = gradescope_commands.add_parser(
        "self-test",
        help="grade the reference solution in this container "
        "(setup.sh's last step); exit 1 unless it scores full marks",
    )
    self_test.add_argument("--root", type=Path, default=Path("/autograder"), help="the container's autograder folder")
    return gradescope_commands


def main(argv: list[str] | None = None) -> int:
    use_one_thread()  # before any command imports numpy
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if getattr(args, "course", None) is not None:
            from grader.homework import course

            course.use(args.course)
        return COMMANDS[args.command](args)
    except UserError as error:
        print(f"grader {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"grader {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        _stop_writing_to_stdout()
        return 0
    except OSError as error:
        if error.filename is None:
            raise
        print(f"grader {args.command}: cannot use {error.filename}: {error.strerror}", file=sys.stderr)
        return 2


def run() -> None:
    """The ``grader`` program (its console script, and ``python -m grader.cli``): :func:`main`, then the process
    ends without taking Python apart.

    Python's own exit frees every module and object one by one: 40-90 ms once numpy and pytest are loaded,
    a sixth of one ``grader grade``. Nothing here needs it: by then every result is written (and synced),
    the sandboxes are gone, and the zygote dies with this process. What an exit must do is still done, as
    Python does it: the exit handlers run (``atexit``: a batch's worker processes are ended, temporary
    folders removed) and buffered output is written. Python exits as it always does when something waits
    for its exit (:func:`_waited_for`) or the output cannot be written (a full disk: Python says so).
    """
    code = main()
    if not _waited_for():
        atexit._run_exitfuncs()  # what Python's exit runs first; it forgets them, so none runs twice
        if _flushed():
            os._exit(code)
    sys.exit(code)


def _waited_for() -> bool:
    """Whether something needs Python's own exit: another thread still running (Python waits for it), a
    profiler, tracer or debugger (``python -m cProfile``, coverage: they write what they saw after the
    program; from Python 3.12 some watch through ``sys.monitoring``), or the prompt of ``python -i``."""
    monitoring = getattr(sys, "monitoring", None)
    watched = monitoring is not None and any(monitoring.get_tool(tool) for tool in range(6))  # its 6 tool ids
    return (
        threading.active_count() > 1
        or sys.getprofile() is not None
        or sys.gettrace() is not None
        or watched
        or sys.flags.inspect
        or bool(os.environ.get("PYTHONINSPECT"))
    )


def _flushed() -> bool:
    """Write what stdout and stderr still hold; False if it cannot be written (Python's exit tries again and
    reports it). A reader of stdout that has gone (``| head``) ends the output quietly, as in :func:`main`."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # the program started with that descriptor closed
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            if stream is not sys.stdout:
                return False
            _stop_writing_to_stdout()
        except (OSError, ValueError):
            return False
    return True


def _stop_writing_to_stdout() -> None:
    """Send whatever is still to be written to stdout nowhere: its reader has gone."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def version_text() -> str:
    """``grader --version``: the version, and which copy of the grader answers (a clone, an install)."""
    return f"grader {grader.__version__} (nn-autograder, {Path(grader.__file__).resolve().parent})"


def _build(args) -> int:
    from grader.authoring.build import build_homework
    from grader.gradescope.autograder_zip import container_warnings
    from grader.homework import manifest as manifests

    manifest = manifests.load(args.assignment)
    dist = args.dist or (manifest.course / "dist" if manifest.course is not None else DEFAULT_DIST_DIR)
    notes: list[str] = []
    written = build_homework(manifest, dist, notes)
    print(f"built {manifest.id}: {manifest.title}")
    for key, path in written.items():
        print(f"  {key.replace('_', ' '):18} {path}")
    for warning in container_warnings(manifest):  # the zip is built all the same: the instructor decides
        print(f"grader build: warning: {manifest.id}: {warning}", file=sys.stderr)
    for note in notes:
        print(f"grader build: note: {manifest.id}: {note}", file=sys.stderr)
    return 0


def _grade(args, visibilities=("visible", "hidden")) -> int:
    from grader.sandbox.zygote import Zygote

    _check_paths(args)
    # The sandbox's Python starts and imports numpy now, on another core, while this process imports the grader.
    Zygote.shared()
    from grader.grading.grade import grade

    result = grade(args.submission, args.assignment, visibilities=visibilities)
    from grader.outputs.results import write_json_atomically
    from grader.outputs.summary import print_summary  # not report.py: its page templates are only for --html

    if args.json:
        write_json_atomically(args.json, result.to_dict())
    if args.html:
        from grader.files import write_atomic
        from grader.outputs.report import html_report

        write_atomic(args.html, html_report(result))
    print_summary(result)
    for path in (args.json, args.html):
        if path:
            print(f"\nwritten: {path}")
    return 0


def _check_paths(args) -> None:
    """Before grading: the submission exists (a typo is a usage error, never a zero) and the outputs can be written."""
    from grader.grading.submission import file_kind

    if file_kind(Path(args.submission)) is None:
        raise UserError(
            f"{args.submission} does not exist: give the .py or .ipynb file to grade, or a folder holding one"
        )
    for option, path in (("--json", args.json), ("--html", args.html)):
        if path is None:
            continue
        if Path(path).is_dir():
            raise UserError(f"{option} {path} is a folder: give the file to write")
        folder = Path(path).absolute().parent
        while not folder.exists() and folder != folder.parent:  # written with its missing folders made
            folder = folder.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise UserError(f"cannot write {path} ({option}): {folder} is not a folder you can write to")


def _check(args) -> int:
    return _grade(args, visibilities=("visible",))


def _batch(args) -> int:
    from grader.batch.run import run_batch

    return run_batch(
        args.folder,
        args.assignment,
        args.out,
        workers=args.workers,
        only=tuple(args.only),
        force=args.force,
        times=args.times,
        extensions=args.extensions,
    )


def _gradebook(args) -> int:
    from grader.outputs import course

    database = course.database(args.db)
    if args.gradebook_command == "add":
        count = course.add(database, args.out / "gradebook.csv", args.assignment)
        print(f"{course.shown(database)}: {args.assignment}: {count} students")
        return 0
    table = course.show(database, args.format)
    if args.to is None:
        print(table, end="")
        return 0
    from grader.files import write_atomic

    print(f"written: {write_atomic(args.to, table)}")
    return 0


def _export(args) -> int:
    from grader.files import write_atomic
    from grader.homework import manifest as manifests
    from grader.outputs.gradebook import export

    manifest = manifests.load(args.assignment)
    target = args.to or args.out / f"export-{args.format}.csv"
    print(f"written: {write_atomic(target, export(args.out / 'gradebook.csv', manifest, args.format))}")
    return 0


def _validate(args) -> int:
    from grader.authoring.validate import run_validate

    return run_validate(args.assignment)


def _list(args) -> int:
    """Each homework, its title and folder, course by course in the order they are searched."""
    from grader.homework import course as courses
    from grader.homework import manifest as manifests

    found = courses.courses()
    if not found:
        raise UserError(f"no homework found: {courses.searched()}")
    seen: set[str] = set()
    for course in found:
        print(f"{course.assignments}/  ({course.origin})")
        for name in course.ids() or ["(no homework yet)"]:
            try:
                title = manifests.load(course.assignments / name).title if name in course.ids() else ""
            except UserError as error:  # one broken manifest must not hide the others
                title = f"cannot be read: {error}"
            hidden = "  [hidden by the one above]" if name in seen else ""
            print(f"  {name:24} {title}{hidden}".rstrip())
        seen.update(course.ids())
    return 0


def _demo(args) -> int:
    from grader.demo import run_demo

    return run_demo(args.out)


def _gradescope(args) -> int:
    from grader.gradescope.container import run, self_test

    return {"run": run, "self-test": self_test}[args.gradescope_command](args.root)


COMMANDS = {
    "export": _export,
    "gradebook": _gradebook,
    "build": _build,
    "grade": _grade,
    "check": _check,
    "batch": _batch,
    "validate": _validate,
    "list": _list,
    "demo": _demo,
    "gradescope": _gradescope,
}


if __name__ == "__main__":
    run()
