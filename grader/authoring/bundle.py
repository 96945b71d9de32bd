"""The parts of the grader the students' checker carries, so it checks by the grader's own code.

The checker needs :mod:`grader.grading.replay` and everything it imports: the
client, operations and protocol of the sandbox, the comparisons and checks,
the result rule and the summary. Which modules those are is found by importing
them in a fresh Python (no list to keep up to date); each is carried as its
source, unchanged, with one exception: :mod:`grader.grading.tolerances` adopts
the numeric gradient check's constants from the reference, which never leaves
the course, so it is carried with its values written out. A homework's
``tests/checks.py`` (its own check functions) comes along as ``checks``.

Nothing of the reference, the tests or the hidden cases is ever carried: a
module that imports the reference is refused here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grader.errors import UserError
from grader.homework.manifest import Manifest
from grader.paths import PROJECT_ROOT

ROOTS = ("grader.grading.replay", "grader.outputs.summary", "grader.outputs.results")
"""What the checker runs; the modules they import come along."""

FROZEN = "grader.grading.tolerances"


def modules(manifest: Manifest) -> dict[str, tuple[bool, str]]:
    """{module name: (is a package, source)} of everything the checker carries."""
    names = _imported_by(ROOTS)
    carried = {}
    for name in names:
        if name == FROZEN:
            carried[name] = (False, _frozen_tolerances())
            continue
        path, package = _source_of(name)
        source = path.read_text(encoding="utf-8")
        if "from reference" in source or "import reference" in source:
            raise UserError(f"{path} imports the reference, which the students' checker must never carry")
        carried[name] = (package, source)
    checks = manifest.folder / "tests" / "checks.py"
    if checks.is_file():
        carried["checks"] = (False, checks.read_text(encoding="utf-8"))
    return carried


def _imported_by(roots: tuple[str, ...]) -> list[str]:
    """The grader's modules that importing ``roots`` loads, found in a fresh Python."""
    script = (
        "import importlib, json, sys\n"
        f"for root in {list(roots)!r}: importlib.import_module(root)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'grader' or m.startswith('grader.'))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, check=False
    )
    if found.returncode != 0:
        raise UserError(f"the checker's modules could not be imported:\n{found.stderr.strip()}")
    return json.loads(found.stdout)


def _source_of(name: str) -> tuple[Path, bool]:
    folder = PROJECT_ROOT.joinpath(*name.split("."))
    if (folder / "__init__.py").is_file():
        return folder / "__init__.py", True
    return folder.with_suffix(".py"), False


def _frozen_tolerances() -> str:
    """grader/grading/tolerances.py with the reference's constants written out as numbers."""
    from grader.grading import tolerances

    values = {name: getattr(tolerances, name) for name in dir(tolerances) if name.isupper()}
    lines = [f"{name} = {value!r}" for name, value in sorted(values.items())]
    return (
        f'"""{tolerances.__doc__.strip()}\n\n(Written out for the students\' checker.)\n"""\n\n'
        + "\n".join(lines)
        + "\n"
    )
