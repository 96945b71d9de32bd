"""What a student submitted, as Python source in named chunks.

A submission is a ``.py`` module, a ``.ipynb`` notebook, or a folder holding
exactly one of them. :func:`read_submission` turns it into a
:class:`Submission`: a list of :class:`Chunk` (label + source) the sandbox
runs in order as one module namespace, so a failure is reported for the file
or the cell it happened in.

Labels: a module is one chunk labelled with its file name
(``"hw1_backprop.py"``); a notebook gives one chunk per non-empty code cell,
labelled ``"cell N"``, where N counts *every* cell (Markdown, code and raw)
from 1 at the top, the way a student counts them scrolling down the notebook.
Markdown cells and the handout's visible-checks cell (its first line is
:data:`CHECK_CELL_MARKER`) give no chunk, but keep their numbers.

IPython syntax cannot run without a Jupyter kernel, so it is neutralised:
a line magic (``%matplotlib inline``), a shell line (``!pip install ...``),
an assignment from either (``files = !ls``), a help line (``np.mean?``) and a
statement calling ``get_ipython()`` become ``pass  # neutralised: <line>`` at
the same indentation, so line numbers stay those the student sees. A cell
starting with a cell magic (``%%bash``) is dropped whole, except ``%%time``
and ``%%capture``, which only wrap ordinary code. Each change is a warning.

Only ordinary files and folders are read, never through a link: a link, a
named pipe or a device in a submission is refused with a message naming the
entry (never what it points to). See :func:`submitted_files`.

Notebooks are read with :mod:`json`, not nbformat (importing nbformat costs
over a second per submission).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UserError
from grader.grading import archive

CHECK_CELL_MARKER = "# grader: visible checks (this cell is skipped when grading)"

SUBMISSION_SUFFIXES = (".py", ".ipynb")
IGNORED_FOLDERS = frozenset({"__pycache__", ".ipynb_checkpoints", "__MACOSX"})
# Cell magics that only wrap ordinary Python: the code below them still runs.
TRANSPARENT_CELL_MAGICS = frozenset({"time", "capture"})

_MAGIC_START = re.compile(r"\s*[%!?]")
_MAGIC_ASSIGNMENT = re.compile(r"\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[%!]")
_MAGIC_START_ANY_LINE = re.compile("^" + _MAGIC_START.pattern, re.MULTILINE)
_MAGIC_ASSIGNED = re.compile(r"=\s*[%!]")  # where an assignment's value could be a magic (a cheap _MAGIC_ASSIGNMENT)


@dataclass(frozen=True)
class Chunk:
    label: str
    source: str


@dataclass
class Submission:
    path: Path
    kind: str  # "module" | "notebook"
    chunks: list[Chunk]
    sha256: str  # of the submitted file's bytes
    warnings: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The chunks joined into one module source (see :meth:`locate` to map a line back)."""
        return "".join(_with_newline(chunk.source) for chunk in self.chunks)

    def locate(self, line: int) -> tuple[str, int]:
        """(chunk label, line within the chunk) of line ``line`` (1-based) of :attr:`source`."""
        offset = 0
        for chunk in self.chunks:
            count = _with_newline(chunk.source).count("\n")
            if line <= offset + count:
                return chunk.label, line - offset
            offset += count
        raise ValueError(f"line {line} is past the end of the submission ({offset} lines)")


def read_submission(path: Path | str, assignment: str | None = None) -> Submission:
    """Read a ``.py``, a ``.ipynb``, a folder holding one, or an archive of such a folder (grader/grading/archive.py);
    ``assignment`` breaks ties in a folder.

    Nothing is read through a link: a submission that is, or holds, anything
    but ordinary files and folders is refused (see :func:`submitted_files`).
    """
    path = Path(path)
    kind = file_kind(path)
    if kind is None:
        raise UserError(f"{path} does not exist: give the .py or .ipynb file to grade, or a folder holding one")
    if kind not in ("file", "folder"):
        raise UserError(refusal(path.name, kind))
    if kind == "file" and archive.is_archive(path):
        return _read_archive(path, assignment)
    if kind == "folder":
        path = _choose_file(path, assignment)
    return _read_file(path, path)


