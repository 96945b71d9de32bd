"""Compiled templates are kept between runs, and a cache that cannot be used never stops a report.

Each case renders in a fresh Python: the cache is read or written only when a template is first loaded
in a process. Where the cache lives follows the XDG base directory specification: "$XDG_CACHE_HOME
defines the base directory relative to which user-specific non-essential data files should be stored."
"""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parents[3]
RENDER = (
    "from grader.outputs.report import html_report\n"
    "from grader.outputs.results import GradingResult\n"
    "print(html_report(GradingResult.of([], assignment='hw1_backprop', submission='s.py')))\n"
)


def render(cache_home: str) -> str:
    """The report of an empty result, rendered in a new process with XDG_CACHE_HOME = ``cache_home``."""
    env = {**os.environ, "XDG_CACHE_HOME": cache_home, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", RENDER], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_template_is_compiled_once_into_the_users_cache_and_read_back(tmp_path):
    first = render(str(tmp_path))
    folder = tmp_path / "nn-grader" / "templates" / "escaped"
    entries = sorted(folder.iterdir())
    assert entries, "the compiled template was not kept"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"  # nobody else's code may plant compiled code here
    stamps = [entry.stat().st_mtime_ns for entry in entries]
    assert render(str(tmp_path)) == first
    assert [entry.stat().st_mtime_ns for entry in sorted(folder.iterdir())] == stamps  # read, not written again


def test_a_damaged_cache_entry_is_compiled_again_and_the_report_unchanged(tmp_path):
    first = render(str(tmp_path))
    entries = {entry: entry.read_bytes() for entry in (tmp_path / "nn-grader" / "templates" / "escaped").iterdir()}
    # An entry is Jinja's magic, the template's checksum (pickled), then the compiled code (marshalled).
    magic = len(jinja2.bccache.bc_magic)
    header = magic + len(pickle.dumps("0" * 40, 2))
    for damage in (
        lambda valid: b"not compiled code",
        lambda valid: valid[:magic] + b"garbage",
        lambda valid: valid[:header],
        lambda valid: valid[:header] + b"garbage",
        lambda valid: valid[: len(valid) // 2],
    ):
        for entry, valid in entries.items():
            entry.write_bytes(damage(valid))
        assert render(str(tmp_path)) == first
        assert all(entry.read_bytes() == valid for entry, valid in entries.items())  # written again, whole


def test_html_and_code_templates_never_share_compiled_code(tmp_path):
    """Compiled code fixes whether values are escaped: an entry made without escaping must never serve a page."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    both = (
        "from grader.files import render\n"
        "print(render('report_style.css.j2'), render('report_style.css.j2', autoescape=True) == "
        "render('report_style.css.j2'))\n"
    )
    done = subprocess.run([sys.executable, "-c", both], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    folders = tmp_path / "nn-grader" / "templates"
    assert sorted(path.name for path in folders.iterdir()) == ["escaped", "plain"]
    assert all(any(folder.iterdir()) for folder in folders.iterdir())


def test_a_cache_folder_others_may_write_to_is_not_used(tmp_path):
    folder = tmp_path / "nn-grader" / "templates" / "escaped"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    first = render(str(tmp_path))
    assert not any(folder.iterdir())  # nothing read from it, nothing written to it
    folder.chmod(0o700)
    assert render(str(tmp_path)) == first and any(folder.iterdir())


def test_a_cache_folder_that_cannot_be_made_only_costs_time(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way of the cache folder")
    assert render(str(blocker)) == render(str(tmp_path / "usable"))


def test_a_relative_cache_home_is_ignored_as_the_specification_says(tmp_path):
    # "If an implementation encounters a relative path in any of these variables it should consider the
    # path invalid and ignore it." (XDG base directory specification)
    env = {**os.environ, "XDG_CACHE_HOME": "relative-cache", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", RENDER], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "relative-cache").exists()
    assert any((tmp_path / ".cache" / "nn-grader" / "templates" / "escaped").iterdir())
