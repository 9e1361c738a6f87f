"""Accuracy against real file bytes: the fair-compression comparison (pure: run records in, tables out).

Every point is a trained run and its measured ``model.pemn`` size. PEMN (RP 1e-2 at several keep
ratios) sets the byte budgets; each equal-bytes method of the registry (:mod:`pemn.methods`) was sized to the
bytes of one PEMN point (``budget_bits``). All frontier runs recalibrate BatchNorm alike. Means are taken per
training budget (images x epochs, ``budget_key``), never across, and the comparison, the figure and its dense
line read the frontier's own training budget only (:func:`frontier_budget`). The verdict compares, at each PEMN
point, PEMN's seed mean with the best seed mean among the competitors whose files are within 5 % of its bytes, by
the claims engine's rule (:mod:`.stats`: each side's own seeds, a Welch interval).
"""
from __future__ import annotations

import math

import pandas as pd

from .. import methods
from .claims import Comparison, Verdict, compare, decide, welch
from .labels import budget_key as _budget_key

COMPETITORS = methods.where(equal_bytes=True)  # every method sized to a PEMN file's bytes


def role(strategy: str) -> str:
    """A point's part in the comparison: the PEMN points, their competitors, the paper's baselines, dense."""
    m = methods.get(strategy)
    return ("reference" if m.reference else "pemn" if m.family == "PEMN" else "paper" if m.paper_baseline
            else "competitor")


def _as_dict(r) -> dict:
    return r if isinstance(r, dict) else r.as_dict()


def points(records, backbone: str, arch: dict | None = None, recalibrated=None) -> pd.DataFrame:
    """One row per run of ``backbone`` (and ``arch``) with a measured file: the frontier's and the paper's.

    ``recalibrated`` maps a run id to its precise-BN re-evaluation (``pemn recalibrate``), used for the
    paper's baselines, which were trained without it, so that every point has the same BatchNorm treatment;
    such points say so in ``bn``.
    """
    rows = []
    for r in map(_as_dict, records):
        cfg = r["config"]
        if cfg["backbone"] != backbone or (arch is not None and cfg["arch"] != arch) or cfg["dataset"] != "cifar10":
            continue
        frontier = "frontier" in r.get("figures", ())
        part = role(cfg["strategy"])
        paper_baseline = part == "paper"
        if not (frontier or part in ("paper", "reference")) or not r.get("export") or r.get("final_test_acc") is None:
            continue  # a point needs its measured file and a test accuracy (a held-out check never reads the test set)
        acc, bn = r["final_test_acc"], "recalibrated in training" if cfg.get("bn_recalibration") else "as trained"
        if paper_baseline and recalibrated and r["run_id"] in recalibrated:
            acc, bn = recalibrated[r["run_id"]]["test_acc"], "recalibrated from the file"
        method = methods.get(cfg["strategy"])
        rows.append({"run_id": r["run_id"], "method": method.variant(cfg), "role": part, "label": method.title_of(cfg),
                     "seed": cfg["seed"], "budget_key": _budget_key(r.get("train_size"), cfg.get("epochs")),
                     "keep_ratio": cfg.get("keep_ratio"), "budget_bits": cfg.get("budget_bits"),
                     "compression": cfg.get("compression"), "file_bytes": r["export"]["file_bytes"],
                     "test_acc": acc, "as_trained_acc": r["final_test_acc"], "bn": bn,
                     "kept_fraction": r.get("kept_fraction"), "frontier": frontier})
    return pd.DataFrame(rows)


def budget_key(row) -> str:
    """The group a point belongs to: a PEMN keep ratio, a competitor's budget, a paper's compression target."""
    if row["role"] == "pemn":
        return f"keep {row['keep_ratio']:g}"
    if row["role"] == "paper":
        return f"{row['compression']:.0%}"
    if row["role"] == "reference":
        return "dense"
    return f"{row['budget_bits']:.4g} b/w"


def frontier_budget(p: pd.DataFrame) -> tuple | None:
    """The training budget (images, epochs) of the frontier's runs: the one its comparison and figure read."""
    keys = p.loc[p["frontier"], "budget_key"] if not p.empty else []
    return None if len(keys) == 0 else keys.value_counts().index[0]


def at_frontier_budget(p: pd.DataFrame) -> pd.DataFrame:
    """The points trained at the frontier's budget (dense, the paper's baselines and the frontier alike)."""
    key = frontier_budget(p)
    return p if key is None else p[p["budget_key"].map(lambda k: k == key)]


