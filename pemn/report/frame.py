"""Run records as one DataFrame row each, points (mean and spread over seeds), captions, run status."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..paths import REPO
from .. import methods
from ..runs import (RunRecord, config_matches, current_records, profiles_on_disk, read_failure, read_record,
                    run_folders, runs_root)
from .labels import (ACCOUNT_COLUMNS, FIG3_ORDER, arch_label, budget_key, budget_label, dataset_label, full_arch,
                     method_family, method_label)


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


RECIPE_FIELDS = ("lr", "weight_decay", "batch_size", "optimizer", "schedule", "label_smoothing", "augment")


def recipe_of(cfg) -> dict:
    """How the run was trained (``RECIPE_FIELDS``), TrainConfig's defaults where its config left them out."""
    from ..train import TrainConfig, default_learning_rate
    out = {k: cfg.get(k, getattr(TrainConfig, k)) for k in RECIPE_FIELDS}
    if out["lr"] is None:
        out["lr"] = default_learning_rate(cfg["strategy"])
    return out


def recipe_text(r: dict) -> str:
    """A recipe as one short string (the key points are grouped by): ``lr 0.05, wd 0.0005, batch 128, ...``."""
    return (f"lr {r['lr']:g}, wd {r['weight_decay']:g}, batch {r['batch_size']}, {r['optimizer']} {r['schedule']}, "
            f"smoothing {r['label_smoothing']:g}, {r['augment']}")


def _notebook(rec: RunRecord) -> str | None:
    """The run's executed notebook relative to the repository (links in the book), when it is part of the book."""
    nb = rec.notebook
    if nb is None or not rec.path.resolve().is_relative_to(REPO):
        return None
    return nb.resolve().relative_to(REPO).as_posix() if notebook_in_book(rec.path) else None


def _compressions(rec: RunRecord) -> dict:
    """The compression ratio under the four accountings of the figures (``ACCOUNTINGS``)."""
    method = methods.get(rec.config["strategy"])
    if method.reference:
        return dict.fromkeys(ACCOUNT_COLUMNS, 0.0)
    st = rec.storage
    dense_w = (st.get("dense") or {}).get("weights")
    comp, comp_wo = {}, {}
    for scheme, terms in st.items():
        comp[scheme] = terms.get("compression")
        wo = terms.get("compression_weights_only")
        if wo is None and dense_w:
            wo = 1.0 - (terms["weights"] + terms["masks"]) / dense_w
        comp_wo[scheme] = wo
    paper, bitmap = ("pemn", "pemn") if method.masked else ("csr", "bitmap")
    return {"c_paper": comp_wo.get(paper), "c_wo_bitmap": comp_wo.get(bitmap), "c_all_csr": comp.get(paper),
            "c_all_bitmap": comp.get(bitmap)}


def _export_columns(rec: RunRecord) -> dict:
    exp = rec.export
    if not isinstance(exp, Mapping):
        return {}
    return {"export_encoding": exp.get("encoding"), "export_file_bytes": exp.get("file_bytes"),
            "export_formula_bytes": (exp.get("accounting_bytes") or {}).get("total"),
            "export_deviation": exp.get("deviation"), "export_within_tolerance": exp.get("within_tolerance"),
            "export_file_compression": exp.get("file_compression"), "export_verified": exp.get("verified")}


