"""Sphinx hooks of the book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

- Executed run notebooks (``runs/<profile>/<run_id>/train.ipynb``) are shown
  as papermill left them, never re-executed (``execute.exclude_patterns``).
  This extension only gives their navigation entries a useful title,
  ``<profile> / <run_id>``, instead of the notebook's own heading, which is
  the same for every run, and drops the notebook's own parameters cell
  (the defaults papermill overrode), so that a run page opens with the
  parameters it really ran with; nothing else of the page is changed.
- A run that is still executing (no ``metrics.json`` nor ``error.json`` yet)
  is left out of the build, so the book never renders a notebook papermill
  is still writing. ``pemn.report.notebook_in_book`` is the rule; it is
  applied once, when the build starts, and handed to the notebook kernels
  through the environment, so the run index links exactly the notebooks
  built.
"""
from __future__ import annotations

import re

from docutils import nodes

RUN_DOC = re.compile(r"runs/([^/]+)/([^/]+)/train")


def _exclude_running(app, config):
    """Decide once, at the start of the build, which run notebooks the book shows (and the run index links)."""
    import json
    import os

    from pemn.report import BOOK_NOTEBOOKS_ENV, book_notebooks
    keep, leave = book_notebooks(srcdir=app.srcdir)
    os.environ[BOOK_NOTEBOOKS_ENV] = json.dumps(keep)  # inherited by the kernels that execute the chapters
    if leave:
        config.exclude_patterns = list(config.exclude_patterns) + leave


def _run_titles(app, doctree):
    m = RUN_DOC.fullmatch(app.env.docname)
    if not m:
        return
    text = f"{m[1]} / {m[2]}"
    title = nodes.title("", text)
    app.env.titles[app.env.docname] = title  # page <title>, previous/next links
    app.env.longtitles[app.env.docname] = title.deepcopy()
    toc = app.env.tocs.get(app.env.docname)  # navigation entries are built from the page's own table of contents
    if toc is not None:
        for ref in toc.findall(nodes.reference):
            ref.children = [nodes.Text(text)]
            break


def _drop_default_parameters(app, doctree):
    """Remove the defaults cell (tag ``parameters``) of an executed run notebook; papermill's injected cell stays."""
    if not RUN_DOC.fullmatch(app.env.docname):
        return
    for cell in list(doctree.findall(nodes.container)):
        if "tag_parameters" in cell.get("classes", []):
            cell.parent.remove(cell)


def setup(app):
    app.connect("config-inited", _exclude_running)
    app.connect("doctree-read", _run_titles, priority=900)
    app.connect("doctree-read", _drop_default_parameters, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
