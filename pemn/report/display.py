"""Showing things in a notebook: Markdown, figures with captions, tables, notes when runs are missing, run links.

Every other module of the report calls these through the module (``display.md(...)``), so a test can
replace them to read what a chapter would say.
"""
from __future__ import annotations

import pandas as pd

from .frame import progress_counts
from .labels import signed  # noqa: F401  (the chapters' modules sign differences through display)


def setup_notebook() -> None:
    """Plot and table defaults for the book's notebooks (figures: :mod:`.style`)."""
    from . import style
    style.apply()
    pd.set_option("display.max_rows", 400)
    pd.set_option("display.max_colwidth", 200)
    pd.set_option("display.width", 200)


def md(text: str):
    from IPython.display import Markdown, display
    display(Markdown(text))


def show_fig(fig, text: str):
    """A figure as SVG at its drawn size, its text kept as text (a browser measures the labels), then its caption."""
    from IPython.display import SVG, display

    from . import style
    display(SVG(style.svg(fig)))
    md(f"*{text}*")


show_svg = show_fig  # every figure of the book is SVG


def note_no_runs(profile: str, what: str, missing: list[str] | None = None):
    msg = f"**No runs yet.** {what} has no completed run of profile `{profile}`, so there is nothing to draw."
    if missing:
        msg += f" Missing: {', '.join(missing)}."
    msg += f" Run them with `make reproduce PROFILE={profile}`."
    md(msg)


# Every chapter's label (``(ch-NAME)=`` above its title): references are Sphinx's own numbered references, so
# the number a reader sees is the one the table of contents gives the chapter, whatever the order of _toc.yml.
CHAPTERS = ("introduction", "method", "capacity", "compression", "fair", "claims", "reproducibility", "appendix",
            "budget", "scale")


def ch(name: str, capital: bool = False) -> str:
    """A reference to a chapter that renders as ``chapter N`` (N from the table of contents), linked."""
    if name not in CHAPTERS:
        raise ValueError(f"unknown chapter {name!r}; known: {', '.join(CHAPTERS)}")
    return f"{{numref}}`{'Chapter' if capital else 'chapter'} %s <ch-{name}>`"


def cell(x) -> str:
    """One table cell as text: no ``nan`` (empty), no negative zero, no pipe that would end the cell."""
    if x is None or (isinstance(x, float) and x != x):
        return ""
    try:
        if pd.isna(x):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(x, float):
        if x == 0:
            return "0"
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.6g}"
    text = str(x)
    if text.startswith("-") and text.lstrip("-").replace(".", "").replace("0", "") == "" and any(c == "0" for c in text):
        text = text[1:]  # "-0.0" written by an earlier rounding
    if text.startswith("−0") and text[1:].replace(".", "").replace("0", "") == "":
        text = text[1:]
    return text.replace("|", "\\|").replace("\n", " ")


def table_md(df: pd.DataFrame) -> str:
    """A Markdown table (MyST renders the links in it); the index becomes ordinary columns. Every cell goes through
    :func:`cell`, so no ``nan``, negative zero or stray pipe reaches the page."""
    head = [cell(c) for c in df.columns]
    rows = [[cell(x) for x in r] for r in df.itertuples(index=False, name=None)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def show_table(df: pd.DataFrame, text: str | None = None, sortable: bool = False):
    """A table as Markdown, so that run ids in it are links and no code-formatted names show backticks.

    ``sortable``: a long table (the run index, every file): the book's table script (``_static/pemn-tables.js``,
    the simple-datatables library) makes it sortable, filterable and paged, and its first column (run ids) never
    breaks."""
    md(table_block(df, sortable))
    if text:
        md(f"*{text}*")


def table_block(df: pd.DataFrame, sortable: bool = False) -> str:
    """:func:`show_table`'s Markdown, for a page that puts several tables in one block (a folded section)."""
    body = table_md(df.reset_index() if _named_index(df) else df)
    return f":::{{container}} pemn-datatable\n{body}\n:::" if sortable else body


def _named_index(df: pd.DataFrame) -> bool:
    return any(name is not None for name in df.index.names)


def run_link(run_id: str, notebook: str | None) -> str:
    """A run id as a link to its executed notebook (paths relative to ``book/``), plain text without one."""
    return f"[{run_id}](../{notebook})" if notebook else run_id


def run_links(run_ids, notebooks: dict) -> str:
    """Several run ids, each a link (``notebooks``: run id -> notebook path relative to the repository)."""
    return ", ".join(run_link(r, notebooks.get(r)) for r in run_ids)


def with_run_links(t: pd.DataFrame, notebooks: dict, column: str = "run ids") -> pd.DataFrame:
    """The table with its comma-separated run ids turned into links to the runs' notebooks."""
    if column not in t.columns:
        return t
    return t.assign(**{column: t[column].map(lambda ids: run_links(str(ids).split(", "), notebooks))})


def percent_axis(ax, axis="y"):
    from matplotlib.ticker import PercentFormatter
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def show_progress(profile: str = "cpu"):
    """One sentence: how many runs of the profile are done, failed, running, missing."""
    c = progress_counts(profile)
    total = c.pop("total")
    order = ["complete", "failed", "running or interrupted", "not run"]
    parts = [f"{n} {k}" for k, n in sorted(c.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 9,
                                                                      kv[0]))]
    md(f"Profile `{profile}`: {total} runs in the grid; " + (", ".join(parts) if parts else "none present") + ".")
