"""Blanks the reference into a homework's handouts: one module and one notebook, student and solution.

The handout is ONE self-contained module: the manifest's reference modules
concatenated in order, without the imports between them, under a header
docstring that names the homework and its tasks, with
``from __future__ import annotations`` hoisted to the top.

In the student handout every task function keeps its decorators, signature
and docstring; the rest of its body becomes::

    # TODO(task 1.3): implement backward_pass
    raise NotImplementedError("task 1.3: implement backward_pass")

A function whose body holds ``# BEGIN SOLUTION`` / ``# END SOLUTION`` comment
lines is blanked between them only (the TODO and the raise at the marker's
indentation). The marker lines never reach any handout. Everything works on
the source text with ast line numbers, so comments and layout survive.

The notebook holds the same code, cell by cell: a title cell
(``templates/notebook_title.md.j2``), the narrative's introduction, a preamble
code cell, one code cell per top-level function or class (each preceded by the
narrative's block for it, if any), and a last cell that runs the visible checks
(``templates/notebook_check_cell.py.j2``).

Narrative convention (``assignments/<hw>/<narrative>``, Markdown): a line
``<!-- function: NAME -->`` starts the block shown just before NAME's cell;
text before the first marker is the introduction, split into cells at each
level-2 heading (``## ``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UserError
from grader.files import render, write_atomic
from grader.grading.submission import CHECK_CELL_MARKER
from grader.homework.manifest import Manifest, Task
from grader.paths import PROJECT_ROOT

BEGIN_SOLUTION = re.compile(r"\s*#\s*BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"\s*#\s*END SOLUTION\s*$")
NARRATIVE_MARKER = re.compile(r"\s*<!--\s*function:\s*([\w.]+)\s*-->\s*$")
TITLE_TEMPLATE = "notebook_title.md.j2"
CHECK_CELL_TEMPLATE = "notebook_check_cell.py.j2"

_DEFINITION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def checker_name(manifest: Manifest) -> str:
    """The visible-checks script shipped beside the student handout."""
    return f"check_{manifest.id}.py"


def todo_lines(task: Task, indent: str) -> list[str]:
    """The two lines that stand for a blanked body."""
    return [
        f"{indent}# TODO(task {task.id}): implement {task.function}\n",
        f'{indent}raise NotImplementedError("task {task.id}: implement {task.function}")\n',
    ]


# ----- the module --------------------------------------------------------------------


def build_module(manifest: Manifest, solution: bool, *, source_paths: Sequence[Path] | None = None) -> str:
    """The handout module's source; ``solution=False`` blanks the task functions.

    ``source_paths`` replaces ``manifest.source_paths`` (for homeworks built
    from files outside ``reference/``, and for tests).
    """
    paths = [Path(p) for p in (manifest.source_paths if source_paths is None else source_paths)]
    tasks = {task.function: task for task in manifest.tasks}
    found: dict[str, Path] = {}
    partial: set[str] = set()
    docstrings, futures, segments, seen_imports = [], set(), [], set()
    for index, path in enumerate(paths):
        source = _Source(path, earlier=[p.stem for p in paths[:index]], later=[p.stem for p in paths[index + 1 :]])
        segment = source.handout(tasks, solution, seen_imports, found, partial)
        if source.docstring:
            docstrings.append(source.docstring)
        futures |= source.futures
        if segment.strip():
            banner = f"# ===== {path.stem} =====\n\n" if len(paths) > 1 else ""
            segments.append(banner + segment.strip("\n") + "\n")
    missing = [task for task in manifest.tasks if task.function not in found]
    if missing:
        where = ", ".join(_shown(p) for p in paths)
        names = ", ".join(f"{task.function!r} (task {task.id})" for task in missing)
        raise UserError(
            f"{_shown(manifest.folder / 'manifest.toml')}: the function(s) {names} are not defined "
            f"at the top level of {where}; fix the [[tasks]] entry or the reference"
        )
    parts = [_header(manifest, docstrings)]
    if futures:
        parts.append(f"from __future__ import {', '.join(sorted(futures))}\n")
    text = "\n".join(parts) + "\n" + "\n\n".join(segments)
    text = _collapse_blank_runs(text)
    compile(text, f"{manifest.id}.py", "exec")
    if not solution:
        _verify_blanked(text, manifest, partial)
    return text


@dataclass
class _Edit:
    start: int  # first line replaced, 1-based
    end: int  # last line replaced, inclusive; start - 1 inserts before start
    lines: list[str]


class _Source:
    """One reference module: its text, syntax tree and the edits that make it a handout segment."""

    def __init__(self, path: Path, earlier: list[str], later: list[str]):
        self.path, self.earlier, self.later = path, earlier, later
        self.text = path.read_text(encoding="utf-8")
        if not self.text.endswith("\n"):
            self.text += "\n"
        self.lines = self.text.splitlines(keepends=True)
        try:
            self.tree = ast.parse(self.text, filename=str(path))
        except SyntaxError as error:
            raise UserError(f"{_shown(path)}, line {error.lineno}: not valid Python: {error.msg}") from None
        self.docstring = ast.get_docstring(self.tree) or ""
        self.futures: set[str] = set()

    def handout(
        self, tasks: dict[str, Task], solution: bool, seen_imports: set[str], found: dict[str, Path], partial: set[str]
    ) -> str:
        edits: list[_Edit] = []
        body = self.tree.body
        if self.docstring:
            edits.append(_Edit(body[0].lineno, body[0].end_lineno, []))
        for node in body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                self.futures.update(alias.name for alias in node.names)
                edits.append(_Edit(node.lineno, node.end_lineno, []))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                line = "".join(self.lines[node.lineno - 1 : node.end_lineno])
                if self._is_internal(node):
                    edits.append(_Edit(node.lineno, node.end_lineno, []))
                elif node.lineno == node.end_lineno and line.strip() in seen_imports:
                    edits.append(_Edit(node.lineno, node.end_lineno, []))
                else:
                    seen_imports.add(line.strip())
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in body:
                self._is_internal(node, nested=True)  # raises for a nested import of a reference module

        marker_lines = {
            n for n, line in enumerate(self.lines, 1) if BEGIN_SOLUTION.match(line) or END_SOLUTION.match(line)
        }
        for name, node in _definitions(self.tree):
            if name not in tasks:
                continue
            if name in found:
                raise UserError(
                    f"{name} is defined in both {_shown(found[name])} and {_shown(self.path)}; "
                    "a task must name exactly one function"
                )
            found[name] = self.path
            markers = sorted(n for n in marker_lines if node.lineno <= n <= node.end_lineno)
            marker_lines -= set(markers)
            if solution:
                edits.extend(_Edit(n, n, []) for n in markers)
            elif markers:
                partial.add(name)
                edits.extend(self._partial_edits(tasks[name], node, markers))
            else:
                edits.append(self._blank_edit(tasks[name], node))
        if marker_lines:
            line = min(marker_lines)
            raise UserError(
                f"{_shown(self.path)}, line {line}: a # BEGIN/END SOLUTION marker outside every task "
                "function; markers may only sit inside a function the manifest lists in [[tasks]]"
            )

        lines = list(self.lines)
        for edit in sorted(edits, key=lambda e: e.start, reverse=True):
            lines[edit.start - 1 : edit.end] = edit.lines
        return "".join(lines)

    def _is_internal(self, node: ast.Import | ast.ImportFrom, nested: bool = False) -> bool:
        """True for an import of another reference module; raises where the handout cannot do without it."""
        where = f"{_shown(self.path)}, line {node.lineno}"
        if isinstance(node, ast.Import):
            if not any(alias.name == "reference" or alias.name.startswith("reference.") for alias in node.names):
                return False
            raise UserError(
                f"{where}: `import reference...` cannot work in a self-contained handout; "
                "import the names you need with `from .module import name`"
            )
        module = node.module or ""
        if node.level == 0 and module != "reference" and not module.startswith("reference."):
            return False
        if nested:
            raise UserError(
                f"{where}: an import of another reference module inside a function or class; "
                "move it to the top of the module so the handout can drop it"
            )
        name = module.split(".")[-1] if module not in ("", "reference") else ""
        if not name:
            raise UserError(
                f"{where}: `from . import {', '.join(a.name for a in node.names)}` needs a module alias the "
                "handout does not make yet; import the names themselves (`from .module import name`)"
            )
        if name not in self.earlier:
            hint = " (it comes later in sources: put it first)" if name in self.later else ""
            raise UserError(
                f"{where}: imports from reference module {name!r}, which the manifest's sources do not "
                f"include before {self.path.stem!r}{hint}"
            )
        renamed = [alias for alias in node.names if alias.asname and alias.asname != alias.name]
        if renamed or any(alias.name == "*" for alias in node.names):
            raise UserError(
                f"{where}: `as` renames and `*` imports between reference modules are not supported "
                "in a handout; import the names as they are"
            )
        return True

    def _body_start(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, str]:
        """(first line after the docstring, indentation of the body)."""
        first = node.body[0]
        line = self.lines[first.lineno - 1]
        if line[: first.col_offset].strip():
            raise UserError(
                f"{_shown(self.path)}, line {first.lineno}: put the body of {node.name} on its own lines "
                "so the handout can blank it"
            )
        indent = line[: first.col_offset]
        has_docstring = (
            isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
        )
        return (first.end_lineno + 1 if has_docstring else first.lineno), indent

    def _blank_edit(self, task: Task, node: ast.FunctionDef | ast.AsyncFunctionDef) -> _Edit:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise UserError(
                f"{_shown(self.path)}: task {task.id} names {task.function!r}, which is a class; "
                "tasks name functions or methods (Class.method)"
            )
        start, indent = self._body_start(node)
        return _Edit(start, _block_end(self.lines, node), todo_lines(task, indent))

    def _partial_edits(self, task: Task, node: ast.AST, markers: list[int]) -> list[_Edit]:
        edits = []
        for begin, end in zip(markers[::2], markers[1::2] + [None]):
            if (
                not BEGIN_SOLUTION.match(self.lines[begin - 1])
                or end is None
                or not END_SOLUTION.match(self.lines[end - 1])
            ):
                raise UserError(
                    f"{_shown(self.path)}, line {begin}: unbalanced # BEGIN SOLUTION / # END SOLUTION in "
                    f"{task.function}; each BEGIN needs an END after it, without nesting"
                )
            line = self.lines[begin - 1]
            edits.append(_Edit(begin, end, todo_lines(task, line[: len(line) - len(line.lstrip())])))
        return edits


def _definitions(tree: ast.Module):
    """(name, node) of each top-level function and class, and ("Class.method", node) of each method."""
    for node in tree.body:
        if isinstance(node, _DEFINITION):
            yield node.name, node
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{member.name}", member


def _block_end(lines: list[str], node: ast.AST) -> int:
    """The last line of ``node``, with the comment lines indented under it that follow its last statement."""
    end, index = node.end_lineno, node.end_lineno
    while index < len(lines):
        line = lines[index]
        if line.strip() and not (line.lstrip().startswith("#") and len(line) - len(line.lstrip()) > node.col_offset):
            break
        index += 1
        if line.strip():
            end = index
    return end


def _header(manifest: Manifest, docstrings: list[str]) -> str:
    width = max(len(task.function) for task in manifest.tasks)
    rows = [
        f"    {task.id:<5} {task.function:<{width}}  {_points(task.points):>9}  {task.title}".rstrip()
        for task in manifest.tasks
    ]
    text = "\n".join(
        [
            manifest.title if manifest.title.endswith((".", "!", "?")) else manifest.title + ".",
            "",
            "Implement the functions listed below. Until you do, each one raises",
            "NotImplementedError: replace the lines marked TODO with your code, and keep",
            "the function's name, signature and docstring.",
            "",
            "    task  function" + " " * (width - 8) + "     points  title",
            *rows,
            f"    total {_points(manifest.max_score)}",
            *("\n" + docstring for docstring in docstrings),
        ]
    )
    return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\n"""\n'


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def _collapse_blank_runs(text: str) -> str:
    """At most two blank lines in a row (removed imports leave gaps), never touching string contents."""
    protected = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.start[0] != token.end[0]:
            protected.update(range(token.start[0] + 1, token.end[0] + 1))
    kept, blanks = [], 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.strip() or number in protected:
            blanks = 0
        else:
            blanks += 1
            if blanks > 2:
                continue
        kept.append(line)
    return "".join(kept).rstrip("\n") + "\n"


