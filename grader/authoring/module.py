"""Blanks the reference into a homework's handout module: one self-contained module, student or solution.

The handout is ONE module: the manifest's reference modules concatenated in
order, without the imports between them, under a header docstring that names
the homework and its tasks, with ``from __future__ import annotations``
hoisted to the top.

In the student handout every task function keeps its decorators, signature
and docstring; the rest of its body becomes::

    # TODO(task 1.3): implement backward_pass
    raise NotImplementedError("task 1.3: implement backward_pass")

A function whose body holds ``# BEGIN SOLUTION`` / ``# END SOLUTION`` comment
lines is blanked between them only (the TODO and the raise at the marker's
indentation); in a homework that does not list it as a task it is given whole.
The marker lines never reach any handout. Everything works on
the source text with ast line numbers, so comments and layout survive.
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
from grader.homework.manifest import Manifest, Task
from grader.outputs import formatting
from grader.paths import PROJECT_ROOT

BEGIN_SOLUTION = re.compile(r"\s*#\s*BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"\s*#\s*END SOLUTION\s*$")

DEFINITION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def checker_name(manifest: Manifest) -> str:
    """The visible-checks script shipped beside the student handout."""
    return f"check_{manifest.id}.py"


def handout_names(manifest: Manifest) -> tuple[str, ...]:
    """The public top-level functions and classes of the handout (what tests may reach as ``student.NAME``)."""
    names = []
    for path in manifest.source_paths:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue  # build_module reports it with a line number
        names += [
            node.name for node in tree.body if isinstance(node, DEFINITION_NODES) and not node.name.startswith("_")
        ]
    return tuple(dict.fromkeys(names))


def todo_lines(task: Task, indent: str) -> list[str]:
    """The two lines that stand for a blanked body."""
    return [
        f"{indent}# TODO(task {task.id}): implement {task.function}\n",
        f'{indent}raise NotImplementedError("task {task.id}: implement {task.function}")\n',
    ]


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
        where = ", ".join(shown(p) for p in paths)
        names = ", ".join(f"{task.function!r} (task {task.id})" for task in missing)
        raise UserError(
            f"{shown(manifest.folder / 'manifest.toml')}: the function(s) {names} are not defined "
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
            raise UserError(f"{shown(path)}, line {error.lineno}: not valid Python: {error.msg}") from None
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
                    f"{name} is defined in both {shown(found[name])} and {shown(self.path)}; "
                    "a task must name exactly one function"
                )
            found[name] = self.path
            # block_end: an END SOLUTION after the last statement is a comment the syntax tree leaves out
            markers = sorted(n for n in marker_lines if node.lineno <= n <= block_end(self.lines, node))
            marker_lines -= set(markers)
            if solution:
                edits.extend(_Edit(n, n, []) for n in markers)
            elif markers:
                partial.add(name)
                edits.extend(self._partial_edits(tasks[name], node, markers))
            else:
                edits.append(self._blank_edit(tasks[name], node))
        # Markers in a function this homework does not ask for: it is given whole (hw3 builds on the
        # engine whose local gradients hw2 asks for), so only the marker lines go.
        edits.extend(_Edit(n, n, []) for n in marker_lines)

        lines = list(self.lines)
        for edit in sorted(edits, key=lambda e: e.start, reverse=True):
            lines[edit.start - 1 : edit.end] = edit.lines
        return "".join(lines)

    def _is_internal(self, node: ast.Import | ast.ImportFrom, nested: bool = False) -> bool:
        """True for an import of another reference module; raises where the handout cannot do without it."""
        where = f"{shown(self.path)}, line {node.lineno}"
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
                f"{shown(self.path)}, line {first.lineno}: put the body of {node.name} on its own lines "
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
                f"{shown(self.path)}: task {task.id} names {task.function!r}, which is a class; "
                "tasks name functions or methods (Class.method)"
            )
        start, indent = self._body_start(node)
        return _Edit(start, block_end(self.lines, node), todo_lines(task, indent))

    def _partial_edits(self, task: Task, node: ast.AST, markers: list[int]) -> list[_Edit]:
        edits = []
        for begin, end in zip(markers[::2], markers[1::2] + [None]):
            if (
                not BEGIN_SOLUTION.match(self.lines[begin - 1])
                or end is None
                or not END_SOLUTION.match(self.lines[end - 1])
            ):
                raise UserError(
                    f"{shown(self.path)}, line {begin}: unbalanced # BEGIN SOLUTION / # END SOLUTION in "
                    f"{task.function}; each BEGIN needs an END after it, without nesting"
                )
            line = self.lines[begin - 1]
            edits.append(_Edit(begin, end, todo_lines(task, line[: len(line) - len(line.lstrip())])))
        return edits


def _definitions(tree: ast.Module):
    """(name, node) of each top-level function and class, and ("Class.method", node) of each method."""
    for node in tree.body:
        if isinstance(node, DEFINITION_NODES):
            yield node.name, node
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{member.name}", member


def block_end(lines: list[str], node: ast.AST) -> int:
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
        f"    {task.id:<5} {task.function:<{width}}  {points_text(task.points):>9}  {task.title}".rstrip()
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
            f"    total {points_text(manifest.max_score)}",
            *("\n" + docstring for docstring in docstrings),
        ]
    )
    return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\n"""\n'


def points_text(points: float) -> str:
    """ "1 point", "2.5 points"."""
    return f"{formatting.points(points)} point" + ("" if points == 1 else "s")


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
        if body and is_docstring(body[0]):
            body = body[1:]
        if task.function in partial:
            blanked = node is not None and any(_raises_not_implemented(n) for n in ast.walk(node))
        else:
            blanked = len(body) == 1 and _raises_not_implemented(body[0])
        if not blanked:
            raise RuntimeError(
                f"internal error: {task.function} (task {task.id}) is not blanked in the student handout"
            )


def is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _raises_not_implemented(node: ast.AST) -> bool:
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
