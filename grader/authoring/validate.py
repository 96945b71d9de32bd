"""``grader validate <hw>``: the instructor's proof that a homework's tests grade what they should.

Four claims, each checked by grading real submissions:

1. the reference solution scores full marks;
2. the blank student handout scores zero, every test saying "not implemented",
   with no error caused by the grader or the tests themselves;
3. every realistic mistake in ``assignments/<hw>/mistakes.toml`` loses points
   on the function it breaks, and on no other function (principle 2), except
   the functions that call it: those whose ``[[tasks]]`` entry in the manifest
   declares ``uses = [...]`` it (any mistake in it may cost them), and those the
   mistake itself declares with ``also = [...]`` (this mistake may cost them).
   A loss anywhere else fails the claim.

A mistake is the solution handout with edits, as a sample is
(:mod:`grader.homework.samples`)::

    [[mistakes]]
    function = "layer_gradients"
    about = "∂s/∂W transposed: xδᵀ instead of δᵀxᵀ"
    edits = [{ old = '"W": np.outer(delta, x)}', new = '"W": np.outer(x, delta)}' }]
    also = []          # optional: other tasks' functions this mistake may cost too (they call it)

A homework with no mistake at all fails validation: the catalogue is what proves the tests.

4. the students' checker gives every visible test the score grading gives, on the
   solution, the blank handout, every sample and every mistake
   (:mod:`grader.authoring.agreement`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.authoring import agreement
from grader.errors import UserError
from grader.grading.grade import VISIBILITIES, grade
from grader.homework import manifest as manifests
from grader.homework import samples
from grader.outputs.results import GradingResult


@dataclass(frozen=True)
class Mistake:
    function: str
    about: str
    edits: tuple[tuple[str, str], ...]
    also: tuple[str, ...] = ()
    """Other tasks' functions this mistake may cost too (they call the broken one)."""


@dataclass
class Verdict:
    claim: str
    holds: bool
    detail: str


def load_mistakes(manifest: manifests.Manifest) -> list[Mistake]:
    path = manifest.folder / "mistakes.toml"
    mistakes = []
    for number, entry in enumerate(samples.read_entries(path, "mistakes"), 1):
        try:
            mistake = Mistake(
                entry["function"], entry.get("about", ""), samples.edits_of(entry, required=True), _also(entry)
            )
        except (KeyError, TypeError) as error:
            raise UserError(
                f"{path}: [[mistakes]] number {number} needs function, about and edits = [{{old, new}}] "
                f"({error} is missing or malformed)"
            ) from None
        if mistake.function not in manifest.functions:
            raise UserError(
                f"{path}: [[mistakes]] number {number} names {mistake.function!r}, not a task of {manifest.id}"
            )
        strangers = [name for name in mistake.also if name not in manifest.functions or name == mistake.function]
        if strangers:
            raise UserError(
                f"{path}: [[mistakes]] number {number} ({mistake.function}): also = {strangers} names no other "
                f"task of {manifest.id} (the tasks: {', '.join(manifest.functions)})"
            )
        mistakes.append(mistake)
    return mistakes


def _also(entry: dict) -> tuple[str, ...]:
    """A mistake's ``also = ["name", ...]``; TypeError when it is not a list of names."""
    also = entry.get("also", [])
    if not isinstance(also, list) or not all(isinstance(name, str) for name in also):
        raise TypeError("also (a list of function names)")
    return tuple(also)


def _points_by_function(result: GradingResult) -> dict[str, float]:
    return {name: score for name, (score, _) in result.function_scores().items()}


