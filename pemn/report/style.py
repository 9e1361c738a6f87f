"""The book's one figure style: every figure is drawn at the width it is shown at, so its type is read at size.

- **Sizes.** The book's main column is 692 CSS px wide at a 1,300 px window (sphinx-book-theme), a cell tagged
  ``full-width`` 941 px. A figure is drawn :data:`CONTENT_WIDTH_IN` (672 px) or :data:`FULL_WIDTH_IN` (922 px)
  wide and saved at exactly that size (no tight bounding box), so the browser shows it unscaled and a 9 pt label
  is 9 pt on the page (``tests/test_book.py`` measures every label of every figure in a browser).
- **Type.** Nothing below :data:`MIN_PT` (9 pt): ticks, legends, annotations and titles alike.
- **Legends** sit outside the axes (below them, :func:`legend_below`), never over the data.
- **Colour and marker.** One look per method, the same in every figure (:func:`method_style`, the only place a
  figure takes a method's colour and marker from): the competitors' from ``pemn.methods`` (Okabe–Ito hues), PEMN's
  strategies each their own colour (Paul Tol's muted scheme, colour-blind safe) and marker, so that no two methods
  of the book share a look (``tests/test_style.py`` draws every chapter's figures and checks each legend entry).
  Backbones differ by line style and marker fill, never by hue.
- **Axes.** A log axis of file sizes is in KiB with plain, round ticks (:func:`kib_axis`).
"""
from __future__ import annotations

import io

from .. import methods

CONTENT_WIDTH_IN = 7.0   # 672 CSS px: the main column (692 px) with room to spare
FULL_WIDTH_IN = 9.6      # 922 CSS px: a full-width cell (941 px)
MIN_PT = 9

RC = {"font.size": MIN_PT, "axes.titlesize": 10, "axes.labelsize": MIN_PT, "xtick.labelsize": MIN_PT,
      "ytick.labelsize": MIN_PT, "legend.fontsize": MIN_PT, "legend.title_fontsize": MIN_PT,
      "figure.titlesize": 10, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 96, "savefig.dpi": 96,
      "svg.fonttype": "none", "figure.max_open_warning": 0, "axes.prop_cycle": None}

# Okabe & Ito (2008): the hues the methods' own colours come from, in the order a plain series takes them
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

# the book's labels of PEMN strategies, in the order of the strategy axis, and the look of each: (colour, marker,
# line style). The colours are Paul Tol's muted scheme, chosen apart from the competitors' Okabe–Ito hues.
_PEMN_LOOK = {"mask": ("#0072B2", "o", "-"), "one-layer": ("#117733", "^", "--"), "MP": ("#332288", "<", "-."),
              "RP 1e-1": ("#44AA99", ">", "-"), "RP 1e-2": ("#882255", "*", "--"), "RP 1e-3": ("#999933", "h", ":"),
              "RP 1e-4": ("#AA4499", "X", "-."), "RP 1e-5": ("#CC6677", "8", ":")}

LINESTYLES = ("-", "--", ":", "-.")  # backbone by backbone, in the order a figure meets them


def apply() -> None:
    """Set the style for every figure drawn after it (the book's notebooks call it through ``setup_notebook``)."""
    import matplotlib as mpl
    from cycler import cycler
    mpl.rcParams.update({k: v for k, v in RC.items() if v is not None})
    mpl.rcParams["axes.prop_cycle"] = cycler(color=OKABE_ITO)


def figure(nrows: int = 1, ncols: int = 1, height: float = 4.0, full: bool = False, **kw):
    """``(fig, axes)`` at the book's width (``full``: a full-width cell), constrained layout, the style applied."""
    import matplotlib.pyplot as plt
    apply()
    kw.setdefault("squeeze", False)
    return plt.subplots(nrows, ncols, figsize=(FULL_WIDTH_IN if full else CONTENT_WIDTH_IN, height),
                        layout="constrained", **kw)


def svg(fig) -> str:
    """The figure as SVG text at exactly its drawn size, its text kept as text (a browser can measure it)."""
    import matplotlib.pyplot as plt
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue()


def method_of(label: str) -> str | None:
    """The method a figure's label names (a PEMN strategy's book label, or a registry name), or None when the label
    names no method (a backbone, "one seed", a front). A trailing footnote mark (`` *``) is not part of the name."""
    label = label.removesuffix(" *")
    inner = label[len("PEMN ("):-1] if label.startswith("PEMN (") and label.endswith(")") else label
    if inner.split("/")[0] in _PEMN_LOOK:  # RP 1e-4/1e-5: one network, drawn as RP 1e-4
        return inner.split("/")[0]
    for name, m in methods.REGISTRY.items():
        if m.family == "PEMN":
            continue
        if label in (m.family, m.title, name):
            return name
        try:
            if (m.placement is None and m.label({}) == label) or m.title_of({}) == label:
                return name
        except (KeyError, TypeError):
            pass
    fam = label.rsplit(" ", 1)[0]  # "random pruning 90%"
    return next((n for n, m in methods.REGISTRY.items() if m.family == fam and m.family != "PEMN"), None)


def method_style(label: str) -> dict:
    """Matplotlib keywords (``color``, ``marker``, ``ls``) of a method label, the same in every figure; KeyError for a
    label that names no method."""
    name = method_of(label)
    if name is None:
        raise KeyError(f"{label!r} names no method of the book")
    if name in _PEMN_LOOK:
        colour, marker, ls = _PEMN_LOOK[name]
        return {"color": colour, "marker": marker, "ls": ls}
    m = methods.get(name)
    return {"color": m.colour, "marker": m.marker, "ls": "-"}


def looks() -> dict[str, tuple[str, str]]:
    """(colour, marker) of every method of the book, by label: the PEMN strategies and the registry's others."""
    out = {label: look[:2] for label, look in _PEMN_LOOK.items()}
    out.update({name: (m.colour, m.marker) for name, m in methods.REGISTRY.items() if m.family != "PEMN"})
    return out


def kib_axis(ax, axis: str = "x") -> None:
    """A log axis of sizes already in KiB, with plain ticks: round numbers (1, 2, 2.5 or 5 times a power of ten)
    spread over the data's range, whole KiB, no minor labels."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
    a = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    a.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}"))
    a.set_minor_formatter(NullFormatter())


def legend_below(fig, handles=None, labels=None, ncols: int = 3, **kw):
    """One legend for the figure, below every axes (outside the data)."""
    if handles is None:
        seen = {}
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        handles, labels = list(seen.values()), list(seen)
    if not handles:
        return None
    return fig.legend(handles, labels if labels is not None else [h.get_label() for h in handles],
                      loc="outside lower center", ncols=min(ncols, len(handles)), frameon=False, **kw)