def means(p: pd.DataFrame) -> pd.DataFrame:
    """Seed means per method, byte budget and training budget: bytes, accuracy, seed range, seeds."""
    if p.empty:
        return p
    g = p.assign(budget=p.apply(budget_key, axis=1)).groupby(["method", "budget", "budget_key"], sort=False)
    out = g.agg(label=("label", "first"), role=("role", "first"),
                file_bytes=("file_bytes", "mean"), test_acc=("test_acc", "mean"),
                acc_min=("test_acc", "min"), acc_max=("test_acc", "max"), seeds=("seed", "nunique"),
                std=("test_acc", "std"), runs=("run_id", ", ".join),
                budget_bits=("budget_bits", "first"), keep_ratio=("keep_ratio", "first"),
                frontier=("frontier", "first")).reset_index()
    out["seed_range"] = out["acc_max"] - out["acc_min"]
    out["std"] = out["std"].fillna(0.0)
    out["n"] = out["seeds"]
    out["mean"] = out["test_acc"]
    return out


def pareto(m: pd.DataFrame) -> pd.DataFrame:
    """The non-dominated method means (no other has fewer bytes and higher accuracy), by bytes; dense excluded."""
    m = m[m["role"] != "reference"].sort_values(["file_bytes", "test_acc"], ascending=[True, False])
    keep, best = [], -1.0
    for i, row in m.iterrows():
        if row["test_acc"] > best:
            keep.append(i)
            best = row["test_acc"]
    return m.loc[keep]


def verdicts(p: pd.DataFrame, competitors=COMPETITORS, tolerance: float = 0.05) -> pd.DataFrame:
    """Per PEMN point at the frontier's training budget: the strongest competitor within ``tolerance`` of its file
    bytes, margin, the half-width of the 95 % Welch interval (``noise``), outcome."""
    m = means(at_frontier_budget(p))
    rows = []
    if m.empty:
        return pd.DataFrame(rows)
    pemn = m[(m["role"] == "pemn") & m["frontier"]]
    rivals = m[(m["role"] == "competitor") & m["method"].str.replace(r"\d+$", "", regex=True).isin(competitors)]
    for _, row in pemn.sort_values("keep_ratio", ascending=False).iterrows():
        near = rivals[(rivals["file_bytes"] - row["file_bytes"]).abs() <= tolerance * row["file_bytes"]]
        base = {"pemn_point": row["budget"], "pemn_bytes": row["file_bytes"], "pemn_acc": row["test_acc"],
                "pemn_runs": row["runs"]}
        if near.empty:
            rows.append({**base, "outcome": "not tested", "competitor": None})
            continue
        best = near.loc[near["test_acc"].idxmax()]
        c = compare(f"{row['label']} at {row['budget']} ({row['file_bytes'] / 1024:.1f} KiB) vs {best['label']} "
                    f"at {best['budget']} ({best['file_bytes'] / 1024:.1f} KiB)", welch(row, best),
                    tuple(row["runs"].split(", ") + best["runs"].split(", ")))
        rows.append({**base, "competitor": best["label"], "competitor_budget": best["budget"],
                     "competitor_bytes": best["file_bytes"], "competitor_acc": best["test_acc"],
                     "bytes_ratio": best["file_bytes"] / row["file_bytes"], "margin": c.margin, "noise": c.noise,
                     "seeds": int(min(row["seeds"], best["seeds"])), "outcome": c.outcome, "comparison": c})
    return pd.DataFrame(rows)


def verdict(v: pd.DataFrame, what: str = "") -> Verdict:
    """One verdict over the PEMN points (the claims engine's rule: the worst comparison decides)."""
    comparisons = [c for c in v.get("comparison", []) if isinstance(c, Comparison)]
    return decide(comparisons, what or "no PEMN point has a competitor run at its file size yet")


def layer_kept_counts(models: dict) -> pd.DataFrame:
    """Kept weights per conv/linear layer of each named (pruned) model: where a sparsity rule starves a layer."""
    from ..baselines import prunable
    cols = {}
    for name, model in models.items():
        cols[name] = [int(m.weight_mask.sum()) for m in prunable(model)]
    first = next(iter(models.values()))
    shapes = [tuple(m.weight.shape) for m in prunable(first)]
    df = pd.DataFrame({"layer": [f"{i}: {'x'.join(map(str, s))}" for i, s in enumerate(shapes)],
                       "weights": [math.prod(s) for s in shapes], **cols})
    return df


def collapsed(records, recalibrated: dict, below: float = 0.2) -> pd.DataFrame:
    """Runs that end below ``below`` test accuracy (chance is 10 %): last training accuracy, precise-BN accuracy."""
    rows = []
    for r in map(_as_dict, records):
        if r.get("final_test_acc") is None or r["final_test_acc"] >= below:  # a held-out check has no test accuracy
            continue
        rec = recalibrated.get(r["run_id"])
        rows.append({"run_id": r["run_id"], "strategy": r["config"]["strategy"],
                     "compression": r["config"].get("compression"), "kept_fraction": r.get("kept_fraction"),
                     "train_acc": r["history"][-1]["train_acc"] if r.get("history") else None,
                     "test_acc": r["final_test_acc"], "test_loss": r["history"][-1]["test_loss"] if r.get("history") else None,
                     "peak_test_loss": max(h["test_loss"] for h in r["history"]) if r.get("history") else None,
                     "recalibrated_acc": rec["test_acc"] if rec else None})
    return pd.DataFrame(rows)
