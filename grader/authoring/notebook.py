"""The handout as a notebook: the module's code cell by cell, with the narrative's text between.

Cells: a title (``templates/notebook_title.md.j2``), the narrative's
introduction, a preamble code cell, one code cell per top-level function or
class (each preceded by the narrative's block for it, if any), and a last cell
that runs the visible checks (``templates/notebook_check_cell.py.j2``).

Narrative convention (``assignments/<hw>/<narrative>``, Markdown): a line
``<!-- function: NAME -->`` starts the block shown just before NAME's cell;
text before the first marker is the introduction, split into cells at each
level-2 heading (``## ``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.module import (
    DEFINITION_NODES,
    block_end,
    build_module,
    checker_name,
    is_docstring,
    points_text,
    shown,
)
from grader.errors import UserError
from grader.files import render
from grader.grading.submission import CHECK_CELL_MARKER
from grader.homework.manifest import Manifest

NARRATIVE_MARKER = re.compile(r"\s*<!--\s*function:\s*([\w.]+)\s*-->\s*$")
TITLE_TEMPLATE = "notebook_title.md.j2"
CHECK_CELL_TEMPLATE = "notebook_check_cell.py.j2"


@dataclass(frozen=True)
class CodeBlock:
    """A code cell of the notebook: ``name`` is the function or class it defines, None for other code."""

    name: str | None
    source: str


@dataclass(frozen=True)
class Narrative:
    introduction: list[str]  # Markdown cells
    sections: dict[str, str]  # function name -> the Markdown shown before its cell


def split_module(text: str) -> list[CodeBlock]:
    """The handout's code as notebook cells: the preamble, then one block per top-level def or class.

    The module docstring is left out (the title cell says the same); comments
    directly above a definition stay with it; a gap between definitions that
    holds only comments (the reference's section rules) is left out, one that
    holds code becomes a cell of its own.
    """
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    body = tree.body[1:] if tree.body and is_docstring(tree.body[0]) else tree.body
    cursor = tree.body[0].end_lineno + 1 if body is not tree.body else 1
    blocks: list[CodeBlock] = []

    def gap(start: int, end: int, preamble: bool) -> None:
        chunk = "".join(lines[start - 1 : end - 1]).strip("\n")
        has_code = any(line.strip() and not line.lstrip().startswith("#") for line in chunk.splitlines())
        if chunk.strip() and (preamble or has_code):
            blocks.append(CodeBlock(None, chunk))

    for node in body:
        if not isinstance(node, DEFINITION_NODES):
            continue
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        while start - 1 >= cursor and lines[start - 2].lstrip().startswith("#"):
            start -= 1
        gap(cursor, start, preamble=not blocks)
        end = block_end(lines, node)
        blocks.append(CodeBlock(node.name, "".join(lines[start - 1 : end]).rstrip("\n")))
        cursor = end + 1
    gap(cursor, len(lines) + 1, preamble=not blocks)
    return blocks


def read_narrative(manifest: Manifest) -> Narrative:
    """The narrative's introduction cells and its per-function blocks (empty if the manifest names none)."""
    if not manifest.narrative:
        return Narrative([], {})
    path = manifest.folder / manifest.narrative
    if not path.is_file():
        raise UserError(
            f"{shown(manifest.folder / 'manifest.toml')}: narrative = {manifest.narrative!r}, "
            f"but {shown(path)} does not exist"
        )
    introduction: list[list[str]] = [[]]
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        marker = None if fenced else NARRATIVE_MARKER.match(line)
        if marker:
            name = marker.group(1)
            if name in sections:
                raise UserError(f"{shown(path)}, line {number}: a second block for {name}; give each function one")
            current = sections[name] = []
        elif current is not None:
            current.append(line)
        elif line.startswith("## ") and not fenced:
            introduction.append([line])
        else:
            introduction[-1].append(line)
    cells = ["\n".join(cell).strip() for cell in introduction]
    return Narrative(
        [cell for cell in cells if cell], {name: "\n".join(text).strip() for name, text in sections.items()}
    )


def build_notebook(manifest: Manifest, solution: bool, *, source_paths: Sequence[Path] | None = None):
    """The handout notebook (an nbformat v4 NotebookNode) holding the module's code cell by cell."""
    return notebook_from_module(manifest, build_module(manifest, solution, source_paths=source_paths))


def notebook_from_module(manifest: Manifest, module: str):
    import nbformat
    from nbformat import v4

    blocks = split_module(module)
    narrative = read_narrative(manifest)
    names = {block.name for block in blocks if block.name}
    unknown = sorted(set(narrative.sections) - names)
    if unknown:
        raise UserError(
            f"{shown(manifest.folder / manifest.narrative)}: blocks for {', '.join(unknown)}, which the "
            f"handout does not define (it defines: {', '.join(sorted(names))})"
        )
    context = {
        "assignment": manifest.id,
        "title": manifest.title,
        "tasks": [
            {"id": t.id, "function": t.function, "points": points_text(t.points), "title": t.title}
            for t in manifest.tasks
        ],
        "total": points_text(manifest.max_score),
        "module_name": f"{manifest.id}.py",
        "notebook_name": f"{manifest.id}.ipynb",
        "checker": checker_name(manifest),
        "marker": CHECK_CELL_MARKER,
    }
    cells = [_cell(v4.new_markdown_cell, render(TITLE_TEMPLATE, **context), "title")]
    cells += [
        _cell(v4.new_markdown_cell, text, f"introduction-{n}") for n, text in enumerate(narrative.introduction, 1)
    ]
    for number, block in enumerate(blocks, start=1):
        key = re.sub(r"[^A-Za-z0-9_-]", "-", block.name or ("preamble" if number == 1 else str(number)))[:50]
        if block.name in narrative.sections:
            cells.append(_cell(v4.new_markdown_cell, narrative.sections[block.name], f"about-{key}"))
        cells.append(_cell(v4.new_code_cell, block.source, f"code-{key}"))
    cells.append(_cell(v4.new_code_cell, render(CHECK_CELL_TEMPLATE, **context).strip("\n"), "visible-checks"))
    notebook = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return notebook


def _cell(make, source: str, cell_id: str):
    cell = make(source)
    cell.id = cell_id  # fixed ids: the same reference builds the same bytes
    return cell
