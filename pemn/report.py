"""Tables and figures of the book, drawn from run results (``runs/<profile>/<run_id>/metrics.json``).

Every loading, aggregation and plotting step of the book lives here; the
book's notebooks only set ``profile`` and call these functions. The
functions named ``show_*`` display a figure or table together with its
caption (profile, epochs, seeds, data source), or a plain sentence when no
run stands behind it.

Two families of numbers appear in the book:

- from runs: accuracies, measured compression of each trained model, wall
  times. Each is traceable to a run id (tables list them; the run index of
  the reproducibility chapter links each run's executed notebook);
- from the library alone (no training): unique-value counts and the storage
  cost of each configuration (Eq. 10), computed on freshly built models.
  These are deterministic; the notebook tests compare them exactly.
"""
from __future__ import annotations

import json
import math
import os
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
BENCH_RESULTS = REPO / "bench" / "results.json"
PAPER_BENCH = REPO / "bench" / "paper.json"

# Order of the strategies on the x axis of Fig. 3 (left to right: fewer unique values).
FIG3_ORDER = ("dense", "mask", "one-layer", "MP", "RP 1e-1", "RP 1e-2", "RP 1e-3", "RP 1e-4", "RP 1e-5")
SPARSE_ORDER = FIG3_ORDER[1:]
STABLE_SET = ("one-layer", "MP", "RP 1e-1", "RP 1e-2", "RP 1e-3")
EXTREME_SET = ("RP 1e-4", "RP 1e-5")
BASELINE_LABEL = {"random_sparse": "random pruning", "magnitude_sparse": "magnitude pruning"}
PEMN_STRATEGIES = ("mask", "one_layer", "mp", "rp")
# The four storage accountings of the compression figures: (column, title). "paper" is Eq. 10 as the paper
# computes it (conv/linear weights only; sparse positions as CSR, 2 indices per kept weight); the others change
# one assumption each: a 1-bit-per-weight bitmap for the positions, and/or counting every stored parameter.
# PEMN's masks are bitmaps in every accounting.
ACCOUNTINGS = {
    "paper": ("c_paper", "Eq. 10, weights only, CSR (paper)"),
    "wo_bitmap": ("c_wo_bitmap", "weights only, bitmap"),
    "all_csr": ("c_all_csr", "all parameters, CSR"),
    "all_bitmap": ("c_all_bitmap", "all parameters, bitmap"),
}
STABLE_TOL = 0.03       # claim 4.2(3): "stable" = within 3 points of mask
EXTREME_DROP = 0.01     # claim 4.2(3): "drop" = RP 1e-4/1e-5 more than 1 point below the stable strategies
PROMISING = 0.85        # claim 4.2(1): "promising" = mask reaches 85 % of dense accuracy
RANK_CORR = -0.5        # claim 4.2(2): "gradually drops" = Spearman correlation <= -0.5
MARGIN = 0.01           # claim 4.3(1): "significant margin" = > 1 point and > the seeds' spread


# --- labels -------------------------------------------------------------------

def _short(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e")


def method_label(cfg: dict) -> str:
    """Readable method name: dense, mask, one-layer, MP, RP 1e-2, random pruning 90%, ..."""
    s = cfg["strategy"]
    if s == "rp":
        return f"RP {_short(cfg['ratio'])}"
    if s in BASELINE_LABEL:
        return f"{BASELINE_LABEL[s]} {round(cfg['compression'] * 100)}%"
    return {"one_layer": "one-layer", "mp": "MP"}.get(s, s)


def method_family(strategy: str) -> str:
    if strategy == "dense":
        return "dense"
    return "PEMN" if strategy in PEMN_STRATEGIES else BASELINE_LABEL.get(strategy, strategy)


def full_arch(backbone: str, arch: dict) -> dict:
    from .backbones import arch_options
    return {**arch_options(backbone), **(arch or {})}


def arch_label(backbone: str, arch: dict | None = None) -> str:
    """``ConvMixer-64/6 (k5, p4)``, ``ViT-64/6 (p4, 4 heads)``, ``ResNet32``."""
    a = full_arch(backbone, arch or {})
    if backbone == "convmixer":
        return f"ConvMixer-{a['dim']}/{a['depth']} (k{a['kernel_size']}, p{a['patch_size']})"
    if backbone == "vit":
        return f"ViT-{a['dim']}/{a['depth']} (p{a['patch_size']}, {a['heads']} heads)"
    return {"resnet32": "ResNet32", "resnet56": "ResNet56"}.get(backbone, backbone)


def dataset_label(name: str) -> str:
    return {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}.get(name, name)


def _pct(x, digits=1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"


def _pts(x, digits=1) -> str:
    return f"{100 * x:+.{digits}f} pts"


# --- loading ------------------------------------------------------------------------

def runs_root() -> Path:
    from .runs import runs_root as root
    return root()


BOOK_NOTEBOOKS_ENV = "PEMN_BOOK_NOTEBOOKS"


def _run_finished(run_dir: Path) -> bool:
    return (run_dir / "train.ipynb").is_file() and ((run_dir / "metrics.json").is_file()
                                                     or (run_dir / "error.json").is_file())


def notebook_in_book(run_dir: Path) -> bool:
    """Whether a run's executed notebook is part of the book.

    A notebook is shown once its run has finished (``metrics.json``) or failed
    (``error.json``); a run still executing is left out until then, so that
    the book never renders a notebook papermill is still writing. During a
    book build the decision is taken once, when the build starts (the book's
    Sphinx extension puts the list in ``PEMN_BOOK_NOTEBOOKS``), so that a run
    finishing mid-build is neither linked nor built.
    """
    listed = os.environ.get(BOOK_NOTEBOOKS_ENV)
    if listed is not None:
        try:
            rel = (Path(run_dir) / "train.ipynb").resolve().relative_to(REPO).as_posix()
        except ValueError:
            return False
        return rel in set(json.loads(listed))
    return _run_finished(Path(run_dir))


def book_notebooks(root: Path | None = None, srcdir: Path | None = None) -> tuple[list[str], list[str]]:
    """Run notebooks (paths relative to ``srcdir``) the book includes, and those it leaves out (runs executing)."""
    root = Path(root or runs_root())
    srcdir = Path(srcdir or REPO)
    keep, leave = [], []
    for nb in sorted(root.glob("*/*/train.ipynb")):
        try:
            rel = nb.resolve().relative_to(Path(srcdir).resolve()).as_posix()
        except ValueError:
            continue
        (keep if _run_finished(nb.parent) else leave).append(rel)
    return keep, leave


def _recipe(cfg: dict) -> tuple[float, float]:
    """The peak learning rate and weight decay the run used, TrainConfig's defaults where its config left them out."""
    from .train import TrainConfig, default_learning_rate
    lr = cfg.get("lr")
    return (default_learning_rate(cfg["strategy"]) if lr is None else lr,
            cfg.get("weight_decay", TrainConfig.weight_decay))


def _row(r: dict, run_dir: Path) -> dict:
    cfg = r["config"]
    st = r.get("storage", {})
    arch = full_arch(cfg["backbone"], cfg.get("arch") or {})
    row = {
        "run_id": r.get("run_id") or run_dir.name, "profile": r.get("profile"),
        "backbone": cfg["backbone"], "arch": arch_label(cfg["backbone"], arch),
        "arch_key": json.dumps(arch, sort_keys=True), "dim": arch.get("dim"), "depth": arch.get("depth"),
        "dataset": cfg["dataset"], "group": f"{arch_label(cfg['backbone'], arch)} / {dataset_label(cfg['dataset'])}",
        "strategy": cfg["strategy"], "ratio": cfg.get("ratio"), "target": cfg.get("compression"),
        "method": method_label(cfg), "family": method_family(cfg["strategy"]),
        "keep_ratio": cfg.get("keep_ratio"), "seed": cfg["seed"], "epochs": cfg["epochs"],
        **dict(zip(("lr", "weight_decay"), _recipe(cfg))),
        "subset": cfg.get("subset"), "train_size": r.get("train_size"), "test_size": r.get("test_size"),
        "final_acc": r["final_test_acc"], "best_acc": r["best_epoch_test_acc"], "best_epoch": r.get("best_epoch"),
        "unique_values": r.get("unique_values"), "kept_fraction": r.get("kept_fraction"),
        "headline_scheme": r.get("headline_scheme"), "compression": r.get("compression"),
        "wall_time_s": r.get("wall_time_s"), "device": r.get("device"),
        "data_kind": (r.get("data_source") or {}).get("kind"), "data_path": (r.get("data_source") or {}).get("path"),
        "data_sha256": (r.get("data_source") or {}).get("sha256"),
        "processor": (r.get("hardware") or {}).get("processor"), "cpu_count": (r.get("hardware") or {}).get("cpu_count"),
        "torch_threads": (r.get("hardware") or {}).get("torch_threads"), "gpu": (r.get("hardware") or {}).get("gpu"),
        "load_avg": (r.get("hardware") or {}).get("load_average_1min"),
        "torch": (r.get("versions") or {}).get("torch"), "python": (r.get("versions") or {}).get("python"),
        "git_commit": r.get("git_commit"), "figures": tuple(r.get("figures") or ()),
        "notebook": (run_dir / "train.ipynb").relative_to(REPO).as_posix()
        if (run_dir / "train.ipynb").is_file() and run_dir.is_relative_to(REPO) else None,
    }
    dense_w = (st.get("dense") or {}).get("weights")
    comp, comp_wo = {}, {}
    for scheme, terms in st.items():
        comp[scheme] = terms.get("compression")
        wo = terms.get("compression_weights_only")
        if wo is None and dense_w:
            wo = 1.0 - (terms["weights"] + terms["masks"]) / dense_w
        comp_wo[scheme] = wo
    if cfg["strategy"] == "dense":
        row.update(c_paper=0.0, c_wo_bitmap=0.0, c_all_csr=0.0, c_all_bitmap=0.0)
    elif cfg["strategy"] in PEMN_STRATEGIES:
        row.update(c_paper=comp_wo.get("pemn"), c_wo_bitmap=comp_wo.get("pemn"), c_all_csr=comp.get("pemn"),
                   c_all_bitmap=comp.get("pemn"))
    else:
        row.update(c_paper=comp_wo.get("csr"), c_wo_bitmap=comp_wo.get("bitmap"), c_all_csr=comp.get("csr"),
                   c_all_bitmap=comp.get("bitmap"))
    exp = r.get("export")
    if isinstance(exp, dict):
        row["export_encoding"] = exp.get("encoding")
        row["export_file_bytes"] = exp.get("file_bytes")
        row["export_formula_bytes"] = (exp.get("accounting_bytes") or {}).get("total")
        row["export_deviation"] = exp.get("deviation")
        row["export_within_tolerance"] = exp.get("within_tolerance")
        row["export_file_compression"] = exp.get("file_compression")
        row["export_verified"] = exp.get("verified")
    return row


def load(profile: str = "cpu") -> pd.DataFrame:
    """Every complete run of ``profile`` as one row (empty frame with the columns when there is none)."""
    root = runs_root() / profile
    rows = []
    for p in sorted(root.glob("*/metrics.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if r.get("status") == "complete":
            rows.append(_row(r, p.parent))
    cols = ["run_id", "profile", "backbone", "arch", "dataset", "group", "strategy", "ratio", "target", "method",
            "family", "seed", "epochs", "final_acc", "best_acc", "unique_values", "compression", "wall_time_s",
            "figures", "notebook"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def _grid(profile: str) -> dict:
    from .grids import PROFILES, grid
    return grid(profile) if profile in PROFILES else {}


def run_status(profile: str = "cpu") -> pd.DataFrame:
    """Every run of the profile's grid and every run folder present: complete, failed, running or not run."""
    root = runs_root() / profile
    grid_runs = _grid(profile)
    ids = list(grid_runs) + sorted(p.name for p in root.glob("*") if p.is_dir() and p.name not in grid_runs)
    rows = []
    for rid in ids:
        d = root / rid
        row = {"run_id": rid, "in_grid": rid in grid_runs,
               "figures": ", ".join(grid_runs[rid].figures) if rid in grid_runs else "", "status": "not run",
               "detail": "", "final_acc": None, "best_acc": None, "compression": None, "wall_time_s": None,
               "notebook": None}
        metrics, error = d / "metrics.json", d / "error.json"
        if metrics.is_file():
            try:
                r = json.loads(metrics.read_text())
                row.update(status="complete" if r.get("status") == "complete" else r.get("status", "?"),
                           final_acc=r.get("final_test_acc"), best_acc=r.get("best_epoch_test_acc"),
                           compression=_row(r, d).get("c_paper"), wall_time_s=r.get("wall_time_s"),
                           figures=", ".join(r.get("figures") or []) or row["figures"])
            except ValueError:
                row.update(status="unreadable", detail="metrics.json is not valid JSON")
        elif error.is_file():
            try:
                e = json.loads(error.read_text())
                lines = [x for x in str(e.get("error", "")).splitlines() if x.strip()]
                row.update(status="failed", detail=lines[-1][:200] if lines else "", wall_time_s=e.get("seconds"))
            except ValueError:
                row.update(status="failed", detail="error.json is not valid JSON")
        elif d.is_dir():
            row.update(status="running or interrupted",
                       detail="no metrics.json yet (training in progress, or stopped; it resumes from its checkpoint)")
        if notebook_in_book(d):
            row["notebook"] = (d / "train.ipynb").relative_to(REPO).as_posix() if d.is_relative_to(REPO) else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_id", "in_grid", "figures", "status", "detail", "final_acc", "best_acc",
                                       "compression", "wall_time_s", "notebook"])


def profiles_present() -> list[str]:
    """Profiles with a folder under runs/ (the grid profiles first)."""
    from .grids import PROFILES
    root = runs_root()
    present = sorted(p.name for p in root.glob("*") if p.is_dir()) if root.is_dir() else []
    return [p for p in PROFILES if p in present] + [p for p in present if p not in PROFILES]


ACCOUNT_COLUMNS = tuple(col for col, _ in ACCOUNTINGS.values())
ACCOUNTING_SHORT = ("paper", "bitmap", "paper, all params", "bitmap, all params")


def for_figure(df: pd.DataFrame, fig: str) -> pd.DataFrame:
    if df.empty:
        return df
    return df[df["figures"].apply(lambda f: fig in f)].copy()


def points(df: pd.DataFrame, value: str = "final_acc") -> pd.DataFrame:
    """Mean, spread and run ids per (group, method): one row per plotted point."""
    if df.empty:
        return pd.DataFrame(columns=["group", "backbone", "arch", "dataset", "method", "family", "strategy", "target",
                                     "mean", "std", "n", "seeds", "compression", *ACCOUNT_COLUMNS, "unique_values",
                                     "epochs", "runs"])
    d = df.copy()
    for c in ACCOUNT_COLUMNS:
        if c not in d:
            d[c] = float("nan")
    keys = ["group", "backbone", "arch", "dataset", "method", "family", "strategy"]
    g = d.groupby(keys, sort=False, dropna=False)
    out = g.agg(mean=(value, "mean"), std=(value, "std"), n=(value, "size"),
                seeds=("seed", lambda s: ", ".join(str(x) for x in sorted(s))),
                **{c: (c, "mean") for c in ACCOUNT_COLUMNS},
                unique_values=("unique_values", "first"), epochs=("epochs", "first"),
                runs=("run_id", lambda s: ", ".join(sorted(s))), target=("target", "first")).reset_index()
    out["std"] = out["std"].fillna(0.0)
    out["compression"] = out["c_paper"]  # the claims compare under the paper's accounting
    return out


# --- captions -----------------------------------------------------------------------

def _data_phrase(df: pd.DataFrame) -> str:
    if df.empty:
        return "no data"
    parts = []
    for (kind, sha), n in df.groupby(["data_kind", "data_sha256"], dropna=False).size().items():
        name = {"jpeg-mirror": "the offline JPEG mirror of CIFAR-10 (a lossy re-encoding; see Reproducibility)",
                "mirror": "the offline JPEG mirror of CIFAR-10 (a lossy re-encoding; see Reproducibility)",
                "official": "the official CIFAR files", "torchvision": "the official CIFAR files (torchvision)"
                }.get(kind, str(kind))
        parts.append(name + (f", sha256 {str(sha)[:12]}…" if isinstance(sha, str) and sha else ""))
    return "; ".join(parts)


def _epochs_phrase(df: pd.DataFrame) -> str:
    e = df.groupby("backbone")["epochs"].agg(lambda s: sorted(set(s)))
    if len({tuple(v) for v in e}) == 1:
        v = e.iloc[0]
        return f"{', '.join(map(str, v))} epoch{'s' if v != [1] else ''}"
    return "; ".join(f"{b}: {', '.join(map(str, v))} epochs" for b, v in e.items())


def _train_phrase(df: pd.DataFrame) -> str:
    sizes = sorted({int(x) for x in df["train_size"].dropna()}) if "train_size" in df else []
    tests = sorted({int(x) for x in df["test_size"].dropna()}) if "test_size" in df else []
    s = f"{'/'.join(f'{x:,}' for x in sizes)} training images" if sizes else ""
    if tests:
        s += f", {'/'.join(f'{x:,}' for x in tests)} test images"
    return s


def caption(df: pd.DataFrame, profile: str, what: str) -> str:
    """A figure caption: what it shows, then profile, epochs, seeds, data and the headline metric."""
    if df.empty:
        return f"{what} Profile `{profile}`: no runs."
    seeds = sorted({int(s) for s in df["seed"]})
    return (f"{what} Profile `{profile}`; {_epochs_phrase(df)}; seed{'s' if len(seeds) > 1 else ''} "
            f"{', '.join(map(str, seeds))} ({len(df)} runs); {_train_phrase(df)}; data: {_data_phrase(df)}. "
            f"Accuracy is the final-epoch test accuracy (the headline; not the best epoch).")


# --- display helpers -------------------------------------------------------------------

def setup_notebook() -> None:
    """Plot and table defaults for the book's notebooks."""
    import matplotlib as mpl
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.titlesize": 10,
                         "axes.grid": True, "grid.alpha": 0.3, "figure.max_open_warning": 0})
    pd.set_option("display.max_rows", 400)
    pd.set_option("display.max_colwidth", 200)
    pd.set_option("display.width", 200)


def _md(text: str):
    from IPython.display import Markdown, display
    display(Markdown(text))


def _show_fig(fig, text: str):
    import matplotlib.pyplot as plt
    from IPython.display import display
    display(fig)
    plt.close(fig)
    _md(f"*{text}*")


def _note_no_runs(profile: str, what: str, missing: list[str] | None = None):
    msg = f"**No runs yet.** {what} has no completed run of profile `{profile}`, so there is nothing to draw."
    if missing:
        msg += f" Missing: {', '.join(missing)}."
    msg += f" Run them with `make reproduce PROFILE={profile}`."
    _md(msg)


def _table_md(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False)


def show_table(df: pd.DataFrame, text: str | None = None):
    from IPython.display import display
    display(df)
    if text:
        _md(f"*{text}*")


# --- progress ----------------------------------------------------------------------

def progress_counts(profile: str = "cpu") -> dict:
    s = run_status(profile)
    s = s[s["in_grid"]] if s["in_grid"].any() else s
    return s["status"].value_counts().to_dict() | {"total": len(s)}


def show_progress(profile: str = "cpu"):
    """One sentence: how many runs of the profile are done, failed, running, missing."""
    c = progress_counts(profile)
    total = c.pop("total")
    order = ["complete", "failed", "running or interrupted", "not run"]
    parts = [f"{n} {k}" for k, n in sorted(c.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 9,
                                                                      kv[0]))]
    _md(f"Profile `{profile}`: {total} runs in the grid; " + (", ".join(parts) if parts else "none present") + ".")


