"""Chapter 4 (the compression paradigm, paper Fig. 4 and 5): accuracy against compression, checks, exports."""
from __future__ import annotations

import json
import math
import re

import pandas as pd

from . import display
from .frame import caption, for_figure, grid_runs, load, notebook_paths, points, run_status
from .labels import (ACCOUNT_COLUMNS, ACCOUNTING_SHORT, ACCOUNTINGS, FIG3_ORDER, PEMN_METHODS, REFERENCE, arch_label,
                     dataset_label, method_label, pct, percent)
from .storage_tables import STORAGE_GROUPS, storage_table


BASELINE_FAMILIES = ("random pruning", "magnitude pruning")


def _groups(p: pd.DataFrame) -> list[str]:
    return sorted(set(p["group"]))


def _pemn_order(s: pd.DataFrame) -> list[str]:
    """The PEMN labels of ``s`` in the order of the strategy axis."""
    return sorted(set(s["method"]), key=lambda m: FIG3_ORDER.index(m) if m in FIG3_ORDER else 99)


def compression_axes(ax, p: pd.DataFrame, accounting: str, groups: list[str] | None = None):
    """One accounting's panel: each method in its own look (:func:`.style.method_style`: the baselines' families,
    each PEMN strategy), the backbone the line style (and marker fill: the second backbone's markers are open).
    PEMN's points of one backbone are joined by a grey line."""
    from . import style
    xcol, title = ACCOUNTINGS[accounting]
    groups = groups or _groups(p)
    for i, g in enumerate(groups):
        q = p[p["group"] == g]
        ls = style.LINESTYLES[i % len(style.LINESTYLES)]
        d = q[q["family"] == REFERENCE]
        if not d.empty:
            ax.axhline(d["mean"].iloc[0], color=style.method_style(REFERENCE)["color"], lw=1.2, ls=ls, alpha=0.8)
        for fam in BASELINE_FAMILIES:
            s = q[q["family"] == fam].sort_values(xcol)
            if s.empty:
                continue
            look = style.method_style(fam)
            ax.errorbar(100 * s[xcol], s["mean"], yerr=s["std"], marker=look["marker"], ls=ls, color=look["color"],
                        capsize=2, ms=7, mfc=look["color"] if i == 0 else "white", mec=look["color"])
        s = q[q["family"] == "PEMN"].sort_values(xcol)
        if s.empty:
            continue
        ax.plot(100 * s[xcol], s["mean"], color="0.4", ls=ls, lw=1.2, zorder=2)
        for _, r in s.iterrows():
            look = style.method_style(r["method"])
            ax.errorbar([100 * r[xcol]], [r["mean"]], yerr=[r["std"]], marker=look["marker"], ls="none",
                        color=look["color"], capsize=2, ms=11 if look["marker"] == "*" else 8,
                        mfc=look["color"] if i == 0 else "white", mec=look["color"], zorder=3)
    ax.set(xlabel=f"compression ratio, % ({title})", ylabel="final-epoch test accuracy")
    display.percent_axis(ax)


def compression_handles(p: pd.DataFrame, groups: list[str] | None = None) -> list:
    """Legend entries: the backbones (line styles), then each PEMN strategy and baseline family in its look, then
    dense."""
    from matplotlib.lines import Line2D

    from . import style
    groups = groups or _groups(p)
    handles = [Line2D([], [], color="0.3", lw=1.5, ls=style.LINESTYLES[i % len(style.LINESTYLES)],
                      label=g.replace(" (k5, p4)", "")) for i, g in enumerate(groups)]
    labels = [f"PEMN ({m})" for m in _pemn_order(p[p["family"] == "PEMN"])]
    labels += [f for f in BASELINE_FAMILIES if (p["family"] == f).any()]
    for label in labels:
        look = style.method_style(label)
        handles.append(Line2D([], [], color=look["color"], marker=look["marker"], ls="none",
                              ms=9 if look["marker"] == "*" else 7, label=label))
    if (p["family"] == REFERENCE).any():
        handles.append(Line2D([], [], color=style.method_style(REFERENCE)["color"], lw=1.2,
                              label="dense (horizontal line)"))
    return handles


def compression_runs(profile: str, figure: str) -> pd.DataFrame:
    return for_figure(load(profile), figure)


def _missing_compression(profile: str, figure: str, df: pd.DataFrame) -> list[str]:
    have = set(df["run_id"]) if not df.empty else set()
    status = run_status(profile).set_index("run_id")
    out = {}
    for rid, run in grid_runs(profile).items():
        if figure in run.figures and rid not in have:
            c = run.config
            key = f"{arch_label(c.backbone, c.arch)} / {dataset_label(c.dataset)}"
            st = status.loc[rid, "status"] if rid in status.index else "not run"
            out.setdefault((key, st), set()).add(method_label({"strategy": c.strategy, "ratio": c.ratio,
                                                               "compression": c.compression}))
    return [f"{k} — {st}: {_compact_methods(v)}" for (k, st), v in sorted(out.items())]


