"""Writing files so that no reader ever sees half of one, and rendering the project's templates."""

from __future__ import annotations

import functools
import os
import stat
import tempfile
from pathlib import Path

from grader.errors import UserError
from grader.paths import TEMPLATES_DIR


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8, or bytes) to ``path`` through a temporary file in the same folder and a rename.

    A reader sees the old file or the new one, never a part; a crash leaves no
    temporary file behind. The result is readable by everyone (the sandbox's
    user reads handouts; mkstemp would make it 0600).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(
            "wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}; choose a folder you can write to") from None
    try:
        with handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def render(template: str, *, autoescape: bool = False, **context) -> str:
    """``templates/<template>`` rendered with ``context``; an undefined name is an error, not blank text.

    ``autoescape=True`` is for HTML pages that show student-controlled text (messages,
    file names, values): every value becomes text, never markup. Code templates keep it off.
    """
    return _environment(autoescape).get_template(template).render(context)


@functools.cache
def _environment(autoescape: bool):
    import jinja2  # only builds and reports render templates: grading never pays for the import

    if not TEMPLATES_DIR.is_dir():
        raise UserError(
            f"the grader's templates are missing ({TEMPLATES_DIR} does not exist): a plain `pip install` copies "
            "only the Python packages; install the grader from a clone with `pip install -e CLONE`"
        )

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=autoescape,
        bytecode_cache=_bytecode_cache(jinja2, autoescape),
    )


def _bytecode_cache(jinja2, autoescape: bool):
    """Templates compiled once per user, not once per grader: compiling the report's template costs a single
    grading about 20 ms, loading it back under 1 ms.

    Jinja's file cache, in the user's cache folder (the XDG base directory specification: "$XDG_CACHE_HOME
    defines the base directory relative to which user-specific non-essential data files should be stored. If
    $XDG_CACHE_HOME is either not set or empty, a default equal to $HOME/.cache should be used"; a relative
    path there "should be considered invalid"). Compiled code fixes whether values are escaped, so each
    setting has a folder of its own; an entry is named by its template and used only while the template's
    text is unchanged. The grader runs what it loads from there: a folder that is not this user's alone is
    not used. A cache that cannot be made, read or written makes rendering slower, never fail.
    """

    class Cache(jinja2.FileSystemBytecodeCache):
        def get_cache_key(self, name, filename=None):
            return super().get_cache_key(name)  # not the path: a moved checkout reuses, never adds, entries

        def load_bytecode(self, bucket):
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged or half-written entry (Jinja unpickles it unguarded): compile again
                bucket.reset()

        def dump_bytecode(self, bucket):
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        base = os.environ.get("XDG_CACHE_HOME", "")
        folder = (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "nn-grader" / "templates"
        folder = folder / ("escaped" if autoescape else "plain")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except (OSError, RuntimeError):  # RuntimeError: no home folder is known
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None
    return Cache(str(folder))
