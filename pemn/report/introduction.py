"""Chapter 1 and the landing page: the answer in one figure and the verdicts in one sentence."""
from __future__ import annotations

import pandas as pd

from . import display
from .claims import HELD, INCONCLUSIVE, NOT_HELD, NOT_TESTED
from .compression import compression_axes, compression_legend
from .frame import caption, for_figure, load, points
from .verdicts import claims


def answer_figure(profile: str = "cpu"):
    """Left: accuracy against unique random values (Fig. 3 runs). Right: accuracy against compression (Fig. 4/5).

    A panel is drawn only when it has a masked (left) or a compressed (right) point; None when neither has.
    """
    import matplotlib.pyplot as plt
    df = load(profile)
    if df.empty:
        return None
    f3 = points(for_figure(df, "fig3"))
    comp = points(pd.concat([for_figure(df, "fig4"), for_figure(df, "fig5")]))
    panels = [x for x in (("fig3", f3), ("comp", comp)) if not x[1].empty and (x[1]["family"] != "dense").any()]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
    for ax, (kind, p) in zip(axes[0], panels):
        if kind == "fig3":
            for i, (arch, q) in enumerate(p.groupby("arch", sort=True)):
                s = q[q["method"] != "dense"].sort_values("unique_values", ascending=False)
                if not s.empty:
                    ax.errorbar(s["unique_values"], s["mean"], yerr=s["std"], marker="o", capsize=2, color=f"C{i}",
                                label=f"{arch}: masks only")
                for _, r in s.iterrows():
                    ax.annotate(r["method"], (r["unique_values"], r["mean"]), textcoords="offset points",
                                xytext=(3, 4), fontsize=6, color="0.35")
                d = q[q["method"] == "dense"]
                if not d.empty:
                    ax.axhline(d["mean"].iloc[0], color=f"C{i}", ls="--", lw=1, label=f"{arch}: dense")
            ax.set_xscale("log")
            ax.invert_xaxis()
            ax.set(xlabel="unique random values in the network (log scale)", ylabel="final-epoch test accuracy",
                   title="How few random values suffice?")
            display.percent_axis(ax)
            ax.legend(fontsize=6, loc="best")
        else:
            compression_axes(ax, p, "paper")
            ax.set_title("Storage against accuracy: PEMN vs sparse training")
            compression_legend(ax, p)
    fig.tight_layout()
    return fig


def show_answer(profile: str = "cpu"):
    df = load(profile)
    fig = answer_figure(profile)
    if fig is None:
        return display.note_no_runs(profile, "The summary figure (it needs at least one masked or compressed run)")
    used = pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5")]).drop_duplicates("run_id")
    n_axes = len(fig.axes)
    has_left = any(ax.get_title() == "How few random values suffice?" for ax in fig.axes)
    left = ("final test accuracy of masked networks as the number of unique random values falls (mask → RP "
            "1e-5); dashed: the dense network")
    right = ("accuracy against compression ratio under the paper's Eq. 10, PEMN (stars) against sparse training "
             "with random (circles) and magnitude (squares) pruning; solid horizontal lines: dense")
    if n_axes == 2:
        text = f"The answer in one figure. Left: {left}. Right: {right}."
    elif has_left:
        text = (f"The answer in one figure: {left}. The second panel (accuracy against compression, Fig. 4/5) is "
                f"missing: no compressed run of this profile has finished yet.")
    else:
        text = (f"The answer in one figure: {right}. The first panel (accuracy against unique values, Fig. 3) is "
                f"missing: no masked Fig. 3 run of this profile has finished yet.")
    display.show_fig(fig, caption(used, profile, text))


def show_verdicts(profile: str = "cpu"):
    """One sentence: how many of the paper's conclusions held, failed, were inconclusive or untested (chapter 5)."""
    t = claims(profile)
    c = t["verdict"].value_counts()
    names = {k: ", ".join(t.loc[t["verdict"] == k, "claim"]) for k in (HELD, NOT_HELD, INCONCLUSIVE)}
    display.md(f"**Claims check** (profile `{profile}`, chapter 5): of the paper's {len(t)} conclusions in Sec. "
               f"4.2-4.3, {c.get(HELD, 0)} held, {c.get(NOT_HELD, 0)} did not hold, {c.get(INCONCLUSIVE, 0)} were "
               f"within seed noise (inconclusive) and {c.get(NOT_TESTED, 0)} could not be tested with the runs "
               f"present. " + " ".join(f"{k.capitalize()}: {v}." for k, v in names.items() if v))
