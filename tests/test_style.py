"""The code's form is checked like its behaviour: ruff's formatter and linter, as pyproject.toml configures them."""

import subprocess
import sys

import pytest

from grader.paths import PROJECT_ROOT


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_finds_nothing(command):
    done = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert "No module named ruff" not in done.stderr, "ruff is a dev dependency: pip install -e '.[dev]'"
    assert done.returncode == 0, done.stdout + done.stderr