def _compact_methods(methods) -> str:
    """``dense, MP, RP 1e-1, random pruning 90/92/94/96%, ...`` from a set of method labels."""
    plain, targets = [], {}
    for m in methods:
        hit = re.fullmatch(r"(random pruning|magnitude pruning) (\d+)%", m)
        if hit:
            targets.setdefault(hit[1], []).append(int(hit[2]))
        else:
            plain.append(m)
    order = {m: i for i, m in enumerate(FIG3_ORDER)}
    parts = sorted(plain, key=lambda m: (order.get(m, 99), m))
    parts += [f"{fam} {'/'.join(map(str, sorted(t)))}%" for fam, t in sorted(targets.items())]
    return ", ".join(parts)


def compression_figure(profile: str = "cpu", figure: str = "fig4"):
    """Accuracy against compression ratio under the four accountings; None without a compressed (non-dense) run."""
    from . import style
    df = compression_runs(profile, figure)
    if df.empty or (df["family"] == REFERENCE).all():
        return None
    datasets = list(dict.fromkeys(df["dataset"]))
    fig, axes = style.figure(2 * len(datasets), 2, height=8.4 * len(datasets), full=True, sharey=True)
    for i, ds in enumerate(datasets):
        p = points(df[df["dataset"] == ds])
        groups = _groups(p)
        for ax, acc in zip(axes[2 * i:2 * i + 2].flat, ACCOUNTINGS):
            compression_axes(ax, p, acc, groups)
            ax.set_title(f"{dataset_label(ds)}: {ACCOUNTINGS[acc][1]}")
    style.legend_below(fig, compression_handles(points(df), _groups(points(df))), ncols=4)
    return fig


def show_compression(profile: str = "cpu", figure: str = "fig4"):
    name = {"fig4": "Figure 4 (ResNets)", "fig5": "Figure 5 (ConvMixer)"}[figure]
    df = compression_runs(profile, figure)
    missing = _missing_compression(profile, figure, df)
    if df.empty:
        return display.note_no_runs(profile, name, missing)
    if (df["family"] == REFERENCE).all():
        dense = ", ".join(f"{g} {pct(a)}" for g, a in points(df)[["group", "mean"]].itertuples(index=False))
        return display.md(f"**No compressed run yet.** {name} has only its dense reference so far (profile `{profile}`: "
                          f"{dense}), so there is no accuracy-against-compression point to draw. Missing: "
                          + "; ".join(missing) + ".")
    pemn_pts = ", ".join(_pemn_order(df[df["family"] == "PEMN"]))
    text = caption(df, profile, f"Accuracy against compression ratio (paper {name}). PEMN ({pemn_pts}), joined by a "
                                f"grey line per backbone, against sparse training with random pruning and with gradual "
                                f"magnitude pruning; horizontal lines: dense. Colour and marker are the method (the "
                                f"legend), line style the backbone (the "
                                f"second backbone's markers are open). Top left: the paper's "
                                f"Eq. 10 (conv/linear weights only; a sparse model stores 2 indices per kept weight); "
                                f"the baselines' sparsity was set to hit 90-96 % under it. Top right: the same trained "
                                f"models with a 1-bit-per-weight bitmap for the positions, which moves the baselines "
                                f"right. Bottom: both again counting every stored parameter (normalisation, BatchNorm "
                                f"statistics, biases), which moves everyone left. PEMN's masks are bitmaps in every "
                                f"panel. Bars: ±1 std over seeds.")
    display.show_fig(compression_figure(profile, figure), text)
    if missing:
        display.md("**Points without a completed run:** " + "; ".join(missing) + ".")


def compression_table(profile: str = "cpu", figure: str = "fig4") -> pd.DataFrame:
    df = compression_runs(profile, figure)
    p = points(df)
    if p.empty:
        return p
    out = p[["group", "method", "n", "seeds", "mean", "std", *ACCOUNT_COLUMNS, "runs"]].sort_values(["group", "c_paper"])
    for c in ("mean", "std", *ACCOUNT_COLUMNS):  # printed through labels.percent, the book's one rounding
        out[c] = out[c].map(lambda x: percent(x, 2))
    out = out.rename(columns={
        "n": "runs (n)", "mean": "accuracy % (mean)", "std": "accuracy % (std)", "runs": "run ids",
        **{col: f"{short} %" for (col, _), short in zip(ACCOUNTINGS.values(), ACCOUNTING_SHORT)}})
    return out.set_index(["group", "method"])