# --- Fig. 3: representative capacity --------------------------------------------------

def _fig3_methods(profile: str, df: pd.DataFrame) -> dict[str, list[str]]:
    """Per Fig. 3 arch: the strategies on its axis (those of the grid, plus any with runs), in paper order."""
    want: dict[str, set] = {}
    for run in _grid(profile).values():
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


def fig3_points(profile: str = "cpu") -> pd.DataFrame:
    df = for_figure(load(profile), "fig3")
    p = points(df)
    if p.empty:
        return p
    p["order"] = p["method"].map({m: i for i, m in enumerate(FIG3_ORDER)})
    return p.sort_values(["arch", "order"]).drop(columns="order").reset_index(drop=True)


def _percent_axis(ax, axis="y"):
    from matplotlib.ticker import PercentFormatter
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def fig3_figure(profile: str = "cpu"):
    """Accuracy against strategy (dense, mask ... RP 1e-5), one panel per backbone with runs; None without runs."""
    import matplotlib.pyplot as plt
    df = for_figure(load(profile), "fig3")
    if df.empty:
        return None
    pts = points(df)
    axis_methods = _fig3_methods(profile, df)
    missing = _missing_fig3(profile, df)
    archs = sorted(set(pts["arch"]))
    fig, axes = plt.subplots(1, len(archs), figsize=(4.6 * len(archs), 3.6), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        methods = axis_methods[arch]
        xs = {m: i for i, m in enumerate(methods)}
        p = pts[pts["arch"] == arch]
        d = df[df["arch"] == arch]
        sp = p[p["method"] != "dense"].sort_values("method", key=lambda s: s.map(xs))
        if not sp.empty:
            ax.errorbar([xs[m] for m in sp["method"]], sp["mean"], yerr=sp["std"], marker="o", capsize=3,
                        color="C0", zorder=3, label="masks over fixed random values: mean ± std")
        ax.scatter([xs[m] for m in d["method"]], d["final_acc"], s=10, color="0.45", zorder=4, label="one seed")
        dense = p[p["method"] == "dense"]
        if not dense.empty:
            ax.axhline(dense["mean"].iloc[0], color="C3", ls="--", lw=1, label="dense (trained weights)")
            ax.errorbar([xs["dense"]], dense["mean"], yerr=dense["std"], marker="s", color="C3", capsize=3, zorder=3)
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels([m + ("\n(no run)" if m in missing.get(arch, []) else "") for m in methods],
                           rotation=45, ha="right", fontsize=8)
        for t, m in zip(ax.get_xticklabels(), methods):
            if m in missing.get(arch, []):
                t.set_color("0.55")
        ax.set_xlim(-0.5, len(methods) - 0.5)
        ax.axhline(0.1, color="0.6", lw=0.8, ls=":")
        ax.text(-0.45, 0.1, "chance (10 classes)", color="0.45", fontsize=7, ha="left", va="bottom")
        ax.set(title=arch, ylabel="final-epoch test accuracy")
        top = max(d["final_acc"].max(), p["mean"].max() + p["std"].max())
        ax.set_ylim(0.0, min(1.0, top + 0.18))  # room for the legend above the points
        _percent_axis(ax)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def show_fig3(profile: str = "cpu"):
    df = for_figure(load(profile), "fig3")
    if df.empty:
        return _note_no_runs(profile, "Figure 3 (accuracy against strategy)")
    fig = fig3_figure(profile)
    missing = {a: m for a, m in _missing_fig3(profile, df).items() if m}
    absent = [a for a in missing if a not in set(df["arch"])]
    text = caption(df, profile, "Accuracy against strategy (paper Fig. 3), CIFAR-10. Left to right the number of "
                                "unique random values falls; dense trains all weights (dashed line), every other "
                                "point trains only masks over fixed random values (keep ratio 0.5). Grey dots: "
                                "single seeds; bars: ±1 std over seeds.")
    _show_fig(fig, text)
    notes = []
    for a, m in missing.items():
        notes.append(f"{a}: {'no run at all yet (no panel drawn)' if a in absent else 'no run yet for ' + ', '.join(m)}")
    if notes:
        _md("**Points without runs** (marked *(no run)* on the axis): " + "; ".join(notes) + ".")


def fig3_table(profile: str = "cpu") -> pd.DataFrame:
    p = fig3_points(profile)
    if p.empty:
        return p
    out = p[["arch", "method", "unique_values", "n", "seeds", "mean", "std", "runs"]].copy()
    out["mean"] = (100 * out["mean"]).round(2)
    out["std"] = (100 * out["std"]).round(2)
    return out.rename(columns={"unique_values": "unique values", "n": "runs (n)", "mean": "accuracy % (mean)",
                               "std": "accuracy % (std)", "runs": "run ids"}).set_index(["arch", "method"])


def show_fig3_table(profile: str = "cpu"):
    t = fig3_table(profile)
    if t.empty:
        return _note_no_runs(profile, "The table of Figure 3's points")
    show_table(t, f"The numbers behind Figure 3 (profile `{profile}`), with the run ids that produced them.")


# --- the answer in one figure (introduction) --------------------------------------------

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
            _percent_axis(ax)
            ax.legend(fontsize=6, loc="best")
        else:
            _compression_axes(ax, p, "paper")
            ax.set_title("Storage against accuracy: PEMN vs sparse training")
            _compression_legend(ax, p)
    fig.tight_layout()
    return fig


def show_answer(profile: str = "cpu"):
    df = load(profile)
    fig = answer_figure(profile)
    if fig is None:
        return _note_no_runs(profile, "The summary figure (it needs at least one masked or compressed run)")
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
    _show_fig(fig, caption(used, profile, text))


# --- Fig. 4 / 5: the compression paradigm ----------------------------------------------

_MARKERS = {"PEMN": "*", "random pruning": "o", "magnitude pruning": "s"}
_LINESTYLES = {"PEMN": "-", "random pruning": ":", "magnitude pruning": "--"}


def _groups(p: pd.DataFrame) -> list[str]:
    return sorted(set(p["group"]))


def _compression_axes(ax, p: pd.DataFrame, accounting: str, groups: list[str] | None = None):
    xcol, title = ACCOUNTINGS[accounting]
    groups = groups or _groups(p)
    for i, g in enumerate(groups):
        q = p[p["group"] == g]
        d = q[q["family"] == "dense"]
        if not d.empty:
            ax.axhline(d["mean"].iloc[0], color=f"C{i}", lw=1.2, alpha=0.8)
        for fam in ("random pruning", "magnitude pruning", "PEMN"):
            s = q[q["family"] == fam].sort_values(xcol)
            if s.empty:
                continue
            ax.errorbar(100 * s[xcol], s["mean"], yerr=s["std"], marker=_MARKERS[fam], ls=_LINESTYLES[fam],
                        color=f"C{i}", capsize=2, ms=10 if fam == "PEMN" else 5)
            if fam == "PEMN":
                for _, r in s.iterrows():
                    ax.annotate(r["method"], (100 * r[xcol], r["mean"]), textcoords="offset points", xytext=(5, 4),
                                fontsize=6, color="0.3")
    ax.set(xlabel=f"compression ratio, % ({title})", ylabel="final-epoch test accuracy")
    _percent_axis(ax)


def _compression_legend(ax, p: pd.DataFrame, groups: list[str] | None = None):
    from matplotlib.lines import Line2D
    groups = groups or _groups(p)
    fams = [f for f in ("PEMN", "random pruning", "magnitude pruning") if (p["family"] == f).any()]
    handles = [Line2D([], [], color=f"C{i}", lw=2, label=g) for i, g in enumerate(groups)]
    handles += [Line2D([], [], color="0.3", marker=_MARKERS[f], ls=_LINESTYLES[f], label=f) for f in fams]
    if (p["family"] == "dense").any():
        handles.append(Line2D([], [], color="0.3", lw=1.2, label="dense (horizontal line)"))
    ax.legend(handles=handles, fontsize=6, loc="best")


def compression_runs(profile: str, figure: str) -> pd.DataFrame:
    return for_figure(load(profile), figure)


def _missing_compression(profile: str, figure: str, df: pd.DataFrame) -> list[str]:
    have = set(df["run_id"]) if not df.empty else set()
    status = run_status(profile).set_index("run_id")
    out = {}
    for rid, run in _grid(profile).items():
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
    import matplotlib.pyplot as plt
    df = compression_runs(profile, figure)
    if df.empty or (df["family"] == "dense").all():
        return None
    datasets = list(dict.fromkeys(df["dataset"]))
    fig, axes = plt.subplots(2 * len(datasets), 2, figsize=(10, 7.6 * len(datasets)), squeeze=False, sharey=True)
    for i, ds in enumerate(datasets):
        p = points(df[df["dataset"] == ds])
        groups = _groups(p)
        for ax, acc in zip(axes[2 * i:2 * i + 2].flat, ACCOUNTINGS):
            _compression_axes(ax, p, acc, groups)
            ax.set_title(f"{dataset_label(ds)}: {ACCOUNTINGS[acc][1]}")
        _compression_legend(axes[2 * i][0], p, groups)
    fig.tight_layout()
    return fig


def show_compression(profile: str = "cpu", figure: str = "fig4"):
    name = {"fig4": "Figure 4 (ResNets)", "fig5": "Figure 5 (ConvMixer)"}[figure]
    df = compression_runs(profile, figure)
    missing = _missing_compression(profile, figure, df)
    if df.empty:
        return _note_no_runs(profile, name, missing)
    if (df["family"] == "dense").all():
        dense = ", ".join(f"{g} {_pct(a)}" for g, a in points(df)[["group", "mean"]].itertuples(index=False))
        return _md(f"**No compressed run yet.** {name} has only its dense reference so far (profile `{profile}`: "
                   f"{dense}), so there is no accuracy-against-compression point to draw. Missing: "
                   + "; ".join(missing) + ".")
    pemn_pts = {"fig4": "MP, RP 1e-1, RP 1e-2", "fig5": "RP 1e-1, RP 1e-2, RP 1e-3"}[figure]
    text = caption(df, profile, f"Accuracy against compression ratio (paper {name}). Stars: PEMN ({pemn_pts}); "
                                f"circles: sparse training with random pruning; squares: gradual magnitude "
                                f"pruning; horizontal lines: dense, per backbone (colour). Top left: the paper's "
                                f"Eq. 10 (conv/linear weights only; a sparse model stores 2 indices per kept weight); "
                                f"the baselines' sparsity was set to hit 90-96 % under it. Top right: the same trained "
                                f"models with a 1-bit-per-weight bitmap for the positions, which moves the baselines "
                                f"right. Bottom: both again counting every stored parameter (normalisation, BatchNorm "
                                f"statistics, biases), which moves everyone left. PEMN's masks are bitmaps in every "
                                f"panel. Bars: ±1 std over seeds.")
    _show_fig(compression_figure(profile, figure), text)
    if missing:
        _md("**Points without a completed run:** " + "; ".join(missing) + ".")


def compression_table(profile: str = "cpu", figure: str = "fig4") -> pd.DataFrame:
    df = compression_runs(profile, figure)
    p = points(df)
    if p.empty:
        return p
    out = p[["group", "method", "n", "seeds", "mean", "std", *ACCOUNT_COLUMNS, "runs"]].copy()
    for c in ("mean", "std", *ACCOUNT_COLUMNS):
        out[c] = (100 * out[c]).round(2)
    out = out.sort_values(["group", "c_paper"]).rename(columns={
        "n": "runs (n)", "mean": "accuracy % (mean)", "std": "accuracy % (std)", "runs": "run ids",
        **{col: f"{short} %" for (col, _), short in zip(ACCOUNTINGS.values(), ACCOUNTING_SHORT)}})
    return out.set_index(["group", "method"])


def show_compression_table(profile: str = "cpu", figure: str = "fig4"):
    t = compression_table(profile, figure)
    if t.empty:
        return _note_no_runs(profile, f"The table of {'Figure 4' if figure == 'fig4' else 'Figure 5'}'s points")
    show_table(t, f"The numbers behind the figure above (profile `{profile}`): compression measured on each "
                  f"trained model under the four accountings (paper: Eq. 10, weights only, CSR positions; bitmap: "
                  f"the same with bitmap positions; all params: counting every stored float), accuracy over seeds, "
                  f"and the run ids.")


# --- storage cost (Eq. 10) computed by the library -------------------------------------

def _bits_kib(bits: float) -> float:
    return round(bits / 8 / 1024, 2)


@lru_cache(maxsize=None)
def _storage_rows(backbone: str, arch_json: str, dataset: str, pemn_points: tuple, targets: tuple) -> list[dict]:
    import torch
    from . import baselines
    from .storage import bits_from_counts, count
    from .strategies import is_masked
    from .train import TrainConfig, baseline_keep, make_model
    num_classes = 100 if dataset == "cifar100" else 10
    arch = json.loads(arch_json)
    rows = []

    def add(method, model, schemes, keep=None, note=""):
        c = count(model)
        for scheme in schemes:
            b = bits_from_counts(c, scheme, masked=is_masked(model))
            wo = b.get("compression_weights_only", 1.0 - (b["weights"] + b["masks"]) / (32 * c.weights))
            rows.append({"method": method, "accounting": scheme, "keep": keep if keep is not None else 1.0,
                         "values": b["weights"], "masks": b["masks"], "other": b["other"], "total": b["total"],
                         "compression_wo": wo, "compression": b["compression"], "note": note})

    torch.manual_seed(0)
    cfg = TrainConfig(backbone=backbone, arch=arch, dataset=dataset, strategy="dense")
    add("dense", make_model(cfg, num_classes), ("dense",))
    for strategy, ratio in pemn_points:
        cfg = TrainConfig(backbone=backbone, arch=arch, dataset=dataset, strategy=strategy, ratio=ratio)
        m = make_model(cfg, num_classes)
        label = method_label({"strategy": strategy, "ratio": ratio})
        add(label, m, ("pemn",), keep=cfg.keep_ratio)
        add(label + " (seed)", m, ("pemn_seed",), keep=cfg.keep_ratio)
    for target in targets:
        cfg = TrainConfig(backbone=backbone, arch=arch, dataset=dataset, strategy="random_sparse", compression=target)
        model = make_model(TrainConfig(backbone=backbone, arch=arch, dataset=dataset, strategy="dense"), num_classes)
        label = f"sparse {round(target * 100)}%"
        try:
            keep = baseline_keep(model, cfg)  # the training code's own rule for the kept fraction
        except ValueError as e:
            rows.append({"method": label, "accounting": "csr", "keep": float("nan"), "values": float("nan"),
                         "masks": float("nan"), "other": float("nan"), "total": float("nan"),
                         "compression_wo": float("nan"), "compression": float("nan"),
                         "note": "unreachable: " + str(e).split(" for this model")[0].replace("compression ", "")})
            continue
        baselines.prune_random(model, keep)
        add(label, model, ("csr", "bitmap"), keep=baselines.kept_fraction(model))
    return rows


STORAGE_TERMS = ("values", "masks", "other", "total", "Eq. 10 %", "all params %")
STORAGE_GROUPS = ("paper: CSR positions (KiB; %)", "bitmap positions (KiB; %)")


def storage_table(backbone: str, arch: dict | None = None, dataset: str = "cifar10", pemn_points=None,
                  targets=None) -> pd.DataFrame:
    """Eq. 10 for one backbone: every term in KiB, the paper's CSR accounting and the bitmap one side by side.

    Computed on freshly built models (no training): the sparse baselines keep
    the fraction that ``pemn.train.baseline_keep`` gives for each target (the
    paper's Eq. 10: conv/linear weights only, CSR positions); random and
    magnitude pruning keep the same number of weights, so they cost the same.
    PEMN keeps half of every layer (keep ratio 0.5). ``(seed)`` rows store a
    64-bit PRNG seed instead of the random values. Two ratios per accounting:
    the paper's (weights and positions against the dense weights) and one
    counting every stored parameter.
    """
    from .grids import COMPRESSIONS
    pemn_points = tuple(pemn_points or (("mp", None), ("rp", 0.1), ("rp", 0.01)))
    targets = tuple(targets or COMPRESSIONS)
    rows = pd.DataFrame(_storage_rows(backbone, json.dumps(arch or {}, sort_keys=True), dataset, pemn_points, targets))
    out = []
    for method, g in rows.groupby("method", sort=False):
        first = g.iloc[0]
        rec = {("", "kept fraction"): round(first["keep"], 4) if not math.isnan(first["keep"]) else None}
        for acc_name, schemes in ((STORAGE_GROUPS[0], ("csr", "dense", "pemn", "pemn_seed")),
                                  (STORAGE_GROUPS[1], ("bitmap", "dense", "pemn", "pemn_seed"))):
            sel = g[g["accounting"].isin(schemes)]
            r = sel.iloc[0] if not sel.empty else None
            ok = r is not None and not math.isnan(r["total"])
            for term, key in zip(STORAGE_TERMS, ("values", "masks", "other", "total", "compression_wo",
                                                 "compression")):
                if not ok:
                    rec[(acc_name, term)] = None
                elif "%" in term:
                    rec[(acc_name, term)] = round(100 * r[key], 2)
                else:
                    rec[(acc_name, term)] = _bits_kib(r[key])
        rec[("", "note")] = first["note"]
        out.append(pd.Series(rec, name=method))
    t = pd.DataFrame(out)
    t.index.name = "method"
    t.columns = pd.MultiIndex.from_tuples(t.columns)
    return t


def storage_backbones(profile: str, figure: str) -> list[tuple[str, dict, str, tuple]]:
    from .grids import get_profile
    p = get_profile(profile)
    if figure == "fig4":
        return [(b, {}, ds, tuple(p.fig4_pemn)) for b, ds in p.fig4]
    return [("convmixer", dict(a), "cifar10", tuple(p.fig5_pemn)) for a in p.fig5]


def show_storage_tables(profile: str = "cpu", figure: str = "fig4"):
    """One Eq. 10 table per backbone of the figure (computed by the library, deterministic)."""
    from IPython.display import display
    from .grids import get_profile
    targets = tuple(get_profile(profile).compressions)
    for backbone, arch, ds, pts in storage_backbones(profile, figure):
        t = storage_table(backbone, arch, ds, pts, targets)
        dense_kib = t.loc["dense", (STORAGE_GROUPS[0], "total")]
        _md(f"**{arch_label(backbone, arch)} / {dataset_label(ds)}** (profile `{profile}`; dense model "
            f"{dense_kib:,.2f} KiB)")
        display(t)
    _md("*Storage cost of each configuration in KiB (1 KiB = 8,192 bits), computed by `pemn.storage` on freshly "
        "built models of the profile's architectures; \"sparse 90%\" is a sparse baseline (random or magnitude pruning: "
        "both keep the same number of weights) at a 90 % target. values (C_w): 32-bit stored weights (PEMN: its unique random "
        "values, or a 64-bit seed in the (seed) rows; baselines: the kept weights); masks (C_m): PEMN's 1-bit mask "
        "per weight, or the baselines' positions, as 2 × 32-bit CSR indices per kept weight (the paper) or as a "
        "1-bit bitmap; other: every other stored float (normalisation affine parameters and BatchNorm running "
        "statistics, biases, ViT embeddings), 32-bit. Eq. 10 % is the paper's compression ratio, 1 − (C_w + C_m) / "
        "(32 × weights): it leaves the other floats out on both sides; all params % counts them. Baselines keep "
        "the fraction that reaches each target under the paper's ratio; the bitmap columns price the same sparse "
        "model with a bitmap. PEMN rows are the same under both (its mask is a bitmap).*")


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
                                     for s, r in zip(g["strategy"], g["ratio"]) if s in PEMN_STRATEGIES}, key=str))
            targets = tuple(sorted({t for t in g["target"].dropna()}))
            t = storage_table(backbone, arch, ds, pemn_pts or None, targets or None)
            for _, r in g.drop_duplicates("run_id").iterrows():
                if r["family"] == "dense":
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
        return _md(f"No completed Fig. 4/5 run of profile `{profile}` yet to check against the table.")
    bad = c[~c["agree"]]
    if bad.empty:
        _md(f"Check: the compression stored in each of the {len(c)} completed Fig. 4/5 runs of profile "
            f"`{profile}` (both ratios) equals the table's value for its configuration (within 0.02 points).")
    else:
        _md(f"**{len(bad)} of {len(c)} runs disagree with the table** (runs trained by an older version of the "
            f"code, whose baseline sparsity was set under another accounting, show up here):")
        from IPython.display import display
        display(bad)