def _read_archive(path: Path, assignment: str | None) -> Submission:
    """The archive unpacked into a private folder, which is graded as the folder it is; the file graded is
    named inside the archive (``alice.zip/hw1_backprop.py``)."""
    data = read_regular_file(path)
    with tempfile.TemporaryDirectory(prefix="nn-grader-archive-") as folder:
        archive.unpack(data, path.name, Path(folder))
        try:
            inner = _choose_file(Path(folder), assignment)
        except UserError as error:
            raise UserError(str(error).replace(folder, path.name)) from None
        submission = _read_file(inner, path / inner.relative_to(folder))
    submission.sha256 = hashlib.sha256(data).hexdigest()
    return submission


def _read_file(path: Path, shown: Path) -> Submission:
    """The submission in the file ``path``, known by the name ``shown``."""
    if path.suffix.lower() not in SUBMISSION_SUFFIXES:
        raise UserError(f"{path.name} is neither a .py module nor a .ipynb notebook: submit one of those")
    data = read_regular_file(path)
    warnings: list[str] = []
    if path.suffix.lower() == ".py":
        text = _decode(data, path.name, warnings)
        chunks = [Chunk(path.name, neutralise_ipython(text, path.name, warnings))]
        kind = "module"
    else:
        chunks = _notebook_chunks(data, path.name, warnings)
        warnings.extend(defined_twice(chunks))
        kind = "notebook"
    return Submission(path=shown, kind=kind, chunks=chunks, sha256=hashlib.sha256(data).hexdigest(), warnings=warnings)


# ----- reading without following links -------------------------------------------------------------------
# A submission is read by the grader (as root on Gradescope and often in a TA's batch), outside the
# sandbox: a link would make it read whatever the link names (the reference solution, a classmate's
# file, a root-only secret echoed back in an error message). So only ordinary files and folders are
# read, each opened with O_NOFOLLOW and checked again once open.