def show_compression_table(profile: str = "cpu", figure: str = "fig4", full: bool = False):
    """The points of the figure: accuracy, compression (the paper's and the fairest accounting; all four when
    ``full``, for the appendix) and the runs, each a link to its notebook."""
    t = compression_table(profile, figure)
    if t.empty:
        return display.note_no_runs(profile, f"The table of {'Figure 4' if figure == 'fig4' else 'Figure 5'}'s points")
    t = t.reset_index()
    p = points(compression_runs(profile, figure)).set_index("runs").loc[t["run ids"]]  # the unrounded means
    accountings = [f"{short} %" for short in ACCOUNTING_SHORT] if full else ["paper %", "bitmap, all params %"]
    shown = pd.DataFrame({
        "backbone / data": t["group"].str.replace(" (k5, p4)", "", regex=False), "method": t["method"],
        "accuracy % (mean ± std)": [f"{percent(m)} ± {percent(s)}" for m, s in zip(p["mean"], p["std"])],
        **{(a if full else f"compression % ({a[:-2]})"): t[a] for a in accountings}, "runs": t["run ids"]})
    others = (" The four columns in % are compression ratios under the four accountings." if full else
              " The other two accountings are in the appendix.")
    display.show_table(display.with_run_links(shown, notebook_paths(load(profile)), "runs"), sortable=full,
                       text=
                       f"The numbers behind {'Figure 4' if figure == 'fig4' else 'Figure 5'} (profile `{profile}`): "
                       f"accuracy over seeds and the compression measured on each trained model (paper: Eq. 10, "
                       f"weights only, CSR positions; bitmap: bitmap positions; all params: every stored float "
                       f"counted); each run links its executed notebook." + others)


def storage_check(profile: str = "cpu") -> pd.DataFrame:
    """Each completed Fig. 4/5 run's stored compression against the library's table (they must agree)."""
    df = load(profile)
    rows = []
    for figure in ("fig4", "fig5"):
        d = for_figure(df, figure)
        if d.empty:
            continue
        for (backbone, arch_key, ds), g in d.groupby(["backbone", "arch_key", "dataset"]):
            arch = json.loads(arch_key)
            pemn_pts = tuple(sorted({(s, None if (r is None or (isinstance(r, float) and math.isnan(r))) else r)
                                     for s, r in zip(g["strategy"], g["ratio"]) if s in PEMN_METHODS}, key=str))
            targets = tuple(sorted({t for t in g["target"].dropna()}))
            t = storage_table(backbone, arch, ds, pemn_pts or None, targets or None)
            for _, r in g.drop_duplicates("run_id").iterrows():
                if r["family"] == REFERENCE:
                    continue
                label = r["method"] if r["family"] == "PEMN" else f"sparse {round(r['target'] * 100)}%"
                if label not in t.index:
                    continue
                acc = STORAGE_GROUPS[0]
                expect = t.loc[label, (acc, "Eq. 10 %")]
                expect_all = t.loc[label, (acc, "all params %")]
                got, got_all = 100 * r["c_paper"], 100 * r["c_all_csr"]
                agree = (expect is not None and not pd.isna(expect) and abs(expect - got) < 0.02
                         and abs(expect_all - got_all) < 0.02)
                rows.append({"run_id": r["run_id"], "Eq. 10 % (table)": expect, "Eq. 10 % (run)": round(got, 2),
                             "all parameters % (table)": expect_all, "all parameters % (run)": round(got_all, 2),
                             "agree": bool(agree)})
    return pd.DataFrame(rows, columns=["run_id", "Eq. 10 % (table)", "Eq. 10 % (run)", "all parameters % (table)",
                                       "all parameters % (run)", "agree"])


def show_storage_check(profile: str = "cpu"):
    c = storage_check(profile)
    if c.empty:
        return display.md(f"No completed Fig. 4/5 run of profile `{profile}` yet to check against the table.")
    bad = c[~c["agree"]]
    if bad.empty:
        display.md(f"Check: the compression stored in each of the {len(c)} completed Fig. 4/5 runs of profile "
                   f"`{profile}` (both ratios) equals the table's value for its configuration (within 0.02 points).")
    else:
        display.md(f"**{len(bad)} of {len(c)} runs disagree with the table** (runs trained by an older version of the "
                   f"code, whose baseline sparsity was set under another accounting, show up here):")
        display.show_table(bad)