EXPORT_COLUMNS = {"export_encoding": "encoding", "export_file_bytes": "file bytes",
                  "export_formula_bytes": "formula bytes", "export_deviation": "file data vs formula",
                  "export_file_compression": "compression % (file, with header)",
                  "export_verified": "reloads identically"}


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
    t = export_table(profile)
    if t.empty:
        return _md(f"No run of profile `{profile}` records a compact export (`model.pemn`) yet, so measured file "
                   f"sizes cannot be compared with the formula here.")
    show_table(t, f"Compact exports (`model.pemn`, written by `pemn.export` after training) recorded in each run's "
                  f"metrics.json (profile `{profile}`): the file's size against the storage formula (all stored "
                  f"parameters; the file's data part is compared, its header is extra), the compression the whole "
                  f"file achieves against the dense float32 model, and whether it loads back into a model with "
                  f"identical test accuracy. A masked network that keeps every random value (mask) is larger than "
                  f"the dense model: it stores the values and the masks.")


# --- unique values and the plan picture (method chapter) ---------------------------------

UNIQUE_STRATEGIES = (("mask", None), ("one_layer", None), ("mp", None), ("rp", 1e-1), ("rp", 1e-2), ("rp", 1e-3),
                     ("rp", 1e-4), ("rp", 1e-5))


