"""Showing things in a notebook: Markdown, figures with captions, tables, notes when runs are missing, run links.

Every other module of the report calls these through the module (``display.md(...)``), so a test can
replace them to read what a chapter would say.
"""
from __future__ import annotations

import pandas as pd

from .frame import progress_counts


def setup_notebook() -> None:
    """Plot and table defaults for the book's notebooks."""
    import matplotlib as mpl
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.titlesize": 10,
                         "axes.grid": True, "grid.alpha": 0.3, "figure.max_open_warning": 0})
    pd.set_option("display.max_rows", 400)
    pd.set_option("display.max_colwidth", 200)
    pd.set_option("display.width", 200)


def md(text: str):
    from IPython.display import Markdown, display
    display(Markdown(text))


def show_fig(fig, text: str):
    import matplotlib.pyplot as plt
    from IPython.display import display
    display(fig)
    plt.close(fig)
    md(f"*{text}*")


def show_svg(fig, text: str):
    """A figure as SVG with its text kept as text (a browser can measure the labels), then its caption."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import SVG, display
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    display(SVG(buf.getvalue()))
    md(f"*{text}*")


def note_no_runs(profile: str, what: str, missing: list[str] | None = None):
    msg = f"**No runs yet.** {what} has no completed run of profile `{profile}`, so there is nothing to draw."
    if missing:
        msg += f" Missing: {', '.join(missing)}."
    msg += f" Run them with `make reproduce PROFILE={profile}`."
    md(msg)


def table_md(df: pd.DataFrame) -> str:
    """A Markdown table (MyST renders the links in it); the index becomes ordinary columns."""
    return df.to_markdown(index=False)


def show_table(df: pd.DataFrame, text: str | None = None):
    """A table as Markdown, so that run ids in it are links and no code-formatted names show backticks."""
    md(table_md(df.reset_index() if _named_index(df) else df))
    if text:
        md(f"*{text}*")


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