EXPORT_COLUMNS = {"export_encoding": "encoding", "export_file_bytes": "file bytes",
                  "export_formula_bytes": "formula bytes", "export_deviation": "file data vs formula",
                  "export_file_compression": "compression % (file, with header)",
                  "export_verified": "reloads identically"}


# the appendix's columns and their heads (a sortable table's heads do not wrap): the caption says what each is. The run
# id names the method and the method its encoding; the compression chapter sums the files' compression by encoding:
# the longest run id and these four columns fit the main column (tests/test_book_html.py)
EXPORT_SHOWN = {"file bytes": "bytes", "formula bytes": "formula", "file data vs formula": "vs formula",
                "reloads identically": "reloads"}


def export_table(profile: str = "cpu") -> pd.DataFrame:
    """Measured size of each run's compact export (``model.pemn``) next to the formula, where recorded."""
    df = load(profile)
    cols = [c for c in EXPORT_COLUMNS if c in df.columns]
    if df.empty or "export_file_bytes" not in cols:
        return pd.DataFrame()
    d = df[df["export_file_bytes"].notna()].copy()
    d["compression % (formula, all params)"] = (100 * d["c_all_csr"]).round(2)
    d["export_file_compression"] = (100 * d["export_file_compression"]).round(2)
    d["export_formula_bytes"] = d["export_formula_bytes"].map(lambda x: f"{x:,.0f}" if pd.notna(x) else "")
    d["export_file_bytes"] = d["export_file_bytes"].map(lambda x: f"{x:,.0f}" if pd.notna(x) else "")
    d["export_deviation"] = d["export_deviation"].map(lambda x: f"{100 * x:+.2f}%" if pd.notna(x) else "")
    out = d[["run_id", "method", "compression % (formula, all params)"] + cols].rename(columns=EXPORT_COLUMNS)
    return out.set_index("run_id")


def show_export_table(profile: str = "cpu"):
    """Every run's compact export, one row each (the appendix)."""
    t = export_table(profile)
    if t.empty:
        return display.md(f"No run of profile `{profile}` records a compact export (`model.pemn`) yet, so measured "
                          f"file sizes cannot be compared with the formula here.")
    t = t.reset_index()[["run_id"] + [c for c in EXPORT_SHOWN if c in t.columns]]
    t = t.rename(columns={"run_id": "run", **EXPORT_SHOWN})
    t["run"] = [display.run_link(r, notebook_paths(load(profile)).get(r)) for r in t["run"]]
    display.show_table(t, sortable=True, text=f"Compact exports (`model.pemn`, written by `pemn.export` after training) recorded in each "
                          f"run's metrics.json (profile `{profile}`): the file's size (*bytes*) against the storage formula (*formula*: all "
                          f"stored parameters; *vs formula*: the file's data part against it, its header is extra), and "
                          f"whether it loads back into a model with identical test accuracy (*reloads*).")


def export_summary(profile: str = "cpu") -> pd.DataFrame:
    """The compact exports by encoding and method family: how many, file sizes, worst deviation, all reloaded."""
    df = load(profile)
    if df.empty or "export_file_bytes" not in df.columns:
        return pd.DataFrame()
    d = df[df["export_file_bytes"].notna()]
    g = d.groupby(["export_encoding", "family"], sort=True)
    return pd.DataFrame({
        "runs": g.size(),
        "file KiB": g["export_file_bytes"].agg(lambda x: f"{x.min() / 1024:,.1f}-{x.max() / 1024:,.1f}"),
        "compression % (file)": g["export_file_compression"].agg(lambda x: f"{100 * x.min():.1f} to {100 * x.max():.1f}"),
        "largest |file − formula|": g["export_deviation"].agg(lambda x: f"{100 * x.abs().max():.2f}%"),
        "all reload identically": g["export_verified"].agg(lambda x: "yes" if x.fillna(False).astype(bool).all() else "no"),
    }).reset_index().rename(columns={"export_encoding": "encoding", "family": "method family"})


def show_export_summary(profile: str = "cpu"):
    """The exports in a few rows (the chapter); every run's file is in the appendix."""
    t = export_summary(profile)
    if t.empty:
        return display.md(f"No run of profile `{profile}` records a compact export (`model.pemn`) yet.")
    display.show_table(t, f"Compact exports (`model.pemn`) of the {int(t['runs'].sum())} runs of profile `{profile}`, "
                          f"by encoding and method family: file size, the compression of the whole file against the "
                          f"dense float32 model, the largest deviation of the file's data from the storage formula, "
                          f"and whether every file loads back into a model with identical test accuracy. A masked "
                          f"network that keeps every random value (mask) is larger than the dense model: it stores "
                          f"the values and the masks. Every run's file is listed in the appendix.")
