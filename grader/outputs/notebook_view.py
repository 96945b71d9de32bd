"""A notebook submission as a TA reads it: the student's own notebook, rendered to HTML by nbconvert.

The TA's report links each function to the cell that defines it (``#cell-id=cell-N``, N counting
every cell from 1 as the grader's labels do). The page shows the code and the text, never the
outputs the student saved (they were not graded, and an output can hold anything); what the
student wrote in Markdown is sanitised by nbconvert, so the page runs no script of theirs.
"""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOK_PAGE = "notebook.html"


def render(path: Path) -> str | None:
    """The notebook at ``path`` as one HTML page, or None if it cannot be read as a notebook."""
    try:
        import nbformat
        from nbconvert import HTMLExporter

        notebook = nbformat.from_dict(json.loads(Path(path).read_text(encoding="utf-8-sig")))
        if notebook.get("nbformat") != 4 or not isinstance(notebook.get("cells"), list):
            return None
        for number, cell in enumerate(notebook.cells, start=1):
            cell["id"] = f"cell-{number}"
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        body, _ = HTMLExporter(template_name="lab", sanitize_html=True).from_notebook_node(notebook)
        return body
    except Exception:  # a notebook nbconvert cannot render: the report simply has no link to it
        return None


def cell_anchor(label: str) -> str:
    """``"cell 7"`` -> the anchor of that cell in the rendered page."""
    return f"{NOTEBOOK_PAGE}#cell-id=cell-{label.removeprefix('cell ').strip()}"
