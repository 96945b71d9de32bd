"""Sample submissions, derived from the solution handout so they never drift from the reference.

``assignments/<hw>/samples/samples.toml`` describes each sample as the
solution handout (module or notebook) with edits::

    [[samples]]
    file = "partly_wrong.py"                 # .py: from the solution module; .ipynb: the notebook
    about = "a transposed ∂s/∂W and a missing σ'"
    score = 13.75                            # what grading must give it
    edits = [{ old = '"W": np.outer(delta, x)', new = '"W": np.outer(x, delta)' }]
    append = "hostile_functions.py"          # optional: a file of the samples folder added at the end
    cells = [{ before = 1, source = "%matplotlib inline" }]   # optional, notebooks: extra code cells

Each ``old`` must occur exactly once (in one code cell, for a notebook): a
sample whose edit no longer fits the reference is an error that says so,
never a silently different sample.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.authoring.module import build_module
from grader.authoring.notebook import build_notebook
from grader.errors import UserError
from grader.files import write_atomic
from grader.homework.manifest import Manifest


@dataclass(frozen=True)
class Sample:
    file: str
    about: str
    score: float
    edits: tuple[tuple[str, str], ...] = ()
    append: str = ""
    cells: tuple[tuple[int, str], ...] = field(default_factory=tuple)


def read_entries(path: Path, table: str) -> list[dict]:
    """The ``[[table]]`` entries of a TOML file; none if the file does not exist."""
    if not path.is_file():
        return []
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get(table, [])
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML: {error}") from None


def edits_of(entry: dict, required: bool = False) -> tuple[tuple[str, str], ...]:
    """An entry's ``edits = [{old, new}, ...]`` as (old, new) pairs; KeyError if ``required`` and absent."""
    return tuple((e["old"], e["new"]) for e in (entry["edits"] if required else entry.get("edits", [])))


def load(manifest: Manifest) -> list[Sample]:
    path = manifest.samples_dir / "samples.toml"
    entries = read_entries(path, "samples")
    samples = []
    for number, entry in enumerate(entries, 1):
        try:
            samples.append(
                Sample(
                    file=entry["file"],
                    about=entry.get("about", ""),
                    score=float(entry["score"]),
                    edits=edits_of(entry),
                    append=entry.get("append", ""),
                    cells=tuple((int(c["before"]), c["source"]) for c in entry.get("cells", [])),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UserError(
                f"{path}: [[samples]] number {number} is malformed ({error}); it needs file, score and "
                "optionally about, edits = [{old, new}], append, cells = [{before, source}]"
            ) from None
    return samples


def derive(manifest: Manifest, sample: Sample) -> str:
    """The sample's file content."""
    where = f"{manifest.samples_dir / 'samples.toml'}: sample {sample.file}"
    if sample.file.endswith(".py"):
        text = build_module(manifest, solution=True)
        for old, new in sample.edits:
            count = text.count(old)
            if count != 1:
                raise UserError(f"{where}: the edit of {old!r} matches {count} places of the solution, not one")
            text = text.replace(old, new)
        if sample.append:
            text += "\n\n" + (manifest.samples_dir / sample.append).read_text(encoding="utf-8")
        return text
    if sample.file.endswith(".ipynb"):
        import nbformat
        from nbformat import v4

        notebook = build_notebook(manifest, solution=True)
        for old, new in sample.edits:
            matches = [cell for cell in notebook.cells if cell.cell_type == "code" and old in cell.source]
            if len(matches) != 1 or matches[0].source.count(old) != 1:
                raise UserError(f"{where}: the edit of {old!r} must match one place in one code cell")
            matches[0].source = matches[0].source.replace(old, new)
        for offset, (before, source) in enumerate(sorted(sample.cells)):
            cell = v4.new_code_cell(source)
            cell.id = f"sample-{offset}"
            notebook.cells.insert(before + offset, cell)
        return nbformat.writes(notebook) + "\n"
    raise UserError(f"{where}: a sample is a .py or an .ipynb file")


def write(manifest: Manifest, folder: Path) -> dict[str, Path]:
    """Write every sample into ``folder``; returns {file name: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {sample.file: write_atomic(folder / sample.file, derive(manifest, sample)) for sample in load(manifest)}