def profile_backbones(profile: str) -> list[tuple[str, dict]]:
    """The distinct (backbone, arch) pairs a profile trains, in figure order."""
    from .grids import get_profile
    p = get_profile(profile)
    seen, out = set(), []
    for b, a in list(p.fig3) + [("convmixer", a) for a in p.fig5] + [(b, {}) for b, _ in p.fig4]:
        key = (b, json.dumps(a, sort_keys=True))
        if key not in seen:
            seen.add(key)
            out.append((b, dict(a)))
    return out


def unique_values_table(profile: str = "cpu") -> pd.DataFrame:
    """Unique random values per backbone and strategy, from ``pemn.strategies.make_plan`` on the real models."""
    import torch
    from .backbones import build_model
    from .strategies import make_plan
    rows = []
    for backbone, arch in profile_backbones(profile):
        with torch.device("meta"):
            model = build_model(backbone, masked=True, **arch)
        plans = {method_label({"strategy": s, "ratio": r}): make_plan(model, s, r) for s, r in UNIQUE_STRATEGIES}
        weights = plans["mask"].unique_values
        row = {"backbone": arch_label(backbone, arch), "masked layers": len(plans["mask"].layers),
               "weights (dense)": weights}
        for label, plan in plans.items():
            row[label] = plan.unique_values
        row["one-layer prototypes"] = len(plans["one-layer"].prototypes)
        rows.append(row)
    return pd.DataFrame(rows).set_index("backbone")


def _layer_kind(shape) -> str:
    if len(shape) == 2:
        return "linear"
    if shape[2:] == (1, 1):
        return "1×1 conv"
    return "depthwise conv" if shape[1] == 1 else "conv"


def show_unique_values(profile: str = "cpu"):
    """The unique-values table with thousands separators (the numbers are ``unique_values_table``'s)."""
    from IPython.display import display
    t = unique_values_table(profile)
    display(t.map(lambda v: f"{v:,}"))


