"""Chapter 7, fair compression: the collapse of the paper's baselines, kept counts, accuracy against file bytes."""
from __future__ import annotations

import pandas as pd

from .. import methods
from ..runs import current_records, recalibrations
from . import display
from .frontier import (at_frontier_budget, collapsed, frontier_budget, layer_kept_counts, means, pareto, points,
                       verdict, verdicts)
from .labels import REFERENCE, budget_label, pct


def reference_dense(p: pd.DataFrame) -> pd.DataFrame:
    """The dense runs the figure draws as its reference line: those trained at the frontier's own budget."""
    q = at_frontier_budget(p)
    return q[q["role"] == "reference"] if not q.empty else q


def frontier_figure(p: pd.DataFrame, title: str):
    """Test accuracy against measured file size (KiB, log scale), at the frontier's training budget: seeds as dots,
    seed means joined per method, dense as a line, the Pareto front of the means as a dashed step."""
    from . import style
    fig, axes = style.figure(height=5.6, full=True)
    ax = axes[0, 0]
    p = at_frontier_budget(p)
    m = means(p)
    for method, first in m[m["role"] != "reference"].groupby("method", sort=False).first().iterrows():
        look = style.method_style(first["label"])
        pts, mm = p[p["method"] == method], m[m["method"] == method].sort_values("file_bytes")
        if pts.empty:
            continue
        ax.scatter(pts["file_bytes"] / 1024, pts["test_acc"], s=22, color=look["color"], marker=look["marker"],
                   alpha=0.45, linewidths=1)
        ax.plot(mm["file_bytes"] / 1024, mm["test_acc"], color=look["color"], marker=look["marker"],
                ms=8 if look["marker"] != "*" else 12, lw=1.4,
                label=mm["label"].iloc[0] + (" *" if pts["bn"].eq("recalibrated from the file").any() else ""))
    front = pareto(m[m["frontier"] | (m["role"] == "paper")])
    if not front.empty:
        ax.step(front["file_bytes"] / 1024, front["test_acc"], where="post", color="black", ls="--", lw=1,
                label="Pareto front (seed means)")
    dense = reference_dense(p)
    if not dense.empty:
        acc = dense["test_acc"].mean()
        ax.axhline(acc, color=style.method_style(REFERENCE)["color"], lw=1)
        ax.annotate(f"dense float32 ({budget_label(frontier_budget(p))}, {len(dense)} runs): {pct(acc)} at "
                    f"{dense['file_bytes'].mean() / 1024:,.0f} KiB",
                    (0.01, acc), xycoords=("axes fraction", "data"), va="bottom", fontsize=style.MIN_PT)
    style.kib_axis(ax)
    display.percent_axis(ax)
    ax.set_xlabel("measured model.pemn file size (KiB, log scale)")
    ax.set_ylabel("final test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    style.legend_below(fig, ncols=3)
    return fig


# --- the chapter's show functions ------------------------------------------------------------

def _link(profile: str, run_id: str) -> str:
    """A run id linked to its executed notebook, plain while the run has none in the book (still training)."""
    from ..runs import run_dir
    from .frame import notebook_in_book
    shown = notebook_in_book(run_dir(profile, run_id))
    return display.run_link(run_id, f"runs/{profile}/{run_id}/train.ipynb" if shown else None)


def _pct(x) -> str:
    return "" if x is None or pd.isna(x) else pct(x)


def frontier_backbone(profile: str, index: int) -> tuple[str, dict, str] | None:
    """(backbone, arch, name) of a profile's ``index``-th frontier backbone, or None."""
    from ..grids import get_profile
    from .labels import arch_label
    try:
        fr = get_profile(profile).frontier
    except ValueError:  # not a grid profile (custom)
        return None
    if index >= len(fr):
        return None
    backbone, arch = fr[index]
    return backbone, arch, arch_label(backbone, arch)


def fair_verdict(profile: str, backbone: str, arch: dict):
    """(per-point comparisons, one Verdict) against the strongest competitor at equal bytes, for one backbone."""
    v = verdicts(points(current_records(profile), backbone, arch, recalibrations(profile)))
    return v, verdict(v)


def show_frontier(profile: str = "cpu", index: int = 0):
    """The frontier figure of the profile's ``index``-th frontier backbone, its verdicts (run links), in one line."""
    which = frontier_backbone(profile, index)
    if which is None:
        display.md(f"Profile `{profile}` has no frontier backbone number {index + 1}.")
        return
    backbone, arch, name = which
    p = points(current_records(profile), backbone, arch, recalibrations(profile))
    fr = p[p["frontier"]] if not p.empty else p
    if fr.empty:
        display.md(f"**Not run yet.** {name}: no frontier run of profile `{profile}` is complete; "
                   f"`make reproduce PROFILE={profile}` runs them.")
        return
    seeds = ", ".join(map(str, sorted(fr["seed"].unique())))
    display.show_fig(frontier_figure(p, f"{name}, profile {profile}: accuracy against the real file size"),
                     f"{len(fr)} frontier runs (seeds {seeds}); large markers joined by lines are seed means, small "
                     f"ones single seeds. * the paper's baselines were trained without precise BatchNorm statistics "
                     f"and are shown re-evaluated with them from their files. Every point and the dense line were "
                     f"trained at the frontier's budget, {budget_label(frontier_budget(p))}.")
    v = verdicts(p)
    if v.empty:
        return
    from .verdict_text import holm_tally, interval
    rows = [{"PEMN point": r["pemn_point"], "PEMN file": f"{r['pemn_bytes'] / 1024:.1f} KiB",
             "PEMN acc": _pct(r["pemn_acc"]), "strongest competitor at that size": r.get("competitor") or "none yet",
             "its file": "" if r.get("competitor") is None else f"{r['competitor_bytes'] / 1024:.1f} KiB",
             "its acc": _pct(r.get("competitor_acc")),
             "margin [95 % interval] (pts)": "" if r.get("competitor") is None
             else f"{display.signed(r['margin'])} {interval(r['comparison'])}",
             "seeds": "" if r.get("competitor") is None else int(r["seeds"]), "this size alone": r["outcome"]}
            for _, r in v.iterrows()]
    display.show_table(pd.DataFrame(rows))
    d = verdict(v)
    deciding = next((r["pemn_point"] for _, r in v.iterrows() if r.get("comparison") is d.deciding), None)
    display.md(f"**Against the strongest competitor at equal bytes ({name}): {d.outcome}**"
               + (f" (Holm over the {len(d.comparisons)} file sizes: {holm_tally(d)}; deciding: the {deciding} row "
                  f"above)." if d.deciding else ".")
               + " Each row's interval is the one place this book gives it; the other chapters quote the verdict.")
    display.md(f"<details><summary>The {len(fr)} runs of this figure</summary>\n\n"
               + ", ".join(_link(profile, i) for i in fr.sort_values(["method", "seed"])["run_id"])
               + "\n\n</details>")


def show_collapse(profile: str = "cpu"):
    """The runs that end at chance, with their training accuracy and their precise-BN accuracy."""
    c = collapsed(current_records(profile), recalibrations(profile))
    if c.empty:
        display.md(f"No run of profile `{profile}` ends below 20 % test accuracy.")
        return
    c = c.sort_values(["strategy", "run_id"])
    table = pd.DataFrame({
        "run": [_link(profile, i) for i in c["run_id"]],
        "kept": [pct(k) for k in c["kept_fraction"]],
        "train acc (last epoch)": [_pct(x) for x in c["train_acc"]],
        "test acc": [_pct(x) for x in c["test_acc"]],
        "peak test loss": [f"{x:,.0f}" for x in c["peak_test_loss"]],
        "test acc, precise BN": [_pct(x) for x in c["recalibrated_acc"]]})
    display.show_table(table)


def show_kept_counts(profile: str = "cpu", compression: float = 0.94, budget_index: int = 0):
    """Per-layer kept weights: the paper's uniform rule at ``compression`` against ERK at a PEMN file's budget."""
    import torch

    from ..grids import grid
    from ..train import make_model
    g = grid(profile)
    which = frontier_backbone(profile, 0)
    arch = which[1] if which else None
    def sparsity(cfg) -> str | None:
        m = methods.get(cfg.strategy)
        return m.sparsity if m.value_bits(cfg) == 32 else None

    papers = sorted((r.config for r in g.values() if sparsity(r.config) == "uniform" and r.config.arch == arch
                     and r.config.compression <= compression and r.config.seed == 0), key=lambda c: c.compression)
    if not papers:
        display.md(f"Profile `{profile}` has no paper's baseline on its frontier backbone to compare with.")
        return
    paper = papers[-1]
    erks = [r.config for r in g.values() if sparsity(r.config) == "erk" and r.config.arch == arch and r.config.seed == 0]
    budgets = sorted({c.budget_bits for c in erks}, reverse=True)
    erk = next(c for c in erks if c.budget_bits == budgets[budget_index])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        models = {f"paper's uniform rule, {paper.compression:.0%} compression": make_model(paper, 10),
                  f"ERK at {erk.budget_bits:.3g} bits/weight": make_model(erk, 10)}
    display.show_table(layer_kept_counts(models))
