"""The book's pages as its table of contents lists them, and their maintenance (``python -m pemn.report``)."""
from __future__ import annotations

from ..paths import REPO

TOC = REPO / "_toc.yml"


def toc_pages(toc=TOC) -> list[tuple[str, str | None]]:
    """``(docname, number)`` for the root and every chapter of the book, in the table of contents' order; a chapter
    of a numbered part gets its number as the sidebar shows it (``"5"``), the root and unnumbered parts None. Globs
    (the run notebooks) are left out. A chapter added to ``_toc.yml`` is listed here with no other change."""
    import yaml
    t = yaml.safe_load(open(toc))
    pages, n = [(t["root"], None)], 0
    for part in t.get("parts", []):
        for ch in part.get("chapters", []):
            if "file" not in ch:
                continue
            if part.get("numbered"):
                n += 1
            pages.append((ch["file"], str(n) if part.get("numbered") else None))
    return pages


def book_notebooks() -> tuple[str, ...]:
    """The analysis notebooks of the book (``book/<name>.ipynb`` of every page that is one), by name."""
    return tuple(doc.split("/", 1)[1] for doc, _ in toc_pages()
                 if doc.startswith("book/") and (REPO / f"{doc}.ipynb").is_file())


BOOK_NOTEBOOKS = book_notebooks()


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