_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def file_kind(path: Path) -> str | None:
    """What is at ``path``, never following a link.

    "file", "folder", a phrase for anything else ("a symbolic link"), or None if nothing is there.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror})") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return _KINDS.get(stat.S_IFMT(mode), "not an ordinary file")


def refusal(shown: str, kind: str) -> str:
    """The message for a submitted entry that is not an ordinary file (never naming what a link points to)."""
    return (
        f"{shown} is {kind}, not an ordinary file: a submission may hold only ordinary files and folders; "
        "submit the file itself"
    )


def read_regular_file(path: Path, shown: str | None = None) -> bytes:
    """The bytes of ``path`` if it is an ordinary file, refusing links, pipes and devices (:class:`UserError`)."""
    shown = shown or path.name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as error:
        kind = file_kind(path)
        if kind not in (None, "file"):
            raise UserError(refusal(shown, kind)) from None
        raise UserError(f"{shown} cannot be read ({error.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for something else since it was listed
            raise UserError(refusal(shown, _KINDS.get(stat.S_IFMT(mode), "not an ordinary file")))
        return handle.read()


def submitted_files(folder: Path) -> list[Path]:
    """The ordinary files in ``folder`` and its sub-folders, sorted, skipping hidden and tool folders.

    Raises :class:`UserError` naming the first entry (relative to ``folder``)
    that is neither an ordinary file nor a folder; folders reached through a
    link are never entered.
    """
    files, pending = [], [Path(folder)]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name in IGNORED_FOLDERS:
                    continue
                path = Path(entry.path)
                kind = file_kind(path)
                if kind == "folder":
                    pending.append(path)
                elif kind == "file":
                    files.append(path)
                elif kind is not None:
                    raise UserError(refusal(path.relative_to(folder).as_posix(), kind))
    return sorted(files)


def _choose_file(folder: Path, assignment: str | None) -> Path:
    found, other = [], []
    for item in submitted_files(folder):
        is_checker = item.name.startswith("check_") and item.suffix == ".py"
        (found if item.suffix.lower() in SUBMISSION_SUFFIXES and not is_checker else other).append(item)
    if len(found) == 1:
        return found[0]
    wanted = f"{assignment}.py or {assignment}.ipynb" if assignment else "your homework's .py or .ipynb"
    if not found:
        listing = ", ".join(str(p.relative_to(folder)) for p in other[:10]) or "nothing"
        more = f" and {len(other) - 10} more" if len(other) > 10 else ""
        raise UserError(f"{folder} holds no .py or .ipynb file to grade (found: {listing}{more}); submit {wanted}")
    if assignment:
        named = [p for p in found if p.stem == assignment]
        if len(named) == 1:
            return named[0]
    listing = ", ".join(str(p.relative_to(folder)) for p in found[:10])
    if len(found) > 10:
        listing += f" and {len(found) - 10} more"
    raise UserError(
        f"{folder} holds several files that could be the submission ({listing}); "
        f"keep only one, {wanted}, and submit again"
    )


def _decode(data: bytes, name: str, warnings: list[str]) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8-sig", errors="replace")
        line = data[: error.start].count(b"\n") + 1
        warnings.append(
            f"{name}: not UTF-8 text (first bad byte on line {line}); unreadable characters were replaced by \ufffd"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _notebook_chunks(data: bytes, name: str, warnings: list[str]) -> list[Chunk]:
    advice = "re-download it or submit the .py"
    if not data.strip():
        raise UserError(f"{name} is not a Jupyter notebook (the file is empty); {advice}")
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UserError(f"{name} is not a Jupyter notebook (not UTF-8 text); {advice}") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{name} is not a Jupyter notebook (not valid JSON at line {error.lineno}); {advice}") from None
    if isinstance(notebook, dict) and "worksheets" in notebook:
        raise UserError(
            f"{name} is an old (nbformat 3) notebook: open it in a current Jupyter, save it and submit again, "
            "or submit the .py"
        )
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise UserError(f"{name} is not a Jupyter notebook (valid JSON, but it has no list of cells); {advice}")
    if notebook.get("nbformat", 4) != 4:
        warnings.append(f"{name}: nbformat {notebook.get('nbformat')!r} notebook, read as nbformat 4")

    chunks = []
    for number, cell in enumerate(notebook["cells"], start=1):
        label = f"cell {number}"
        if not isinstance(cell, dict):
            warnings.append(f"{label}: not a notebook cell; skipped")
            continue
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(piece, str) for piece in source):
            source = "".join(source)
        if not isinstance(source, str):
            warnings.append(f"{label}: its source is not text; skipped")
            continue
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        if not source.strip() or source.lstrip().startswith(CHECK_CELL_MARKER):
            continue
        source = _cell_magic(source, label, warnings)
        if source is not None:
            chunks.append(Chunk(label, neutralise_ipython(source, label, warnings)))
    return chunks


def defined_twice(chunks: list[Chunk]) -> list[str]:
    """A warning for each function or class defined at the top level of more than one cell."""
    places: dict[str, list[str]] = {}
    for chunk in chunks:
        try:
            tree = ast.parse(chunk.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                places.setdefault(node.name, []).append(chunk.label)
    return [
        f"{name} is defined in {', '.join(labels[:-1])} and again in {labels[-1]}: "
        f"the last definition ({labels[-1]}) is the one graded"
        for name, labels in places.items()
        if len(set(labels)) > 1
    ]


def _cell_magic(source: str, label: str, warnings: list[str]) -> str | None:
    """The cell without its cell magic if the code below still runs; None to drop the cell."""
    lines = source.split("\n")
    first = next(index for index, line in enumerate(lines) if line.strip())
    if not lines[first].lstrip().startswith("%%"):
        return source
    magic = lines[first].strip()
    name = magic[2:].split(maxsplit=1)[0] if magic[2:].strip() else ""
    if name in TRANSPARENT_CELL_MAGICS:
        lines[first] = f"pass  # neutralised: {magic}"
        warnings.append(
            f"{label}, line {first + 1}: the cell magic {_short(magic)} is IPython syntax; "
            "it was not run when grading (the code below it was)"
        )
        return "\n".join(lines)
    warnings.append(
        f"{label}: starts with the cell magic {_short(magic)}, which needs Jupyter; "
        "the whole cell was not run when grading"
    )
    return None


def neutralise_ipython(source: str, label: str, warnings: list[str]) -> str:
    """``source`` with every IPython-only statement replaced by ``pass`` (same line count)."""
    if not _may_hold_ipython(source):
        return source
    lines = source.split("\n")
    for start, end, code in _logical_lines(lines):
        first = lines[start]
        is_ipython = code is None or code.strip().endswith("?") or re.search(r"\bget_ipython\s*\(", code) is not None
        if not is_ipython:
            continue
        indent = first[: len(first) - len(first.lstrip())]
        for index in range(start, end + 1):
            lines[index] = f"{indent}pass  # neutralised: {lines[index].strip()}"
        warnings.append(
            f"{label}, line {start + 1}: {_short(first.strip())} is IPython syntax; it was not run when grading"
        )
    return "\n".join(lines)


def _may_hold_ipython(source: str) -> bool:
    """Whether any line could be IPython syntax, found without the statement-by-statement reading below (1 ms
    for hw1's handout, 14 ms for hw4's): most files have none, and every kind of IPython line that reading
    looks for holds one of these."""
    return (
        "?" in source
        or "get_ipython" in source
        or _MAGIC_ASSIGNED.search(source) is not None
        or _MAGIC_START_ANY_LINE.search(source) is not None
    )


def _logical_lines(lines: list[str]):
    """Yield (first, last, code) for each logical line; code is None for an IPython magic or shell line.

    ``code`` is the statement's text outside strings and comments. Lines inside
    brackets, strings or after a backslash belong to the statement they continue,
    so a ``%`` continuing an expression (``a\\n % b``) is never taken for a magic.
    """
    index, count = 0, len(lines)
    while index < count:
        start = index
        if _MAGIC_START.match(lines[index]) or _MAGIC_ASSIGNMENT.match(lines[index]):
            yield start, index, None
            index += 1
            continue
        depth, quote, code = 0, None, []
        while True:
            line, position, continued = lines[index], 0, False
            while position < len(line):
                char = line[position]
                if quote:
                    if char == "\\":
                        position += 2
                    elif line.startswith(quote, position):
                        position += len(quote)
                        quote = None
                    else:
                        position += 1
                    continue
                if char == "#":
                    break
                if char in "\"'":
                    quote = line[position : position + 3] if line[position : position + 3] in ('"""', "'''") else char
                    position += len(quote)
                    code.append('""')
                    continue
                if char in "([{":
                    depth += 1
                elif char in ")]}":
                    depth = max(depth - 1, 0)
                elif char == "\\" and not line[position + 1 :].strip():
                    continued = True
                code.append(char)
                position += 1
            if quote is not None and len(quote) == 1 and not line.endswith("\\"):
                quote = None  # an unclosed one-line string ends with its line (a syntax error Python reports)
            if (quote or depth or continued) and index + 1 < count:
                index += 1
                code.append("\n")
                continue
            break
        yield start, index, "".join(code)
        index += 1


def _short(text: str, limit: int = 60) -> str:
    return f"`{text}`" if len(text) <= limit else f"`{text[: limit - 1]}…`"


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