def _verify_blanked(text: str, manifest: Manifest, partial: set[str]) -> None:
    """Every task function of the student handout is its docstring and the raise: no solution left."""
    definitions = dict(_definitions(ast.parse(text)))
    for task in manifest.tasks:
        node = definitions.get(task.function)
        body = [] if node is None else list(node.body)
        if body and _is_docstring(body[0]):
            body = body[1:]
        if task.function in partial:
            blanked = node is not None and any(_raises_not_implemented(n) for n in ast.walk(node))
        else:
            blanked = len(body) == 1 and _raises_not_implemented(body[0])
        if not blanked:
            raise RuntimeError(
                f"internal error: {task.function} (task {task.id}) is not blanked in the student handout"
            )


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _raises_not_implemented(node: ast.AST) -> bool:
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


# ----- the notebook ------------------------------------------------------------------


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
    body = tree.body[1:] if tree.body and _is_docstring(tree.body[0]) else tree.body
    cursor = tree.body[0].end_lineno + 1 if body is not tree.body else 1
    blocks: list[CodeBlock] = []

    def gap(start: int, end: int, preamble: bool) -> None:
        chunk = "".join(lines[start - 1 : end - 1]).strip("\n")
        has_code = any(line.strip() and not line.lstrip().startswith("#") for line in chunk.splitlines())
        if chunk.strip() and (preamble or has_code):
            blocks.append(CodeBlock(None, chunk))

    for node in body:
        if not isinstance(node, _DEFINITION):
            continue
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        while start - 1 >= cursor and lines[start - 2].lstrip().startswith("#"):
            start -= 1
        gap(cursor, start, preamble=not blocks)
        end = _block_end(lines, node)
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
            f"{_shown(manifest.folder / 'manifest.toml')}: narrative = {manifest.narrative!r}, "
            f"but {_shown(path)} does not exist"
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
                raise UserError(f"{_shown(path)}, line {number}: a second block for {name}; give each function one")
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
    return _notebook(manifest, build_module(manifest, solution, source_paths=source_paths))