def plan_figure(backbone: str = "convmixer", arch: dict | None = None,
                strategies=(("one_layer", None), ("mp", None), ("rp", 0.1))):
    """How the prototypes fill every layer: one row per layer, colour = which stored value a weight reads.

    Built from ``make_plan`` on the real model. Each row is a layer's
    flattened weight (length d_l, drawn to scale on a common axis up to the
    largest layer d_max). Colour encodes the position inside the prototype
    the weight copies: MP's rows are prefixes of one gradient, RP's rows
    repeat a short gradient, one-layer's rows with the same colour family
    share a prototype.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from matplotlib import colormaps
    from .backbones import build_model
    from .strategies import make_plan
    arch = arch if arch is not None else {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
    with torch.device("meta"):
        model = build_model(backbone, masked=True, **arch)
    plans = [make_plan(model, s, r) for s, r in strategies]
    layers = plans[0].layers
    d_max = max(lp.numel for lp in layers)
    width = 800
    cmaps = ["Blues", "Oranges", "Greens", "Purples", "Reds", "Greys", "YlOrBr", "BuGn", "RdPu", "PuBu"]
    fig, axes = plt.subplots(1, len(plans), figsize=(4.6 * len(plans), 0.32 * (len(layers) + 2) + 1.6))
    axes = np.atleast_1d(axes)
    for ax, plan in zip(axes, plans):
        img = np.ones((len(layers) + 2, width, 4))
        pos = (np.arange(width) + 0.5) * d_max / width
        # top row: the stored values (prototype 0 for MP/RP; all prototypes side by side for one-layer)
        if plan.strategy == "one_layer":
            total = sum(p.numel for p in plan.prototypes)
            start = 0
            for k, proto in enumerate(plan.prototypes):
                a, b = int(width * start / total), int(width * (start + proto.numel) / total)
                cm = colormaps[cmaps[k % len(cmaps)]]
                img[0, a:b] = cm(np.linspace(0.35, 0.95, max(b - a, 1)))
                start += proto.numel
        else:
            n = plan.prototypes[0].numel
            cm = colormaps["viridis"]
            img[0] = np.where((pos < n)[:, None], cm(np.clip(pos / n, 0, 1)), 1.0)
        for i, lp in enumerate(plan.layers):
            proto = plan.prototypes[lp.prototype]
            inside = pos < lp.numel
            idx = pos % proto.numel if lp.mode == "tile" else pos
            if plan.strategy == "one_layer":
                cm = colormaps[cmaps[lp.prototype % len(cmaps)]]
                col = cm(0.35 + 0.6 * np.clip(idx / proto.numel, 0, 1))
            else:
                col = colormaps["viridis"](np.clip(idx / proto.numel, 0, 1))
            img[i + 2] = np.where(inside[:, None], col, 1.0)
        ax.imshow(img, aspect="auto", interpolation="nearest", extent=(0, d_max, len(layers) + 1.5, -0.5))
        ax.set_yticks([0] + [i + 2 for i in range(len(layers))])
        if ax is axes[0]:
            ax.set_yticklabels(["stored values"] + [f"L{i + 1} {_layer_kind(lp.shape)} {'×'.join(map(str, lp.shape))}"
                                                     for i, lp in enumerate(layers)], fontsize=7)
        else:
            ax.set_yticklabels([])
        name = {"one_layer": "one-layer", "mp": "MP"}.get(plan.strategy, plan.strategy.upper())
        if plan.strategy == "rp":
            name += f" {_short(strategies[list(axes).index(ax)][1])}"
        if plan.strategy == "one_layer":
            name += f" ({len(plan.prototypes)} prototypes)"
        ax.set_title(f"{name}: {plan.unique_values:,} unique values", fontsize=9)
        ax.set_xlabel("position in the flattened weight")
        ax.grid(False)
    fig.tight_layout()
    return fig


def show_plan_figure(backbone: str = "convmixer", arch: dict | None = None):
    from .grids import get_profile
    if arch is None:
        arch = dict(get_profile("cpu").fig3[0][1])
    fig = plan_figure(backbone, arch)
    _show_fig(fig, f"How the stored random values fill the layers of {arch_label(backbone, arch)}, the `cpu` "
                   f"profile's ConvMixer, from `pemn.strategies.make_plan` on the real model (no training involved). "
                   f"Each row is one masked layer's flattened weight, drawn to scale; colour says which stored value "
                   f"a weight copies (light → dark along a prototype); the top row is what is stored (for one-layer, "
                   f"all its prototypes squeezed to the common width). One-layer: one prototype per distinct shape "
                   f"(one colour family each), reused by every later layer of that shape. MP: every layer is a prefix "
                   f"of the largest layer. RP 1e-1: a short vector repeated until each layer is full. The masks "
                   f"(not drawn) are learned separately for every layer.")


# --- claims check -------------------------------------------------------------------

def _acc(p: pd.DataFrame, group: str, method: str):
    q = p[(p["group"] == group) & (p["method"] == method)]
    return None if q.empty else q.iloc[0]


def _fmt_pt(r) -> str:
    return f"{r['method']} {_pct(r['mean'])}"


def _spearman(x, y) -> float:
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


NOT_TESTED = "not tested at this scale"


def _claim_42_1(p):
    ev, ok, tested = [], True, False
    for g in p["group"].unique():
        d, m = _acc(p, g, "dense"), _acc(p, g, "mask")
        if d is None or m is None:
            continue
        tested = True
        rel = m["mean"] / d["mean"] if d["mean"] else float("nan")
        ok &= rel >= PROMISING
        ev.append(f"{g}: mask {_pct(m['mean'])} vs dense {_pct(d['mean'])} ({100 * rel:.0f}% of dense, "
                  f"drop {100 * (d['mean'] - m['mean']):.1f} pts)")
    return (("held" if ok else "not held") if tested else NOT_TESTED), "; ".join(ev) or "needs dense and mask runs"


def _claim_42_2(p):
    ev, ok, tested = [], True, False
    for g in p["group"].unique():
        q = p[(p["group"] == g) & p["method"].isin(SPARSE_ORDER)]
        if len(q) < 4:
            continue
        tested = True
        order = q["method"].map({m: i for i, m in enumerate(SPARSE_ORDER)})
        rho = _spearman(order, q["mean"])
        ok &= rho <= RANK_CORR
        first, last = q.loc[order.idxmin()], q.loc[order.idxmax()]
        ev.append(f"{g}: Spearman ρ = {rho:.2f} over {len(q)} strategies ({_fmt_pt(first)} → {_fmt_pt(last)})")
    return (("held" if ok else "not held") if tested else NOT_TESTED), "; ".join(ev) or "needs ≥ 4 masked strategies"


def _claim_42_3(p):
    ev, ok, tested = [], True, False
    for g in p["group"].unique():
        m = _acc(p, g, "mask")
        stable = p[(p["group"] == g) & p["method"].isin(STABLE_SET)]
        extreme = p[(p["group"] == g) & p["method"].isin(EXTREME_SET)]
        if m is None or len(stable) < 2 or extreme.empty:
            continue
        tested = True
        worst = stable.loc[stable["mean"].idxmin()]
        is_stable = m["mean"] - worst["mean"] <= STABLE_TOL
        drop = extreme["mean"].mean() < stable["mean"].min() - EXTREME_DROP
        ok &= bool(is_stable and drop)
        ev.append(f"{g}: stable {'yes' if is_stable else 'no'} (worst of one-layer…RP 1e-3: {_fmt_pt(worst)}, "
                  f"mask {_pct(m['mean'])}); drop at RP 1e-4/1e-5 {'yes' if drop else 'no'} "
                  f"(their mean {_pct(extreme['mean'].mean())} vs lowest stable {_pct(stable['mean'].min())})")
    return (("held" if ok else "not held") if tested else NOT_TESTED), \
        "; ".join(ev) or "needs mask, ≥ 2 of one-layer…RP 1e-3 and RP 1e-4 or 1e-5"


def _size(arch_key: str) -> tuple:
    a = json.loads(arch_key)
    return (a.get("depth") or 0) * (a.get("dim") or 0), a.get("depth") or 0, a.get("dim") or 0


def _claim_42_4(df):
    """Larger depth/width: higher accuracy and a smaller drop from dense (Fig. 3 and Fig. 5 runs)."""
    d = df[df["family"].isin(["dense", "PEMN"])]
    ev, ok, tested = [], True, False
    for backbone, g in d.groupby("backbone"):
        archs = sorted(g["arch_key"].unique(), key=_size)
        if len(archs) < 2:
            continue
        small, large = archs[0], archs[-1]
        ps, pl = points(g[g["arch_key"] == small]), points(g[g["arch_key"] == large])
        common = sorted((set(ps["method"]) & set(pl["method"])) - {"dense"})
        if "dense" not in set(ps["method"]) or "dense" not in set(pl["method"]) or not common:
            continue
        tested = True
        dens = [q[q["method"] == "dense"]["mean"].iloc[0] for q in (ps, pl)]
        masked = [q[q["method"].isin(common)]["mean"].mean() for q in (ps, pl)]
        gaps = [dn - mk for dn, mk in zip(dens, masked)]
        better = masked[1] > masked[0] and dens[1] > dens[0]
        closer = gaps[1] < gaps[0]
        ok &= bool(better and closer)
        a0, a1 = json.loads(small), json.loads(large)
        varied = [k for k in ("depth", "dim") if a0.get(k) != a1.get(k)]
        ev.append(f"{backbone} {arch_label(backbone, a0)} → {arch_label(backbone, a1)} (varies {', '.join(varied)}"
                  f"; only these sizes exist at this scale): dense {_pct(dens[0])} → {_pct(dens[1])}, masked "
                  f"({', '.join(common)}) {_pct(masked[0])} → {_pct(masked[1])}, gap to dense "
                  f"{100 * gaps[0]:.1f} → {100 * gaps[1]:.1f} pts")
    return (("held" if ok else "not held") if tested else NOT_TESTED), \
        "; ".join(ev) or "needs two sizes of one backbone with dense and masked runs (the paper: width 256/512, depth 6/8)"


def _claim_42_vit(df):
    p = points(df, "final_acc")
    stats = {}
    for backbone in ("convmixer", "vit"):
        q = p[(p["backbone"] == backbone) & p["method"].isin(SPARSE_ORDER)]
        if len(q) < 4:
            continue
        q = q.assign(order=q["method"].map({m: i for i, m in enumerate(SPARSE_ORDER)}))
        rises = 0.0
        for _, s in q.groupby("group"):
            s = s.sort_values("order")
            rises += s["mean"].diff().clip(lower=0).sum()
        stats[backbone] = (q["std"].mean(), rises)
    if len(stats) < 2:
        return NOT_TESTED, "needs ConvMixer and ViT runs across the strategies"
    (cs, cr), (vs, vr) = stats["convmixer"], stats["vit"]
    multi_seed = bool((p[p["method"].isin(SPARSE_ORDER)]["n"] >= 2).all())
    held = (vs > cs or not multi_seed) and vr > cr
    spread = (f"mean seed std over strategies: ViT {100 * vs:.2f} vs ConvMixer {100 * cs:.2f} pts; " if multi_seed
              else "one seed per point, so no seed spread (only the rise is compared); ")
    return ("held" if held else "not held"), (spread + f"total rise left→right (non-monotonicity): ViT "
                                              f"{100 * vr:.2f} vs ConvMixer {100 * cr:.2f} pts")


def _beats(pemn_pts, base_pts, need_higher_comp: bool, margin: bool, comp_col="compression"):
    """Compare every PEMN point with the baseline points (at ≤ its compression when ``need_higher_comp``)."""
    wins, losses, pairs = [], [], 0
    for _, a in pemn_pts.iterrows():
        rivals = base_pts[base_pts[comp_col] <= a[comp_col] + 1e-9] if need_higher_comp else base_pts
        for _, b in rivals.iterrows():
            pairs += 1
            need = max(MARGIN, a["std"] + b["std"]) if margin else 0.0
            (wins if a["mean"] - b["mean"] > need else losses).append((a, b))
    return wins, losses, pairs


def _pair_text(a, b, comp_col="compression") -> str:
    return (f"{a['method']} {_pct(a['mean'])}@{_pct(a[comp_col])} vs {b['method']} {_pct(b['mean'])}@"
            f"{_pct(b[comp_col])}")


def _claim_outperform(p, need_higher_comp, margin, groups=None):
    ev, ok, tested = [], True, False
    for g in (groups or p["group"].unique()):
        q = p[p["group"] == g]
        pemn_pts, base = q[q["family"] == "PEMN"], q[q["family"].isin(list(BASELINE_LABEL.values()))]
        if pemn_pts.empty or base.empty:
            continue
        wins, losses, pairs = _beats(pemn_pts, base, need_higher_comp, margin)
        if not pairs:
            ev.append(f"{g}: no baseline point at or below PEMN's compression "
                      f"(PEMN {', '.join(_pct(x) for x in pemn_pts['compression'])}; baselines "
                      f"{', '.join(_pct(x) for x in sorted(base['compression']))})")
            continue
        tested = True
        ok &= not losses
        txt = f"{g}: PEMN ahead in {len(wins)}/{pairs} comparisons"
        if losses:
            a, b = min(losses, key=lambda ab: ab[0]["mean"] - ab[1]["mean"])
            txt += f"; worst: {_pair_text(a, b)}"
        else:
            a, b = min(wins, key=lambda ab: ab[0]["mean"] - ab[1]["mean"])
            txt += f"; closest: {_pair_text(a, b)}"
        ev.append(txt)
    return (("held" if ok else "not held") if tested else NOT_TESTED), "; ".join(ev) or "needs PEMN and baseline runs"


def _slope(s: pd.DataFrame) -> float:
    import numpy as np
    if len(s) < 2 or s["compression"].nunique() < 2:
        return float("nan")
    return float(np.polyfit(100 * s["compression"], 100 * s["mean"], 1)[0])


def _claim_robust(p):
    ev, ok, tested = [], True, False
    for g in p["group"].unique():
        q = p[p["group"] == g]
        sp = _slope(q[q["family"] == "PEMN"])
        sb = {fam: _slope(q[q["family"] == fam]) for fam in BASELINE_LABEL.values()}
        sb = {k: v for k, v in sb.items() if not math.isnan(v)}
        if math.isnan(sp) or not sb:
            continue
        tested = True
        ok &= all(v < 0 and abs(sp) < abs(v) for v in sb.values())
        ev.append(f"{g}: accuracy change per compression point: PEMN {sp:+.2f}, "
                  + ", ".join(f"{k} {v:+.2f}" for k, v in sb.items()) + " pts/pt")
    return (("held" if ok else "not held") if tested else NOT_TESTED), \
        "; ".join(ev) or "needs ≥ 2 compression points per method"


def _claim_small_beats_large(p):
    ev, ok, tested = [], True, False
    for ds, q in p.groupby("dataset"):
        small = q[(q["backbone"] == "resnet32") & (q["family"] == "PEMN")]
        large = q[(q["backbone"] == "resnet56") & q["family"].isin(list(BASELINE_LABEL.values()))]
        if small.empty or large.empty:
            continue
        wins, losses, pairs = _beats(small, large, True, False)
        if not pairs:
            continue
        tested = True
        ok &= not losses
        ev.append(f"{dataset_label(ds)}: ResNet32 PEMN ahead of ResNet56 baselines in {len(wins)}/{pairs} comparisons "
                  f"at ≤ its compression" + (f"; worst: ResNet32 {_pair_text(*min(losses, key=lambda ab: ab[0]['mean'] - ab[1]['mean']))} (ResNet56)"
                                            if losses else ""))
    return (("held" if ok else "not held") if tested else NOT_TESTED), \
        "; ".join(ev) or "needs ResNet32 PEMN and ResNet56 baseline runs"


def _claim_scale_gap(p):
    ev, ok, tested = [], True, False
    for ds, q in p.groupby("dataset"):
        gaps = {}
        for b in ("resnet32", "resnet56"):
            d = q[(q["backbone"] == b) & (q["family"] == "dense")]
            m = q[(q["backbone"] == b) & (q["family"] == "PEMN")]
            if not d.empty and not m.empty:
                gaps[b] = d["mean"].iloc[0] - m["mean"].mean()
        if len(gaps) < 2:
            continue
        tested = True
        ok &= gaps["resnet56"] < gaps["resnet32"]
        ev.append(f"{dataset_label(ds)}: dense − mean PEMN gap ResNet32 {100 * gaps['resnet32']:.1f} pts, ResNet56 "
                  f"{100 * gaps['resnet56']:.1f} pts")
    return (("held" if ok else "not held") if tested else NOT_TESTED), \
        "; ".join(ev) or "needs dense and PEMN runs of ResNet32 and ResNet56"


def _claim_smaller_and_better(p):
    ev, ok, tested = [], True, False
    for g in p["group"].unique():
        q = p[p["group"] == g]
        pemn_pts, base = q[q["family"] == "PEMN"], q[q["family"].isin(list(BASELINE_LABEL.values()))]
        if pemn_pts.empty or base.empty:
            continue
        tested = True
        top_c, top_a = base["compression"].max(), base["mean"].max()
        hit = pemn_pts[(pemn_pts["compression"] >= top_c) & (pemn_pts["mean"] > top_a)]
        ok &= not hit.empty
        best = pemn_pts.loc[pemn_pts["compression"].idxmax()]
        ev.append(f"{g}: most compressed PEMN {_fmt_pt(best)}@{_pct(best['compression'])}; baselines reach at most "
                  f"{_pct(top_c)} compression and {_pct(top_a)} accuracy")
    return (("held" if ok else "not held") if tested else NOT_TESTED), "; ".join(ev) or "needs PEMN and baseline runs"


CLAIMS = (
    ("4.2 (1)", "Compared with the dense model, sparse selection (mask) obtains promising results, with a "
                "performance drop from fixing the weights.",
     f"mask reaches ≥ {PROMISING:.0%} of dense accuracy on every Fig. 3 backbone"),
    ("4.2 (2)", "From left to right (fewer unique values) performance gradually drops.",
     f"Spearman correlation of accuracy with position mask → RP 1e-5 ≤ {RANK_CORR} on every backbone"),
    ("4.2 (3)", "A drop appears only with extremely few unique values (RP 1e-4, 1e-5); results stay stable for "
                "most strategies.",
     f"one-layer … RP 1e-3 all within {100 * STABLE_TOL:.0f} pts of mask, and RP 1e-4/1e-5 (mean) more than "
     f"{100 * EXTREME_DROP:.0f} pt below the lowest of them"),
    ("4.2 (4)", "Larger depth and hidden dimension boost capacity; the drop of random-weight strategies from "
                "their dense counterpart decreases.",
     "for each backbone with two sizes: the larger has higher dense and masked accuracy and a smaller gap to dense"),
    ("4.2 (remark)", "ViT fluctuates more than ConvMixer when unique values are few.",
     "ViT has both a larger mean seed spread and a larger total non-monotonic rise along the strategy axis"),
    ("4.3 Fig. 4 (1)", "PEMN outperforms the baselines by a significant margin, with even higher compression.",
     f"every PEMN point beats every baseline point of lower or equal compression (paper's accounting) by more "
     f"than {100 * MARGIN:.0f} pt and the two seeds' spreads"),
    ("4.3 Fig. 4 (2)", "Baselines degrade clearly as compression rises; PEMN is relatively robust to it.",
     "least-squares slope of accuracy against compression: baselines negative, PEMN's smaller in magnitude"),
    ("4.3 Fig. 4 (3)", "Compressed small models (PEMN) beat baselines using the larger model.",
     "every ResNet32 PEMN point beats every ResNet56 baseline point of lower or equal compression"),
    ("4.3 Fig. 4 (4)", "ResNet56 (more parameters) loses less against its dense counterpart than ResNet32.",
     "dense − mean PEMN accuracy is smaller for ResNet56 than for ResNet32"),
    ("4.3 Fig. 5 (1)", "PEMN outperforms the baselines on ConvMixer of both depths.",
     "every PEMN point beats every baseline point (any compression), per depth"),
    ("4.3 Fig. 5 (2)", "PEMN compresses to a lower size yet keeps higher accuracy.",
     "some PEMN point has compression ≥ the baselines' highest and accuracy > the baselines' best"),
)


def _near_chance(p: pd.DataFrame) -> str | None:
    """Why a figure's runs cannot test anything: every point within 2x chance accuracy (None when they can)."""
    if p.empty:
        return None
    chance = p["dataset"].map({"cifar100": 0.01}).fillna(0.1)
    if (p["mean"] < 2 * chance).all():
        return (f"every run is near chance (best {_pct(p['mean'].max())}, chance {_pct(chance.max(), 0)}): "
                f"a plumbing-scale profile cannot test this")
    return None