def record_row(rec: RunRecord) -> dict:
    """One run as the flat row every table and figure of the book starts from."""
    cfg = rec.config
    arch = full_arch(cfg["backbone"], cfg.get("arch") or {})
    recipe = recipe_of(cfg)
    hw, data, versions = rec.hardware, rec.data_source, rec.versions
    row = {
        "run_id": rec.run_id, "profile": rec.profile,
        "backbone": cfg["backbone"], "arch": arch_label(cfg["backbone"], arch),
        "arch_key": json.dumps(arch, sort_keys=True), "dim": arch.get("dim"), "depth": arch.get("depth"),
        "dataset": cfg["dataset"], "group": f"{arch_label(cfg['backbone'], arch)} / {dataset_label(cfg['dataset'])}",
        "strategy": cfg["strategy"], "ratio": cfg.get("ratio"), "target": cfg.get("compression"),
        "method": method_label(cfg), "family": method_family(cfg["strategy"]),
        "keep_ratio": cfg.get("keep_ratio"), "budget_bits": cfg.get("budget_bits"), "seed": cfg["seed"],
        "epochs": cfg["epochs"],
        "lr": recipe["lr"], "weight_decay": recipe["weight_decay"], "recipe": recipe_text(recipe),
        "subset": cfg.get("subset"), "train_size": rec.train_size, "test_size": rec.test_size,
        "budget_key": budget_key(rec.train_size, cfg["epochs"]),
        "final_acc": rec.final_test_acc, "best_acc": rec.best_epoch_test_acc, "best_epoch": rec.best_epoch,
        "unique_values": rec.unique_values, "kept_fraction": rec.kept_fraction,
        "headline_scheme": rec.headline_scheme, "compression": rec.compression,
        "wall_time_s": rec.wall_time_s, "device": rec.device,
        "data_kind": data.get("kind"), "data_path": data.get("path"), "data_sha256": data.get("sha256"),
        "processor": hw.get("processor"), "cpu_count": hw.get("cpu_count"), "torch_threads": hw.get("torch_threads"),
        "gpu": hw.get("gpu"), "load_avg": hw.get("load_average_1min"),
        "torch": versions.get("torch"), "python": versions.get("python"),
        "git_commit": rec.git_commit, "figures": tuple(rec.figures), "record_schema": rec.schema,
        "notebook": _notebook(rec) if rec.path is not None else None,
        **_compressions(rec), **_export_columns(rec),
    }
    # fields a newer train writes that this reader does not know (e.g. a results version): shown as they are
    row.update({k: v for k, v in rec.extra.items() if k not in row and (v is None or isinstance(v, (str, int, float)))})
    return row


FRAME_COLUMNS = ["run_id", "profile", "backbone", "arch", "arch_key", "dataset", "group", "strategy", "ratio", "target",
                 "method", "family", "seed", "epochs", "train_size", "budget_key", "recipe", "test_size", "final_acc",
                 "best_acc",
                 "unique_values", "compression", *ACCOUNT_COLUMNS, "wall_time_s", "data_kind", "data_sha256",
                 "figures", "notebook"]


def records_frame(records) -> pd.DataFrame:
    """Complete run records as one row each (pure: hand-made records in, a DataFrame out)."""
    rows = [record_row(r) for r in records if r.complete]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=FRAME_COLUMNS)


def notebook_paths(df: pd.DataFrame) -> dict[str, str]:
    """Run id -> its executed notebook (relative to the repository) for the runs of ``df`` that have one."""
    return {r: nb for r, nb in zip(df["run_id"], df["notebook"]) if isinstance(nb, str) and nb} if len(df) else {}


def load(profile: str = "cpu") -> pd.DataFrame:
    """Every complete run of ``profile`` that its grid defines now, as one row (empty frame with the columns when
    there is none); runs whose configuration the grid has since changed are pending, not shown."""
    return records_frame(current_records(profile))


def grid_runs(profile: str) -> dict:
    from ..grids import PROFILES, grid
    return grid(profile) if profile in PROFILES else {}