def _notebook(manifest: Manifest, module: str):
    import nbformat
    from nbformat import v4

    blocks = split_module(module)
    narrative = read_narrative(manifest)
    names = {block.name for block in blocks if block.name}
    unknown = sorted(set(narrative.sections) - names)
    if unknown:
        raise UserError(
            f"{_shown(manifest.folder / manifest.narrative)}: blocks for {', '.join(unknown)}, which the "
            f"handout does not define (it defines: {', '.join(sorted(names))})"
        )
    context = {
        "assignment": manifest.id,
        "title": manifest.title,
        "tasks": [
            {"id": t.id, "function": t.function, "points": _points(t.points), "title": t.title} for t in manifest.tasks
        ],
        "total": _points(manifest.max_score),
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


# ----- writing dist/ -----------------------------------------------------------------


def build(manifest: Manifest, dist_dir: Path, *, source_paths: Sequence[Path] | None = None) -> dict[str, Path]:
    """Write the student and solution handouts under ``dist_dir/<hw>/``; returns the paths written.

    Keys: "student_module", "student_notebook", "solution_module", "solution_notebook".
    Each file is replaced atomically; nothing else is written to ``student/``.
    """
    import nbformat

    written = {}
    for variant, solution in (("student", False), ("solution", True)):
        folder = Path(dist_dir) / manifest.id / variant
        folder.mkdir(parents=True, exist_ok=True)
        module = build_module(manifest, solution, source_paths=source_paths)
        notebook = nbformat.writes(_notebook(manifest, module)) + "\n"
        written[f"{variant}_module"] = write_atomic(folder / f"{manifest.id}.py", module)
        written[f"{variant}_notebook"] = write_atomic(folder / f"{manifest.id}.ipynb", notebook)
    return written


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
