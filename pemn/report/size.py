"""Size at equal budget (paper Sec. 4.2 (4), 4.3 Fig. 4 (3)-(4)): accuracy and the gap to dense along width
and along depth.

The pure part (``size_series``, ``budget_note``, ``gap_points``) takes run rows (``frame.records_frame``) and
feeds both the claims engine and the figure; ``show_size`` displays.
"""
from __future__ import annotations

import json

import pandas as pd

from . import display
from .frame import caption, figure_progress, for_figure, load
from .labels import FIG3_ORDER, REFERENCE, arch_label, pct, signed

AXES = {"width": "dim", "depth": "depth"}  # axis name -> the arch field it varies
SIZE_FIGURES = ("fig3", "fig5", "width")   # runs whose sizes vary along an axis of one backbone
RESNET_DEPTH = {"resnet32": 32, "resnet56": 56}


def _size(row) -> dict:
    """The arch fields of a row, with a ResNet's depth spelled out (ResNet32 and ResNet56 differ in depth only)."""
    a = json.loads(row["arch_key"])
    if row["backbone"] in RESNET_DEPTH:
        a = {**a, "depth": RESNET_DEPTH[row["backbone"]]}
    return a


def _family(row) -> str:
    return "resnet" if row["backbone"] in RESNET_DEPTH else row["backbone"]


def size_series(df: pd.DataFrame, axis: str) -> list[tuple[str, pd.DataFrame]]:
    """Runs of one backbone family whose architectures differ along ``axis`` only, two sizes or more.

    Returns ``(title, rows)`` per series, rows with a ``size`` column (the axis value), sizes ascending;
    e.g. ``("ConvMixer depth 6: width", ...)`` or ``("ResNet: depth", ...)``.
    """
    field = AXES[axis]
    if df.empty:
        return []
    d = df.copy()
    sizes = d.apply(_size, axis=1)
    d["size"] = [a.get(field) for a in sizes]
    d["fixed"] = [_family(r) + json.dumps({k: v for k, v in a.items() if k != field}, sort_keys=True)
                  for (_, r), a in zip(d.iterrows(), sizes)]
    out = []
    for fixed, g in d.groupby("fixed", sort=False):
        if g["size"].nunique() < 2:
            continue
        row = g.iloc[0]
        others = {k: v for k, v in _size(row).items() if k != field}
        if row["backbone"] in RESNET_DEPTH:
            title = f"ResNet: {axis}"
        else:
            held = "depth" if axis == "width" else "width"
            name = arch_label(row["backbone"]).split("-")[0]
            title = f"{name} {held} {others.get(AXES[held])}: {axis}"
        out.append((title, g.sort_values(["size", "seed"])))
    return out


def budget_note(rows: pd.DataFrame) -> str | None:
    """Why runs of different sizes cannot be compared (their training budgets differ), or None when they share one."""
    per_size = rows.groupby("arch", sort=False)[["epochs", "train_size"]].agg(lambda s: tuple(sorted(set(s))))
    if len({tuple(v) for v in per_size.values}) <= 1:
        return None
    parts = [f"{a} {'/'.join(map(str, e))} epochs on {'/'.join(map(str, n))} images"
             for a, (e, n) in per_size.iterrows()]
    return "unequal training budgets, so size is confounded with training: " + "; ".join(parts)


