"""The autograder: builds handouts from the reference, grades submissions in a sandbox, reports."""

__version__ = "0.1.0"
"""The project's version (pyproject.toml reads it from here)."""