def run_status(profile: str = "cpu") -> pd.DataFrame:
    """Every run of the profile's grid and every run folder present: complete, failed, running or not run."""
    planned = grid_runs(profile)
    folders = {d.name: d for d in run_folders(profile)}
    ids = list(planned) + sorted(rid for rid in folders if rid not in planned)
    rows = []
    for rid in ids:
        d = folders.get(rid)
        row = {"run_id": rid, "in_grid": rid in planned,
               "figures": ", ".join(planned[rid].figures) if rid in planned else "", "status": "not run",
               "detail": "", "final_acc": None, "best_acc": None, "compression": None, "wall_time_s": None,
               "notebook": None}
        rec = read_record(d) if d is not None else None
        failure = read_failure(d) if d is not None and rec is None else None
        if rec is not None and rid in planned and rec.complete and not config_matches(rec.config, planned[rid].config):
            row.update(status="not run", detail="made under an older configuration of the grid; to be remade",
                       wall_time_s=rec.wall_time_s)
        elif rec is not None:
            row.update(status=rec.status, final_acc=rec.final_test_acc, best_acc=rec.best_epoch_test_acc,
                       compression=_compressions(rec)["c_paper"] if rec.config else None,
                       wall_time_s=rec.wall_time_s, figures=row["figures"] or ", ".join(rec.figures))
        elif failure is not None:
            lines = [x for x in str(failure.get("error", "")).splitlines() if x.strip()]
            row.update(status="failed", detail=lines[-1][:200] if lines else "error.json is not readable",
                       wall_time_s=failure.get("seconds"))
        elif d is not None:
            row.update(status="running or interrupted",
                       detail="no metrics.json yet (training in progress, or stopped; it resumes from its checkpoint)")
        if d is not None and notebook_in_book(d) and d.resolve().is_relative_to(REPO):
            row["notebook"] = (d / "train.ipynb").resolve().relative_to(REPO).as_posix()
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_id", "in_grid", "figures", "status", "detail", "final_acc", "best_acc",
                                       "compression", "wall_time_s", "notebook"])


def profiles_present() -> list[str]:
    """Profiles with a folder under runs/ (the grid profiles first)."""
    from ..grids import PROFILES
    present = profiles_on_disk()
    return [p for p in PROFILES if p in present] + [p for p in present if p not in PROFILES]


def for_figure(df: pd.DataFrame, fig: str) -> pd.DataFrame:
    if df.empty:
        return df
    return df[df["figures"].apply(lambda f: fig in f)].copy()


POINT_COLUMNS = ["group", "backbone", "arch", "arch_key", "dataset", "budget_key", "recipe", "method", "family",
                 "strategy", "keep_ratio", "budget_bits", "target", "mean", "std", "n", "seeds", "accs", "compression", *ACCOUNT_COLUMNS,
                 "unique_values", "epochs", "train_size", "runs", "merged"]

# What a point is a mean over: one network (architecture, data), one training budget (images x epochs), one recipe,
# one method at one setting (its keep ratio, its bits per weight). No mean of the book crosses these
# (tests/test_no_mixing.py).
POINT_KEYS = ["group", "backbone", "arch", "arch_key", "dataset", "budget_key", "recipe", "method", "family",
              "strategy", "keep_ratio", "budget_bits"]


