"""Where the project's parts live on disk."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = PROJECT_ROOT / "reference"
ASSIGNMENTS_DIR = PROJECT_ROOT / "assignments"  # the project's own homeworks; a course's: grader.homework.course
TEMPLATES_DIR = PROJECT_ROOT / "templates"
DEFAULT_DIST_DIR = PROJECT_ROOT / "dist"