def gap_points(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (size, method): accuracy and gap to dense (dense minus the method, paired by seed), mean over seeds.

    Columns: size, arch, method, mean, std, n, gap, gap_std, seeds, runs. Dense rows have a gap of 0.
    """
    dense = rows[rows["strategy"] == REFERENCE].set_index(["size", "seed"])["final_acc"]
    out = []
    for (size, arch, method), g in rows.groupby(["size", "arch", "method"], sort=False):
        gaps = [dense[(size, s)] - a for s, a in zip(g["seed"], g["final_acc"]) if (size, s) in dense.index]
        gs = pd.Series(gaps, dtype=float)
        out.append({"size": size, "arch": arch, "method": method, "mean": g["final_acc"].mean(),
                    "std": g["final_acc"].std() if len(g) > 1 else 0.0, "n": len(g),
                    "gap": gs.mean() if len(gs) else float("nan"), "gap_std": gs.std() if len(gs) > 1 else 0.0,
                    "seeds": ", ".join(map(str, sorted(g["seed"]))), "runs": ", ".join(sorted(g["run_id"]))})
    p = pd.DataFrame(out)
    if p.empty:
        return p
    order = {m: i for i, m in enumerate(FIG3_ORDER)}
    return p.sort_values(["size", "method"], key=lambda s: s.map(order).fillna(99) if s.name == "method" else s,
                         ).reset_index(drop=True)


def size_rows(profile: str = "cpu") -> pd.DataFrame:
    """The runs that vary size: Fig. 3, Fig. 5 and width runs, and the ResNets' dense and PEMN runs of Fig. 4."""
    df = load(profile)
    if df.empty:
        return df
    cm = df[df["figures"].apply(lambda f: any(x in f for x in SIZE_FIGURES))]
    rn = for_figure(df, "fig4")
    rn = rn[rn["family"].isin(["dense", "PEMN"]) & (rn["dataset"] == "cifar10")]
    keep = pd.concat([cm, rn]).drop_duplicates("run_id")
    return keep[keep["family"].isin(["dense", "PEMN"])]


def size_figure(profile: str = "cpu"):
    """Accuracy (top) and gap to dense (bottom) against size, one column per series, one line per method."""
    from . import style
    rows = size_rows(profile)
    series = [(f"{t}", s) for axis in AXES for t, s in size_series(rows, axis)]
    if not series:
        return None
    fig, axes = style.figure(2, len(series), height=6.4, full=len(series) > 2)
    for col, (title, s) in enumerate(series):
        p = gap_points(s)
        for method, q in p.groupby("method", sort=False):
            if q["size"].nunique() < 2:  # a method run at one size only (e.g. Fig. 3's at depth 6) has no trend
                continue
            look = style.method_style(method)  # one look per method in every panel and every figure
            look.update(ms=5, lw=2 if method == REFERENCE else 1.4, label=method)
            axes[0, col].plot(q["size"], q["mean"] * 100, **look)
            for _, r in s[s["method"] == method].iterrows():
                axes[0, col].plot(r["size"], r["final_acc"] * 100, ".", color=look["color"], alpha=0.45)
            if method != REFERENCE:
                axes[1, col].errorbar(q["size"], q["gap"] * 100, yerr=q["gap_std"] * 100, capsize=2, **look)
        sizes = sorted(s["size"].unique())
        for r in (0, 1):
            ax = axes[r, col]
            if len(sizes) > 2:
                ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [f"{x:g}" for x in sizes])  # 32, not 32.0 (sizes may be floats)
            ax.minorticks_off()
        axes[1, col].axhline(0, color="black", lw=0.8)
        axes[0, col].set_title(title.replace(": ", ":\n", 1))
        axes[1, col].set_xlabel(title.rsplit(": ", 1)[1])
        if budget_note(s):
            axes[0, col].set_title(axes[0, col].get_title() + " (unequal budgets)", color="#D55E00")
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[1, 0].set_ylabel("dense − method (pts)")
    style.legend_below(fig, ncols=4)
    return fig


def size_table(profile: str = "cpu") -> pd.DataFrame:
    """The figure's points: per series, size and method: accuracy and gap to dense (mean over seeds)."""
    out = []
    rows = size_rows(profile)
    for axis in AXES:
        for title, s in size_series(rows, axis):
            p = gap_points(s)
            p.insert(0, "series", title)
            out.append(p)
    if not out:
        return pd.DataFrame()
    t = pd.concat(out, ignore_index=True)
    return pd.DataFrame({"series": t["series"], "model": t["arch"], "method": t["method"],
                         "accuracy": [f"{pct(m)} ± {signed(s, sign=False)}" for m, s in zip(t["mean"], t["std"])],
                         "gap to dense (pts)": [signed(g, sign=False) if g == g else "" for g in t["gap"]],
                         "seeds": t["seeds"], "runs": t["runs"]})


def show_size(profile: str = "cpu") -> None:
    """The size figure with its caption, and the unequal budgets said in words."""
    rows = size_rows(profile)
    done, planned = figure_progress(profile, "width")
    if planned:
        display.md(f"Width runs of profile `{profile}`: {done} of {planned} complete"
                   + ("." if done == planned else "; the figure fills in as the rest land (`make reproduce`)."))
    fig = size_figure(profile)
    if fig is None:
        display.md(f"**No runs yet.** Profile `{profile}` has no two sizes of one backbone with dense and masked "
                   f"runs.")
        return
    display.show_fig(fig, caption(rows, profile, "Accuracy (top) and gap to dense (bottom, dense minus the "
                                                  "method, paired by seed; bars: spread over seeds) against width "
                                                  "and depth; lines: means, dots: seeds"))
    low = sorted(rows.loc[rows["final_acc"] < 0.2, "run_id"]) if not rows.empty else []
    if low:
        display.md(f"**Near chance (below 20 %):** {', '.join(low)}; {display.ch('fair')} lists every such run of the profile "
                   f"with its training accuracy and its accuracy after precise BatchNorm statistics.")
    notes = [f"{t}: {n}" for axis in AXES for t, s in size_series(rows, axis) if (n := budget_note(s))]
    if notes:
        display.md("**Not comparable:** " + " ".join(notes))