def claims(profile: str = "cpu") -> pd.DataFrame:
    """One row per numbered conclusion of Sec. 4.2 and 4.3: verdict and evidence computed from the runs.

    A figure whose runs are all near chance (the ``smoke`` profile) tests nothing: its claims are reported as
    not tested, with that reason.
    """
    df = load(profile)
    f3, f4, f5 = (for_figure(df, f) for f in ("fig3", "fig4", "fig5"))
    p3, p4, p5 = points(f3), points(f4), points(f5)
    size_runs = pd.concat([f3, f5]).drop_duplicates("run_id") if not df.empty else df
    why = {k: _near_chance(p) for k, p in (("fig3", p3), ("fig4", p4), ("fig5", p5))}
    if why["fig3"]:
        p3, f3 = p3.iloc[0:0], f3.iloc[0:0]
    if why["fig4"]:
        p4 = p4.iloc[0:0]
    if why["fig5"]:
        p5 = p5.iloc[0:0]
    if why["fig3"] or why["fig5"]:
        size_runs = size_runs.iloc[0:0]
    nf3, nf4, nf5 = (f"no usable Fig. {n} runs: {why['fig' + n]}" if why["fig" + n]
                     else f"no completed Fig. {n} run yet" for n in ("3", "4", "5"))
    results = [
        _claim_42_1(p3) if not p3.empty else (NOT_TESTED, nf3),
        _claim_42_2(p3) if not p3.empty else (NOT_TESTED, nf3),
        _claim_42_3(p3) if not p3.empty else (NOT_TESTED, nf3),
        _claim_42_4(size_runs) if not size_runs.empty else (NOT_TESTED, nf3 if why["fig3"] else nf5),
        _claim_42_vit(f3) if not f3.empty else (NOT_TESTED, nf3),
        _claim_outperform(p4, True, True) if not p4.empty else (NOT_TESTED, nf4),
        _claim_robust(p4) if not p4.empty else (NOT_TESTED, nf4),
        _claim_small_beats_large(p4) if not p4.empty else (NOT_TESTED, nf4),
        _claim_scale_gap(p4) if not p4.empty else (NOT_TESTED, nf4),
        _claim_outperform(p5, False, False) if not p5.empty else (NOT_TESTED, nf5),
        _claim_smaller_and_better(p5) if not p5.empty else (NOT_TESTED, nf5),
    ]
    rows = [{"claim": c[0], "the paper says": c[1], "our test": c[2], "verdict": v, "evidence (our runs)": e}
            for c, (v, e) in zip(CLAIMS, results)]
    return pd.DataFrame(rows)


def show_claims(profile: str = "cpu"):
    t = claims(profile)
    counts = t["verdict"].value_counts().to_dict()
    shown = t.assign(verdict=t["verdict"].map(lambda v: f"**{v}**"), claim=t["claim"].map(lambda c: f"**{c}**"))
    _md(_table_md(shown))
    df = load(profile)
    used = df if df.empty else pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5")]).drop_duplicates(
        "run_id")
    _md("*" + caption(used, profile, f"Claims check ({', '.join(f'{n} {k}' for k, n in counts.items())}). "
                                    f"Each verdict is computed from the runs by `pemn.report.claims`; points are "
                                    f"means over seeds, accuracies are final-epoch test accuracies, compression "
                                    f"uses the paper's accounting.") + "*")


# --- reproducibility -------------------------------------------------------------------

def profiles_table() -> pd.DataFrame:
    from .grids import PROFILES, get_profile, grid
    rows = []
    for name in PROFILES:
        p = get_profile(name)
        runs = grid(name)
        epochs = sorted({r.config.epochs for r in runs.values()})
        rows.append({"profile": name, "runs in grid": len(runs), "seeds": ", ".join(map(str, p.seeds)),
                     "epochs": ", ".join(map(str, epochs)),
                     "training images": ", ".join(sorted({f"{r.config.subset:,}" if r.config.subset else "all 50,000"
                                                          for r in runs.values()})),
                     "Fig. 3 backbones": ", ".join(arch_label(b, a) for b, a in p.fig3),
                     "Fig. 4": ", ".join(f"{arch_label(b)} / {dataset_label(d)}" for b, d in p.fig4),
                     "Fig. 5": ", ".join(arch_label("convmixer", a) for a in p.fig5),
                     "note": p.note})
    return pd.DataFrame(rows).set_index("profile")


