"""The accuracy-versus-file-bytes figure of the fair-compression comparison (display only)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .frontier import means, pareto

STYLE = {  # method: (colour, marker)
    "rp": ("tab:red", "*"), "erk_random": ("tab:gray", "v"), "erk_magnitude": ("tab:blue", "s"),
    "quantized4": ("tab:green", "D"), "binary": ("tab:purple", "o"),
    "random_sparse": ("tab:brown", "x"), "magnitude_sparse": ("tab:olive", "+"),
}


def frontier_figure(p: pd.DataFrame, title: str):
    """Test accuracy against measured file bytes (log scale): seeds as dots, seed means joined per method,
    dense as a line, the Pareto front of the means as a dashed step."""
    fig, ax = plt.subplots(figsize=(8.2, 5.0), layout="constrained")
    m = means(p)
    dense = m[m["method"] == "dense"]
    for method, (colour, marker) in STYLE.items():
        pts, mm = p[p["method"] == method], m[m["method"] == method].sort_values("file_bytes")
        if pts.empty:
            continue
        ax.scatter(pts["file_bytes"], pts["test_acc"], s=22, color=colour, marker=marker, alpha=0.45, linewidths=1)
        ax.plot(mm["file_bytes"], mm["test_acc"], color=colour, marker=marker, ms=8 if marker != "*" else 12,
                lw=1.4, label=mm["label"].iloc[0] + (" *" if pts["bn"].eq("recalibrated from the file").any()
                                                     else ""))
    front = pareto(m[m["frontier"] | m["method"].isin(["random_sparse", "magnitude_sparse"])])
    if not front.empty:
        ax.step(front["file_bytes"], front["test_acc"], where="post", color="black", ls="--", lw=1,
                label="Pareto front (seed means)")
    if not dense.empty:
        acc = dense["test_acc"].mean()
        ax.axhline(acc, color="black", lw=1)
        ax.annotate(f"dense float32: {acc:.1%} at {dense['file_bytes'].mean() / 1024:,.0f} KiB",
                    (0.01, acc), xycoords=("axes fraction", "data"), va="bottom", fontsize=9)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1024:,.0f} KiB"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f"{x / 1024:,.0f}"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("measured model.pemn file size (bytes, log scale)")
    ax.set_ylabel("final test accuracy")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5, loc="lower right", framealpha=0.9)
    return fig


# --- the chapter's show functions ------------------------------------------------------------

FRONTIER_BACKBONES = (("convmixer", {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}, "ConvMixer-64/6"),
                      ("resnet32", {}, "ResNet32"))


def _md(text: str):
    from IPython.display import Markdown, display
    display(Markdown(text))


def _link(profile: str, run_id: str) -> str:
    return f"[{run_id}](../runs/{profile}/{run_id}/train.ipynb)"


def _pct(x) -> str:
    return "" if x is None or pd.isna(x) else f"{x:.1%}"


def show_frontier(profile: str = "cpu", backbone: str = "convmixer", arch: dict | None = None, name: str = ""):
    """The frontier figure of one backbone, its verdict table (run links) and a one-line reading."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import runs
    from .frontier import overall, points, verdicts
    p = points(runs.records(profile), backbone, arch, runs.recalibrations(profile))
    fr = p[p["frontier"]] if not p.empty else p
    if fr.empty:
        _md(f"**Not run yet.** {name}: no frontier run of profile `{profile}` is complete; "
            f"`make reproduce PROFILE={profile}` runs them.")
        return
    seeds = sorted(fr["seed"].unique())
    fig = frontier_figure(p, f"{name}, profile {profile}: accuracy against the real file size "
                             f"({len(fr)} frontier runs, seeds {', '.join(map(str, seeds))})")
    display(fig)
    plt.close(fig)
    v = verdicts(p)
    if not v.empty:
        rows = []
        for _, r in v.iterrows():
            rows.append({"PEMN point": r["pemn_point"], "PEMN file": f"{r['pemn_bytes'] / 1024:.1f} KiB",
                         "PEMN acc": _pct(r["pemn_acc"]), "strongest competitor": r.get("competitor") or "none",
                         "its file": "" if r.get("competitor") is None else f"{r['competitor_bytes'] / 1024:.1f} KiB",
                         "its acc": _pct(r.get("competitor_acc")),
                         "margin": "" if pd.isna(r.get("margin", None)) else f"{100 * r['margin']:+.1f} pts",
                         "noise": "" if pd.isna(r.get("noise", None)) else f"{100 * r['noise']:.1f} pts",
                         "verdict": r["verdict"]})
        display(pd.DataFrame(rows).style.hide(axis="index"))
        _md(f"**Verdict against the strongest competitor at equal bytes ({name}): {overall(v)}.** "
            f"Each row compares the seed mean of PEMN at one keep ratio with the best seed mean among the "
            f"competitors sized to that file (bytes within 5 %); *noise* is the larger seed range of the two "
            f"(at least 1 point).")
    runs_md = ", ".join(_link(profile, i) for i in fr.sort_values(["method", "seed"])["run_id"])
    _md(f"<details><summary>The {len(fr)} runs of this figure</summary>\n\n{runs_md}\n\n</details>")


def show_collapse(profile: str = "cpu"):
    """The runs that end at chance, with their training accuracy and their precise-BN accuracy."""
    from IPython.display import display

    from . import runs
    from .frontier import collapsed
    c = collapsed(runs.records(profile), runs.recalibrations(profile))
    if c.empty:
        _md(f"No run of profile `{profile}` ends at chance.")
        return
    c = c.sort_values(["strategy", "run_id"])
    table = pd.DataFrame({
        "run": [_link(profile, i) for i in c["run_id"]],
        "kept": [f"{k:.1%}" for k in c["kept_fraction"]],
        "train acc (last epoch)": [_pct(x) for x in c["train_acc"]],
        "test acc": [_pct(x) for x in c["test_acc"]],
        "peak test loss": [f"{x:,.0f}" for x in c["peak_test_loss"]],
        "test acc, precise BN": [_pct(x) for x in c["recalibrated_acc"]]})
    _md(table.to_markdown(index=False))


def show_kept_counts(profile: str = "cpu", compression: float = 0.94, budget_index: int = 0):
    """Per-layer kept weights: the paper's uniform rule at ``compression`` against ERK at a PEMN file's budget."""
    import torch

    from .grids import grid
    from .train import make_model
    g = grid(profile)
    backbone, arch, name = FRONTIER_BACKBONES[0]
    paper = next(r.config for r in g.values() if r.config.strategy == "random_sparse" and r.config.arch == arch
                 and r.config.compression == compression and r.config.seed == 0)
    budgets = sorted({r.config.budget_bits for r in g.values() if r.config.strategy == "erk_random"
                      and r.config.arch == arch}, reverse=True)
    erk = next(r.config for r in g.values() if r.config.strategy == "erk_random" and r.config.arch == arch
               and r.config.budget_bits == budgets[budget_index] and r.config.seed == 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        models = {f"paper's uniform rule, {compression:.0%} compression": make_model(paper, 10),
                  f"ERK at {erk.budget_bits:.3g} bits/weight": make_model(erk, 10)}
    from .frontier import layer_kept_counts
    t = layer_kept_counts(models)
    _md(t.to_markdown(index=False))
