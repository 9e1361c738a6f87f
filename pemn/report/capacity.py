"""Chapter 3 (representative capacity, paper Fig. 3): accuracy against strategy."""
from __future__ import annotations

import pandas as pd

from . import display
from .frame import caption, for_figure, grid_runs, load, notebook_paths, points
from .labels import FIG3_ORDER, REFERENCE, arch_label, method_label, percent


def _fig3_methods(profile: str, df: pd.DataFrame) -> dict[str, list[str]]:
    """Per Fig. 3 arch: the strategies on its axis (those of the grid, plus any with runs), in paper order."""
    want: dict[str, set] = {}
    for run in grid_runs(profile).values():
        if "fig3" in run.figures:
            c = run.config
            want.setdefault(arch_label(c.backbone, c.arch), set()).add(method_label({"strategy": c.strategy,
                                                                                      "ratio": c.ratio}))
    for arch, method in (zip(df["arch"], df["method"]) if not df.empty else []):
        want.setdefault(arch, set()).add(method)
    return {a: [m for m in FIG3_ORDER if m in w] for a, w in want.items()}


def _missing_fig3(profile: str, df: pd.DataFrame) -> dict[str, list[str]]:
    """Per Fig. 3 arch: the strategies of the grid with no completed run at all."""
    have: dict[str, set] = {}
    for arch, method in (zip(df["arch"], df["method"]) if not df.empty else []):
        have.setdefault(arch, set()).add(method)
    return {a: [m for m in ms if m not in have.get(a, set())] for a, ms in _fig3_methods(profile, df).items()}


def identical_alias(p: pd.DataFrame) -> dict[str, str]:
    """Method label -> the label of the merged point it belongs to (``frame.merge_identical``), for one backbone."""
    return {m: label for label, ms in zip(p["method"], p["merged"]) if len(ms) > 1 for m in ms}


def fig3_points(profile: str = "cpu") -> pd.DataFrame:
    df = for_figure(load(profile), "fig3")
    p = points(df)
    if p.empty:
        return p
    p["order"] = p["merged"].map(lambda ms: FIG3_ORDER.index(ms[0]))
    return p.sort_values(["arch", "order"]).drop(columns="order").reset_index(drop=True)


def fig3_figure(profile: str = "cpu"):
    """Accuracy against strategy (dense, mask ... RP 1e-5), one panel per backbone with runs; None without runs."""
    from . import style
    df = for_figure(load(profile), "fig3")
    if df.empty:
        return None
    pts = points(df)
    axis_methods = _fig3_methods(profile, df)
    missing = _missing_fig3(profile, df)
    archs = sorted(set(pts["arch"]))
    fig, axes = style.figure(1, len(archs), height=4.2, full=len(archs) > 1, sharey=True)
    dense = style.method_style(REFERENCE)
    for ax, arch in zip(axes[0], archs):
        p = pts[pts["arch"] == arch]
        alias = identical_alias(p)  # identical networks share one x position
        methods = list(dict.fromkeys(alias.get(m, m) for m in axis_methods[arch]))
        xs = {m: i for i, m in enumerate(methods)}
        d = df[df["arch"] == arch].assign(method=lambda x: x["method"].map(lambda m: alias.get(m, m)))
        sp = p[p["method"] != REFERENCE].sort_values("method", key=lambda s: s.map(xs))
        if not sp.empty:
            ax.errorbar([xs[m] for m in sp["method"]], sp["mean"], yerr=sp["std"], capsize=3, color="0.4", lw=1.2,
                        zorder=2, label="masks over fixed random values (PEMN): mean ± std")
            for _, r in sp.iterrows():  # each strategy in its own look, as in every figure of the book
                look = style.method_style(r["method"])
                ax.plot(xs[r["method"]], r["mean"], ls="none", marker=look["marker"], color=look["color"], ms=9,
                        zorder=3)
        ax.scatter([xs[m] for m in d["method"]], d["final_acc"], s=10, color="0.45", zorder=4, label="one seed")
        q = p[p["method"] == REFERENCE]
        if not q.empty:
            ax.axhline(q["mean"].iloc[0], color=dense["color"], ls="--", lw=1, label="dense (trained weights)")
            ax.errorbar([xs["dense"]], q["mean"], yerr=q["std"], marker=dense["marker"], color=dense["color"],
                        capsize=3, zorder=3)
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels([m + ("\n(no run)" if m in missing.get(arch, []) else "") for m in methods],
                           rotation=45, ha="right")
        for t, m in zip(ax.get_xticklabels(), methods):
            if m in missing.get(arch, []):
                t.set_color("0.4")
        ax.set_xlim(-0.5, len(methods) - 0.5)
        ax.axhline(0.1, color="0.6", lw=0.8, ls=":", label="chance (10 classes)")
        ax.set(title=arch)
        top = max(d["final_acc"].max(), p["mean"].max() + p["std"].max())
        ax.set_ylim(0.0, min(1.0, top + 0.05))
        display.percent_axis(ax)
    axes[0, 0].set_ylabel("final-epoch test accuracy")
    style.legend_below(fig, ncols=2)
    return fig


def show_fig3(profile: str = "cpu"):
    df = for_figure(load(profile), "fig3")
    if df.empty:
        return display.note_no_runs(profile, "Figure 3 (accuracy against strategy)")
    fig = fig3_figure(profile)
    missing = {a: m for a, m in _missing_fig3(profile, df).items() if m}
    absent = [a for a in missing if a not in set(df["arch"])]
    text = caption(df, profile, "Accuracy against strategy (paper Fig. 3), CIFAR-10. Left to right the number of "
                                "unique random values falls; dense trains all weights (dashed line), every other "
                                "point trains only masks over fixed random values (keep ratio 0.5). Grey dots: "
                                "single seeds; bars: ±1 std over seeds.")
    display.show_fig(fig, text)
    notes = []
    for a, m in missing.items():
        notes.append(f"{a}: {'no run at all yet (no panel drawn)' if a in absent else 'no run yet for ' + ', '.join(m)}")
    if notes:
        display.md("**Points without runs** (marked *(no run)* on the axis): " + "; ".join(notes) + ".")


def fig3_table(profile: str = "cpu") -> pd.DataFrame:
    p = fig3_points(profile)
    if p.empty:
        return p
    out = p[["arch", "method", "unique_values", "n", "seeds", "mean", "std", "runs"]].copy()
    out["mean"], out["std"] = out["mean"].map(lambda x: percent(x, 2)), out["std"].map(lambda x: percent(x, 2))
    return out.rename(columns={"unique_values": "unique values", "n": "runs (n)", "mean": "accuracy % (mean)",
                               "std": "accuracy % (std)", "runs": "run ids"}).set_index(["arch", "method"])


def show_fig3_table(profile: str = "cpu"):
    t = fig3_table(profile)
    if t.empty:
        return display.note_no_runs(profile, "The table of Figure 3's points")
    t = display.with_run_links(t.reset_index(), notebook_paths(load(profile)))
    display.show_table(t, f"The numbers behind Figure 3 (profile `{profile}`), with the runs that produced them (each "
                          f"links its executed notebook). A point that stands for two ratios (RP 1e-4/1e-5) is one "
                          f"network: both ratios leave a single random value at this width.")