def status_summary() -> pd.DataFrame:
    rows = []
    for prof in profiles_present() or ["cpu"]:
        s = run_status(prof)
        c = s["status"].value_counts()
        rows.append({"profile": prof, "runs listed": len(s), **{k: int(v) for k, v in c.items()}})
    return pd.DataFrame(rows).fillna(0).set_index("profile").astype(int)


MEANINGFUL_DENSE = 0.60   # issue #4: a dense model should clearly beat 60 % on CIFAR-10 for the numbers to mean much
CLEAR_MARGIN = 0.05       # "clearly": at least 5 points above it


def _budget(r) -> str:
    images = f"{int(r['train_size']):,}" if pd.notna(r.get("train_size")) else "?"
    return f"{images} images x {int(r['epochs'])} epochs"


def _dense_rows(df: pd.DataFrame) -> pd.DataFrame:
    d = df[(df["strategy"] == "dense") & (df["dataset"] == "cifar10")] if not df.empty else df
    if d.empty:
        return d
    d = d.assign(budget=d.apply(_budget, axis=1), train_size=d["train_size"].fillna(0).astype(int))
    g = d.groupby(["arch", "budget", "train_size", "epochs"])
    t = g.agg(runs=("run_id", "size"), seeds=("seed", lambda s: ", ".join(map(str, sorted(s)))),
              mean=("final_acc", "mean"), lo=("final_acc", "min"), hi=("final_acc", "max"),
              minutes=("wall_time_s", lambda s: s.mean() / 60)).reset_index()
    return t.sort_values(["arch", "train_size", "epochs"])


def _verdict(acc: float) -> str:
    if acc >= MEANINGFUL_DENSE + CLEAR_MARGIN:
        return "clearly above 60 %"
    return "above 60 %, but not clearly" if acc >= MEANINGFUL_DENSE else "below 60 %"


def scale_check(profile: str = "cpu", calibration: str = "custom") -> pd.DataFrame:
    """Dense CIFAR-10 accuracy of each backbone: the profile's runs, then larger-budget runs under ``calibration``.

    The profile trades accuracy for time; this table says whether its dense models clear 60 % and, from dense
    runs made with a larger budget, which budget would.
    """
    rows = []
    for source in (profile, calibration):
        t = _dense_rows(load(source))
        for _, r in t.iterrows():
            rows.append({"runs of": f"`{source}`", "backbone": r["arch"], "training budget": r["budget"],
                         "seeds": r["seeds"], "dense final accuracy": _pct(r["mean"]) + (
                             f" ({_pct(r['lo'])}-{_pct(r['hi'])})" if r["runs"] > 1 else ""),
                         "verdict": _verdict(r["mean"]), "min per run": round(float(r["minutes"]), 1),
                         "_source": source, "_mean": r["mean"], "_images": r["train_size"] * r["epochs"]})
    return pd.DataFrame(rows)


def show_scale_check(profile: str = "cpu", calibration: str = "custom"):
    t = scale_check(profile, calibration)
    if t.empty:
        return _note_no_runs(profile, "The scale check")
    show_table(t.drop(columns=["_source", "_mean", "_images"]).set_index(["runs of", "backbone"]),
               f"Dense test accuracy (final epoch, CIFAR-10) against the 60 % bar, profile `{profile}` and "
               f"calibration runs under `runs/{calibration}/` (dense runs with a larger training budget, same recipe "
               f"otherwise; wall time is the training loop on the machine of the hardware table).")
    lines = []
    ours, cal = t[t["_source"] == profile], t[t["_source"] == calibration]
    for _, r in ours.iterrows():
        if r["_mean"] >= MEANINGFUL_DENSE + CLEAR_MARGIN:
            continue
        better = cal[(cal["backbone"] == r["backbone"]) & (cal["_mean"] >= MEANINGFUL_DENSE + CLEAR_MARGIN)]
        text = f"- **{r['backbone']}**: {r['dense final accuracy']} with {r['training budget']} ({r['verdict']})."
        if better.empty:
            text += " No calibration run of this backbone clears 65 % yet."
        else:
            b = better.sort_values("_images").iloc[0]
            text += (f" The smallest measured budget that clears 65 %: {b['training budget']}, "
                     f"{b['dense final accuracy']}, {b['min per run']} min per run.")
        lines.append(text)
    if lines:
        _md(f"**Where the `{profile}` profile is too small.** Its dense models should clear 60 % by a wide margin "
            f"for the comparisons to mean much; these do not:\n\n" + "\n".join(lines))
    else:
        _md(f"Every dense model of the `{profile}` profile clears 65 %.")


def mask_recipe_check(profile: str = "cpu", calibration: str = "custom") -> pd.DataFrame:
    """Edge-popup (``mask``) accuracy by learning rate, weight decay and budget, beside dense at the same budget.

    The profile's own ``mask`` runs first, then calibration runs of the same backbones that change the recipe or
    the budget: whether the gap to dense is the method's or an untuned recipe's.
    """
    frames = {src: load(src) for src in (profile, calibration)}
    if frames[profile].empty:
        return pd.DataFrame()
    both = pd.concat([f for f in frames.values() if not f.empty])
    archs = set(frames[profile].loc[frames[profile]["strategy"] == "mask", "arch"])
    dense = {(r["arch"], r["train_size"], r["epochs"]): r["mean"] for _, r in _dense_rows(both).iterrows()}
    rows = []
    for source, df in frames.items():
        if df.empty:
            continue
        m = df[(df["strategy"] == "mask") & (df["dataset"] == "cifar10") & df["arch"].isin(archs)]
        if m.empty:
            continue
        m = m.assign(budget=m.apply(_budget, axis=1), train_size=m["train_size"].fillna(0).astype(int))
        g = m.groupby(["arch", "budget", "train_size", "epochs", "lr", "weight_decay"])
        for (arch, budget, size, epochs, lr, wd), d in g:
            acc, ref = d["final_acc"].mean(), dense.get((arch, size, epochs))
            rows.append({"runs of": f"`{source}`", "backbone": arch, "training budget": budget, "lr": f"{lr:g}",
                         "weight decay": f"{wd:g}", "seeds": ", ".join(map(str, sorted(d["seed"]))),
                         "mask final accuracy": _pct(acc), "dense, same budget": _pct(ref) if ref else "not run",
                         "mask / dense": f"{acc / ref:.0%}" if ref else "", "_source": source, "_acc": acc,
                         "_images": size * epochs, "_lr": lr, "_wd": wd})
    return pd.DataFrame(rows)


def _seeds(row) -> str:
    return ("seeds " if "," in row["seeds"] else "seed ") + row["seeds"]


def show_mask_recipe(profile: str = "cpu", calibration: str = "custom"):
    t = mask_recipe_check(profile, calibration)
    if t.empty:
        return _note_no_runs(profile, "The masked-recipe check")
    show_table(t.drop(columns=[c for c in t.columns if c.startswith("_")]).set_index(["runs of", "backbone"]),
               f"Final test accuracy of `mask` (edge-popup on independent random weights, keep ratio 0.5) in profile "
               f"`{profile}` and in calibration runs under `runs/{calibration}/` that change one thing: the peak "
               f"learning rate, the weight decay on the scores, or the training budget.")
    lines = []
    for arch, d in t.groupby("backbone"):
        own = d[d["_source"] == profile].iloc[0]
        same = d[d["_images"] == own["_images"]]
        best = same.sort_values("_acc").iloc[-1]
        text = f"- **{arch}**: {own['mask final accuracy']} at the profile's budget and lr {own['lr']} ({_seeds(own)})"
        if len(same) > 1:
            text += (f"; the best of the {len(same)} recipes tried at that budget: lr {best['lr']}, weight decay "
                     f"{best['weight decay']}, {best['mask final accuracy']} ({_seeds(best)}).")
        else:
            text += "; no other recipe was tried."
        larger = d[(d["_images"] > own["_images"]) & (d["_lr"] == own["_lr"]) & (d["_wd"] == own["_wd"])]
        for _, r in larger.sort_values("_images").iterrows():
            text += (f" With {r['training budget']}: {r['mask final accuracy']}"
                     + (f" ({r['mask / dense']} of dense at that budget)" if r["mask / dense"] else "") + ".")
        lines.append(text)
    _md("**Is the gap to dense the recipe's?** Gains from the learning rate or weight decay within a point or two "
        "are within one seed's noise; gains from a larger budget say the masks are further from convergence than "
        "the dense weights.\n\n" + "\n".join(lines))


def hardware_table(profile: str = "cpu") -> pd.DataFrame:
    df = load(profile)
    if df.empty:
        return df
    cols = ["processor", "cpu_count", "torch_threads", "gpu", "device", "python", "torch"]
    d = df[cols].fillna("none").astype(str).assign(load_avg=df["load_avg"])
    t = d.groupby(cols).agg(runs=("load_avg", "size"), load=("load_avg", "mean")).reset_index()
    t["load"] = t["load"].round(2)
    return t.rename(columns={"cpu_count": "CPU cores", "torch_threads": "torch threads",
                             "load": "mean 1-min load average at the end of a run"}).set_index("processor")


def timing_table(profile: str = "cpu") -> pd.DataFrame:
    """Wall time per run, by backbone and method family, with the total."""
    df = load(profile)
    if df.empty:
        return df
    g = df.groupby(["arch", "dataset", "family", "epochs"])
    t = g.agg(runs=("run_id", "size"), mean_s=("wall_time_s", "mean"), min_s=("wall_time_s", "min"),
              max_s=("wall_time_s", "max"), total_min=("wall_time_s", lambda s: s.sum() / 60)).reset_index()
    t["s per epoch"] = (t["mean_s"] / t["epochs"]).round(1)
    for c in ("mean_s", "min_s", "max_s", "total_min"):
        t[c] = t[c].round(1)
    return t.rename(columns={"mean_s": "mean s/run", "min_s": "min s", "max_s": "max s",
                             "total_min": "total min"}).set_index(["arch", "dataset", "family"])


def timing_summary(profile: str = "cpu") -> dict:
    df = load(profile)
    s = run_status(profile)
    missing = s[(s["status"] != "complete") & s["in_grid"]]
    out = {"complete": len(df), "total_h": df["wall_time_s"].sum() / 3600 if not df.empty else 0.0,
           "missing": len(missing), "estimate_missing_h": None}
    if not df.empty and len(missing):
        per = df.groupby(["backbone", "arch_key"])["wall_time_s"].mean()
        grid_runs = _grid(profile)
        est, known = 0.0, 0
        for rid in missing["run_id"]:
            c = grid_runs[rid].config
            key = (c.backbone, json.dumps(full_arch(c.backbone, c.arch), sort_keys=True))
            if key in per.index:
                est += per[key]
                known += 1
        out["estimate_missing_h"] = est / 3600
        out["estimate_known"] = known
    return out


