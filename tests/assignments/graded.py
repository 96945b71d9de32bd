"""What the homeworks' own tests share: a submission written under the name the student gives it, the
solution with one edit, and a result read by function and by failing test."""

from pathlib import Path

from grader.authoring.module import build_module
from grader.homework.manifest import Manifest


def write(manifest: Manifest, folder: Path, text: str) -> Path:
    """The submission <hw>.py in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{manifest.id}.py"
    path.write_text(text, encoding="utf-8")
    return path


def with_edit(manifest: Manifest, old: str, new: str) -> str:
    """The solution module with its one ``old`` replaced by ``new``."""
    text = build_module(manifest, solution=True)
    assert text.count(old) == 1, old
    return text.replace(old, new)


def scores(result) -> dict[str, float]:
    return {name: score for name, (score, _) in result.function_scores().items()}


def failures(result) -> dict[str, str]:
    return {test.name: test.message for test in result.tests if not test.passed}