def with_keys(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the key columns a point needs: ``budget_key`` from its images and epochs (recomputed, so that a
    caller's relabelled frame cannot carry a stale one), the others where a hand-made frame lacks them."""
    d = df.copy()
    d["budget_key"] = [budget_key(n, e) for n, e in zip(d.get("train_size", pd.Series(None, index=d.index)),
                                                         d["epochs"])]
    for c, default in (("arch_key", d["arch"]), ("recipe", ""), ("keep_ratio", None), ("budget_bits", None)):
        if c not in d:
            d[c] = default
    return d


def points(df: pd.DataFrame, value: str = "final_acc") -> pd.DataFrame:
    """Mean, spread and run ids per point (``POINT_KEYS``: network, budget, recipe, method), identical networks
    merged.

    ``accs`` holds the per-seed values in seed order, ``runs`` the run ids (comma-separated) and ``merged``
    the method labels a point stands for (more than one when ``merge_identical`` joined them).
    """
    if df.empty:
        return pd.DataFrame(columns=POINT_COLUMNS)
    d = with_keys(df).sort_values("seed")
    for c in ACCOUNT_COLUMNS:
        if c not in d:
            d[c] = float("nan")
    g = d.groupby(POINT_KEYS, sort=False, dropna=False)
    out = g.agg(mean=(value, "mean"), std=(value, "std"), n=(value, "size"),
                seeds=("seed", lambda s: ", ".join(str(x) for x in s)), accs=(value, tuple),
                **{c: (c, "mean") for c in ACCOUNT_COLUMNS},
                unique_values=("unique_values", "first"), epochs=("epochs", "first"),
                train_size=("train_size", "first"),
                runs=("run_id", lambda s: ", ".join(sorted(s))), target=("target", "first")).reset_index()
    out["std"] = out["std"].fillna(0.0)
    out["compression"] = out["c_paper"]  # the claims compare under the paper's accounting
    out["merged"] = [(m,) for m in out["method"]]
    return merge_identical(out)


def cells(p: pd.DataFrame):
    """``(name, points)`` per network and budget of ``p``: what one claim's comparison may look inside. The name is
    the network's group, with its budget when ``p`` holds several."""
    if p.empty:
        return []
    several = p["budget_key"].nunique() > 1
    return [(f"{g} ({budget_label(k)})" if several else g, q)
            for (g, k), q in p.groupby(["group", "budget_key"], sort=False)]


def merge_identical(p: pd.DataFrame) -> pd.DataFrame:
    """Join RP points of one backbone that are the same network: as many unique values and the same accuracy per seed.

    At a small width ``int(r * d_max) + 1`` is 1 for both RP 1e-4 and RP 1e-5: one random value repeated
    everywhere, so the two configurations build identical weights and, with the same seeds, train identically.
    Such points are drawn and counted once, labelled with both ratios (``RP 1e-4/1e-5``).
    """
    ratio_placed = p["strategy"].map(lambda s: methods.get(s).placement == "ratio")
    rp = p[ratio_placed & p["unique_values"].notna()]
    drop, rows = [], {}
    for _, same in rp.groupby(["group", "budget_key", "recipe", "keep_ratio", "unique_values", "seeds", "accs"],
                              sort=False, dropna=False):
        if len(same) < 2:
            continue
        same = same.sort_values("method", key=lambda m: m.map(lambda x: FIG3_ORDER.index(x) if x in FIG3_ORDER else 99))
        first = same.index[0]
        labels = tuple(same["method"])
        ratios = "/".join(m.split(" ", 1)[1] for m in labels)
        rows[first] = {"method": f"RP {ratios}", "merged": labels,
                       "runs": ", ".join(sorted(", ".join(same["runs"]).split(", ")))}
        drop += list(same.index[1:])
    if not rows:
        return p
    p = p.drop(index=drop).copy()
    for i, upd in rows.items():
        for k, v in upd.items():
            p.at[i, k] = v
    return p.reset_index(drop=True)


# the data-source kinds pemn.data writes
DATA_SOURCES = {"jpeg-mirror": "the offline JPEG mirror of CIFAR-10 (a lossy re-encoding; see Reproducibility)",
                "official": "the official CIFAR files", "official-download": "the official CIFAR files (downloaded)"}


def _data_phrase(df: pd.DataFrame) -> str:
    if df.empty:
        return "no data"
    parts = []
    for (kind, sha), n in df.groupby(["data_kind", "data_sha256"], dropna=False).size().items():
        name = DATA_SOURCES.get(kind, str(kind))
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


def progress_counts(profile: str = "cpu") -> dict:
    s = run_status(profile)
    s = s[s["in_grid"]] if s["in_grid"].any() else s
    return s["status"].value_counts().to_dict() | {"total": len(s)}


def figure_progress(profile: str, fig: str) -> tuple[int, int]:
    """(complete, planned) runs of one figure of the profile's grid."""
    s = run_status(profile)
    s = s[s["in_grid"] & s["figures"].str.contains(fig, regex=False)]
    return int((s["status"] == "complete").sum()), len(s)