def show_timing(profile: str = "cpu"):
    t = timing_table(profile)
    if t.empty:
        return _note_no_runs(profile, "The timing table")
    s = timing_summary(profile)
    show_table(t, f"Wall time of the training loop per run (from each metrics.json, `wall_time_s`: training and "
                  f"evaluation epochs, not data loading or kernel start), profile `{profile}`.")
    text = (f"**Total:** {s['complete']} completed runs took {s['total_h']:.2f} h of training time on the hardware "
            f"above (a shared 2-core machine: the load average says how busy it was).")
    if s["missing"]:
        text += f" {s['missing']} runs of the grid are not complete"
        if s.get("estimate_missing_h") is not None and s.get("estimate_known"):
            text += (f"; at the measured mean time of their backbone, {s['estimate_known']} of them would take about "
                     f"{s['estimate_missing_h']:.1f} h more")
        text += "."
    _md(text)


def data_table(profile: str = "cpu") -> pd.DataFrame:
    df = load(profile)
    if df.empty:
        return df
    t = df.groupby(["dataset", "data_kind", "data_path", "data_sha256"], dropna=False).size().rename(
        "runs").reset_index()
    return t.rename(columns={"data_kind": "source", "data_path": "path", "data_sha256": "sha256"}).set_index("dataset")


def protocol_gap(profile: str = "cpu") -> dict | None:
    """How much the test-selected best epoch would add over the final-epoch headline."""
    df = load(profile)
    if df.empty:
        return None
    gap = df["best_acc"] - df["final_acc"]
    return {"runs": len(df), "mean": float(gap.mean()), "max": float(gap.max()),
            "runs_final_is_best": int((gap <= 1e-12).sum())}


def show_protocol_gap(profile: str = "cpu"):
    g = protocol_gap(profile)
    if g is None:
        return _md(f"No completed run of profile `{profile}` yet to measure the best-epoch selection effect.")
    _md(f"Measured on the {g['runs']} completed runs of profile `{profile}`: reporting the best epoch on the test "
        f"set, as the official code does, would add {100 * g['mean']:.2f} points on average (at most "
        f"{100 * g['max']:.2f}); in {g['runs_final_is_best']} runs the final epoch is also the best.")


def bench_results(path: Path = BENCH_RESULTS):
    if not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text())


def bench_table(path: Path = BENCH_RESULTS) -> pd.DataFrame | None:
    """The speed benchmark (bench/results.json, written by ``make bench``) as a table: the median training step per
    backbone and variant when the file has them (``train_step``), else every field flattened."""
    r = bench_results(path)
    if r is None:
        return None
    steps = r.get("train_step") if isinstance(r, dict) else None
    if isinstance(steps, dict) and steps:
        rows = []
        for key, e in steps.items():
            row = {"case": key}
            for v, st in (e.get("variants") or {}).items():
                row[f"{v} ms"] = round(st["median"], 1) if isinstance(st, dict) and "median" in st else st
            for v, ratio in (e.get("ratio_vs_dense") or {}).items():
                if isinstance(ratio, dict) and "median" in ratio:
                    row[f"{v} / dense"] = round(ratio["median"], 2)
            row["rounds"] = e.get("rounds")
            rows.append(row)
        return pd.DataFrame(rows).set_index("case")
    rows = r.get("results") if isinstance(r, dict) and isinstance(r.get("results"), list) else r
    return pd.json_normalize(rows if isinstance(rows, list) else [rows])


def bench_goals(path: Path = BENCH_RESULTS) -> pd.DataFrame | None:
    r = bench_results(path)
    g = r.get("goals") if isinstance(r, dict) else None
    if not isinstance(g, dict) or not g:
        return None
    return pd.DataFrame([{"goal": k, "value": round(v.get("value"), 2) if isinstance(v.get("value"), (int, float))
                          else v.get("value"), "target": v.get("goal"), "met": v.get("met")}
                         for k, v in g.items() if isinstance(v, dict)]).set_index("goal")


def show_bench(path: Path = BENCH_RESULTS):
    """Show bench/results.json if it exists; say plainly that it has not been run otherwise."""
    from IPython.display import display
    t = bench_table(path)
    if t is None:
        return _md("**The speed benchmark has not been run**: `bench/results.json` does not exist. "
                   "`make bench` writes it.")
    r = bench_results(path)
    env = r.get("environment", {}) if isinstance(r, dict) else {}
    load_avg = r.get("load_average", {}) if isinstance(r, dict) else {}
    meta = [f"created {r['created']}" if r.get("created") else "",
            f"on {env['device_name']}" if env.get("device_name") else "",
            f"{env['torch_threads']} torch threads" if env.get("torch_threads") else "",
            f"load average {load_avg.get('start')} → {load_avg.get('end')}" if load_avg else "",
            f"data: {r['data']}" if r.get("data") else ""] if isinstance(r, dict) else []
    _md("Speed benchmark from `bench/results.json` (`make bench`, `pemn.bench`)"
        + (": " + ", ".join(m for m in meta if m) if any(meta) else "") + ". Median training step, batch 128, per "
        "backbone at its `cpu`-profile size and variant; ratios are medians of per-round ratios measured side by "
        "side.")
    display(t)
    g = bench_goals(path)
    if g is not None:
        display(g)
    try:
        from .bench import table
        text = table(r)
    except Exception:  # an older or newer results schema than this pemn.bench prints: the table above suffices
        text = None
    if text:
        _md("The benchmark's own summary:\n\n```text\n" + text + "\n```")


def paper_bench_table(path: Path = PAPER_BENCH) -> pd.DataFrame | None:
    """The paper profile on a GPU (``python -m pemn.bench --paper``): per model, its runs, measured steps and hours."""
    r = bench_results(path)
    if not isinstance(r, dict) or "profile" not in r:
        return None
    rows = []
    for key, b in r["profile"]["by_backbone"].items():
        v = r["train_step"][key]["variants"]
        rows.append({"model (batch)": key, "runs": b["runs"],
                     **{f"{k} step ms": round(v[k]["median"], 1) for k in ("dense", "masked", "baseline") if k in v},
                     "GPU hours": round(b["estimate_s"] / 3600, 1)})
    return pd.DataFrame(rows).set_index("model (batch)")


def show_paper_bench(path: Path = PAPER_BENCH):
    """What the paper profile costs on one GPU, from bench/paper.json; says plainly when it was not measured."""
    from IPython.display import display
    t = paper_bench_table(path)
    if t is None:
        return _md("**The paper profile has not been timed on a GPU here**: `bench/paper.json` does not exist. "
                   "`python -m pemn.bench --paper` on a CUDA machine writes it.")
    r = bench_results(path)
    env, p, chk, ld = r["environment"], r["profile"], r["epoch_check"], r["loader"]
    _md(f"Measured on one {env['device_name']} (torch {env['versions']['torch']}, bf16 autocast, "
        f"{env.get('cpu_count')} CPU cores), {r.get('created', '')}: training steps of every model of the `paper` "
        f"grid at its batch size, the evaluation rate, and the paper's augmentation (RandAugment, per image on the "
        f"CPU, over {ld['workers']} worker processes: {ld['paper']['images_per_s']:,.0f} images/s; "
        f"{ld['serial']['images_per_s']:,.0f} in one process). Summed over the {p['runs']} runs, one after another: "
        f"**{p['estimate_h']:.0f} GPU-hours**, {p['loader_share']:.0%} of it the augmentation. As a check, one real "
        f"epoch of `{chk['run_id']}` through `pemn.train.train` took {chk['measured_epoch_s']:.1f} s against "
        f"{chk['estimated_epoch_s']:.1f} s estimated (x{chk['measured_over_estimated']:.2f}). The steps are timed "
        "apart, so this is an estimate from measured rates, not 408 runs made.")
    display(t)


def run_index_md(profile: str) -> str:
    """The run index of a profile as a Markdown table; each finished run links its executed notebook."""
    s = run_status(profile)
    if s.empty:
        return f"Profile `{profile}` has no runs."
    rows = []
    for _, r in s.iterrows():
        # links are relative to book/ (where the chapter lives)
        nb = r["notebook"] if isinstance(r["notebook"], str) and r["notebook"] else None
        name = f"[{r['run_id']}](../{nb})" if nb else f"`{r['run_id']}`"
        rows.append({"run": name, "figures": r["figures"], "status": r["status"],
                     "final acc": _pct(r["final_acc"], 2) if pd.notna(r["final_acc"]) else "",
                     "best-epoch acc (test-selected)": _pct(r["best_acc"], 2) if pd.notna(r["best_acc"]) else "",
                     "compression (Eq. 10)": _pct(r["compression"], 2) if pd.notna(r["compression"]) else "",
                     "wall time": f"{r['wall_time_s'] / 60:.1f} min" if pd.notna(r["wall_time_s"]) else "",
                     "detail": str(r["detail"]).replace("|", "/")})
    return pd.DataFrame(rows).to_markdown(index=False)


def show_run_index(profile: str | None = None):
    """Run index for ``profile`` (or every profile present under runs/)."""
    profs = [profile] if profile else profiles_present()
    if not profs:
        return _md("No runs under `runs/` yet.")
    for prof in profs:
        c = progress_counts(prof)
        total = c.pop("total")
        _md(f"**Profile `{prof}`** ({total} runs: " + ", ".join(f"{n} {k}" for k, n in c.items()) + ")")
        _md(run_index_md(prof))


def show_verdicts(profile: str = "cpu"):
    """One sentence: how many of the paper's conclusions held, failed or could not be tested (chapter 5)."""
    t = claims(profile)
    c = t["verdict"].value_counts()
    held = ", ".join(t.loc[t["verdict"] == "held", "claim"]) or "none"
    _md(f"**Claims check** (profile `{profile}`, chapter 5): of the paper's {len(t)} conclusions in Sec. 4.2-4.3, "
        f"{c.get('held', 0)} held, {c.get('not held', 0)} did not hold and {c.get(NOT_TESTED, 0)} could not be "
        f"tested with the runs present. Held: {held}.")


def storage_floor(profile: str = "cpu", figure: str = "fig5") -> pd.DataFrame:
    """Per backbone: share of the dense model taken by the other (never pruned) parameters, and the ceiling it puts
    on any compression ratio."""
    from .storage import count
    from .train import TrainConfig, make_model
    rows = []
    for backbone, arch, ds, _ in storage_backbones(profile, figure):
        model = make_model(TrainConfig(backbone=backbone, arch=arch, dataset=ds, strategy="dense"),
                           100 if ds == "cifar100" else 10)
        c = count(model)
        share = c.other / (c.weights + c.other)
        rows.append({"backbone": arch_label(backbone, arch), "conv/linear weights": c.weights,
                     "other floats": c.other, "other share %": round(100 * share, 2),
                     "max compression %": round(100 * (1 - share), 2)})
    return pd.DataFrame(rows).set_index("backbone")


# --- maintenance: refresh the committed outputs of the analysis notebooks ----------------------

BOOK_NOTEBOOKS = ("01_introduction", "02_method", "03_capacity", "04_compression", "05_claims", "06_reproducibility")


def refresh_notebooks(names=BOOK_NOTEBOOKS, timeout: int = 900) -> None:
    """Execute the book's analysis notebooks in place (``python -m pemn.report``).

    The book build executes them anyway; the committed outputs are what nbval
    compares (``# NBVAL_CHECK_OUTPUT`` cells) and what a reader sees on a
    forge. Rerun this after a change to the library or to a profile.
    """
    import nbformat
    from nbclient import NotebookClient
    for name in names:
        path = REPO / "book" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"executed {path.relative_to(REPO)}")


if __name__ == "__main__":
    import sys as _sys
    refresh_notebooks(tuple(_sys.argv[1:]) or BOOK_NOTEBOOKS)
