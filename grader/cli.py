"""The ``grader`` command line.

    grader build <hw> [--dist DIR]                       student and solution handouts, the visible checker
    grader grade <submission> --assignment <hw> [--json FILE]   every test, hidden ones included
    grader check <submission> --assignment <hw> [--json FILE]   the visible tests only

Exit status: 0 whatever the score; 2 for a usage error or bad input (a
message in one line, no traceback); 1 for an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .errors import UserError
from .paths import DEFAULT_DIST_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Autograder for the neural-networks course homeworks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser("build", help="write a homework's student and solution handouts")
    build.add_argument("assignment", help="homework id, e.g. hw1_backprop")
    build.add_argument("--dist", type=Path, default=DEFAULT_DIST_DIR, help="output folder (default: dist/)")

    for name, what in (("grade", "grade a submission with every test, hidden ones included"),
                       ("check", "run the visible tests only, as a student would before submitting")):  # fmt: skip
        command = commands.add_parser(name, help=what)
        command.add_argument("submission", type=Path, help="a .py, an .ipynb, or a folder holding one")
        command.add_argument("--assignment", "-a", required=True, help="homework id, e.g. hw1_backprop")
        command.add_argument("--json", type=Path, help="write the result as JSON to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except UserError as error:
        print(f"grader {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"grader {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _build(args) -> int:
    from . import manifest as manifests
    from . import samples
    from .checker import record_visible_cases, write_checker
    from .handout import build

    manifest = manifests.load(args.assignment)
    written = build(manifest, args.dist)
    sample_files = samples.write(manifest, Path(args.dist) / manifest.id / "samples")
    with tempfile.TemporaryDirectory(prefix="nn-grader-build-") as workdir:
        cases = record_visible_cases(manifest, Path(workdir))
    written["student_checker"] = write_checker(manifest, written["student_module"].parent, cases)
    print(f"built {manifest.id}: {manifest.title}")
    for key, path in written.items():
        print(f"  {key.replace('_', ' '):18} {path}")
    if sample_files:
        print(f"  {'samples':18} {len(sample_files)} in {next(iter(sample_files.values())).parent}")
    return 0


def _grade(args, visibilities=("visible", "hidden")) -> int:
    from .grading import grade
    from .report import print_summary
    from .results import write_json_atomically

    result = grade(args.submission, args.assignment, visibilities=visibilities)
    if args.json:
        write_json_atomically(args.json, result.to_dict())
    print_summary(result)
    if args.json:
        print(f"\nresult written to {args.json}")
    return 0


def _check(args) -> int:
    return _grade(args, visibilities=("visible",))


COMMANDS = {"build": _build, "grade": _grade, "check": _check}


if __name__ == "__main__":
    sys.exit(main())