def validate(assignment: str) -> list[Verdict]:
    """Grade the solution, the blank handout and every catalogued mistake; one verdict each."""
    manifest = manifests.load(assignment)
    mistakes = load_mistakes(manifest)
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="nn-grader-validate-") as folder:
        files = agreement.known_submissions(manifest, mistakes, Path(folder))
        checker_folder = Path(folder) / "checker"
        checker_folder.mkdir()
        checker = agreement.build_checker(manifest, checker_folder)
        with agreement.Checking(checker, files) as checking:  # the checker runs while grading goes on
            graded = {label: grade(path, str(manifest.folder), _graded_on(label)) for label, path in files.items()}
            verdicts += _whole_verdicts(graded["the solution"], graded["the blank handout"])
            reference_points = _points_by_function(graded["the solution"])
            tasks = {task.function: task for task in manifest.tasks}
            for number, mistake in enumerate(mistakes, 1):
                points = _points_by_function(graded[f"mistake {number}"])
                verdicts.append(_mistake_verdict(number, mistake, reference_points, points, tasks))
            found = checking.disagreements(graded)
        counted = f"{len(graded)} submissions (the solution, the blank handout, the samples and the mistakes)"
        verdicts.append(
            Verdict(
                "the students' checker gives every visible test the score grading gives",
                not found,
                f"{counted}: " + ("every visible test agrees" if not found else "; ".join(found[:10])),
            )
        )
    if not mistakes:
        verdicts.append(
            Verdict(
                "the catalogue of mistakes exists",
                False,
                f"{manifest.folder / 'mistakes.toml'} lists no [[mistakes]]: add the realistic ones",
            )
        )
    return verdicts


def _graded_on(label: str) -> tuple[str, ...]:
    """A sample is graded as grader check grades it, on the checker's (visible) tests; the rest on all."""
    return ("visible",) if label.startswith("sample") else VISIBILITIES


def _whole_verdicts(full: GradingResult, zero: GradingResult) -> list[Verdict]:
    """The solution scores full marks; the blank handout zero, every test saying not implemented."""
    wrong = [t for t in full.tests if not t.passed]
    not_implemented = [t for t in zero.tests if t.status == "failed" and "not implemented" in t.message]
    grader_faults = [e for e in zero.errors if e.startswith("grader error")]
    return [
        Verdict(
            "the reference solution scores full marks",
            full.score == full.max_score and not wrong,
            f"{full.score:g} / {full.max_score:g}" + "".join(f"; {t.name}: {t.message}" for t in wrong),
        ),
        Verdict(
            "the blank handout scores zero, every test saying not implemented, without grader errors",
            zero.score == 0 and len(not_implemented) == len(zero.tests) and not grader_faults,
            f"{zero.score:g} / {zero.max_score:g}, "
            f"{len(not_implemented)} of {len(zero.tests)} tests not implemented"
            + "".join(f"; {e}" for e in grader_faults + zero.errors),
        ),
    ]


def _mistake_verdict(number: int, mistake: Mistake, reference: dict, points: dict, tasks: dict) -> Verdict:
    """Caught when the mistake costs its own function points, and no function that neither uses it nor is
    declared in its ``also``."""
    lost = {name: reference[name] - points.get(name, 0.0) for name in reference}
    costs = {name: loss for name, loss in lost.items() if name != mistake.function and loss > 1e-9}
    users = {name for name, task in tasks.items() if mistake.function in task.uses}
    declared_here = set(mistake.also)
    others = [f"{name} (−{loss:g})" for name, loss in costs.items() if name not in users | declared_here]
    used = [f"{name} (−{loss:g})" for name, loss in costs.items() if name in users]
    also = [f"{name} (−{loss:g})" for name, loss in costs.items() if name in declared_here - users]
    caught = lost[mistake.function] > 1e-9 and not others
    detail = f"{mistake.function} loses {lost[mistake.function]:g} of {reference[mistake.function]:g}"
    if used:
        detail += "; and, as the manifest declares they use it, " + ", ".join(used)
    if also:
        detail += "; and, as the mistake declares (also), " + ", ".join(also)
    if others:
        detail += "; but it also costs " + ", ".join(others)
    return Verdict(f"mistake {number} is caught: {mistake.about}", caught, detail)


def run_validate(assignment: str) -> int:
    """Print each verdict; exit status 0 when every claim holds, 1 when one does not."""
    verdicts = validate(assignment)
    for verdict in verdicts:
        print(f"  {'ok  ' if verdict.holds else 'FAIL'}  {verdict.claim}\n        {verdict.detail}")
    failed = sum(not v.holds for v in verdicts)
    print(
        f"\n{assignment}: "
        + (f"{failed} of {len(verdicts)} claims do NOT hold" if failed else f"all {len(verdicts)} claims hold")
    )
    return 1 if failed else 0
