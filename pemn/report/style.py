"""The book's one figure style: every figure is drawn at the width it is shown at, so its type is read at size.

- **Sizes.** The book's main column is 692 CSS px wide at a 1,300 px window (sphinx-book-theme), a cell tagged
  ``full-width`` 941 px. A figure is drawn :data:`CONTENT_WIDTH_IN` (672 px) or :data:`FULL_WIDTH_IN` (922 px)
  wide and saved at exactly that size (no tight bounding box), so the browser shows it unscaled and a 9 pt label
  is 9 pt on the page (``tests/test_book.py`` measures every label of every figure in a browser).
- **Type.** Nothing below :data:`MIN_PT` (9 pt): ticks, legends, annotations and titles alike.
- **Legends** sit outside the axes (below them, :func:`legend_below`), never over the data.
- **Colour.** One colour per method, the method's own (``pemn.methods``: Okabe–Ito hues, colour-blind safe);
  the strategies of one family (PEMN's mask, MP, RP ...) share its hue and differ in shade, marker and line
  (:func:`method_style`), the same in every figure. Backbones differ by line style and marker fill, never by hue.
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

# the book's labels of PEMN strategies, in the order of the strategy axis, and the look each takes inside its
# family's hue: (shade, marker, line style); shade > 0 lightens towards white, < 0 darkens
_LABEL_LOOK = {"mask": (0.0, "o", "-"), "one-layer": (0.25, "^", "--"), "MP": (0.45, "s", "-."),
               "RP 1e-1": (-0.45, "D", "-"), "RP 1e-2": (-0.2, "v", "--"), "RP 1e-3": (0.35, "P", ":"),
               "RP 1e-4": (-0.6, "X", "-."), "RP 1e-5": (0.5, "h", ":")}

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


def _strategy(label: str) -> str:
    """The registry name behind a book label (``RP 1e-2`` -> ``rp``, ``random pruning 90%`` -> ``random_sparse``)."""
    for name, m in methods.REGISTRY.items():
        if label in (m.family, m.title, name):
            return name
        try:
            if (m.placement is None and m.label({}) == label) or m.title_of({}) == label:
                return name
        except (KeyError, TypeError):
            pass
    head = label.split(" ")[0]
    for name, m in methods.REGISTRY.items():
        if m.placement == "ratio" and head == m.label({}):
            return name
    fam = label.rsplit(" ", 1)[0]
    return next((n for n, m in methods.REGISTRY.items() if m.family == fam), "dense")


def _shade(colour: str, f: float) -> str:
    from matplotlib.colors import to_hex, to_rgb
    r = to_rgb(colour)
    return to_hex([c + (1 - c) * f if f >= 0 else c * (1 + f) for c in r])


def method_colour(label: str) -> str:
    """The colour of a method label in every figure: its method's own colour, shaded within its family."""
    base = methods.get(_strategy(label)).colour
    look = _LABEL_LOOK.get(label.split("/")[0])
    return _shade(base, look[0]) if look else base


def method_style(label: str) -> dict:
    """Matplotlib keywords (colour, marker, line style) of a method label, the same in every figure."""
    m = methods.get(_strategy(label))
    look = _LABEL_LOOK.get(label.split("/")[0])
    if look:
        return {"color": _shade(m.colour, look[0]), "marker": look[1], "ls": look[2]}
    return {"color": m.colour, "marker": m.marker, "ls": "-"}


def family_colour(family: str) -> str:
    """The colour of a method family (``PEMN``, ``random pruning``, ``dense``, ...)."""
    return next((m.colour for m in methods.REGISTRY.values() if m.family == family), "0.4")


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
