"""Maintenance: execute the book's analysis notebooks in place (``python -m pemn.report``)."""
from __future__ import annotations

from ..paths import REPO


BOOK_NOTEBOOKS = ("index", "01_introduction", "02_method", "03_capacity", "04_compression", "05_claims",
                  "06_reproducibility", "07_fair_compression", "appendix")


def refresh_notebooks(names=BOOK_NOTEBOOKS, timeout: int = 900) -> None:
    """Execute the book's analysis notebooks in place (``python -m pemn.report``).

    The book build executes them anyway; the committed outputs are what nbval
    compares (``# NBVAL_CHECK_OUTPUT`` cells) and what a reader sees on a
    forge. Rerun this after a change to the library or to a profile.
    """
    import nbformat
    from nbclient import NotebookClient
    for name in names:
        path = REPO / "book" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"executed {path.relative_to(REPO)}")
