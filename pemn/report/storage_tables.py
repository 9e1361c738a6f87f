"""Chapter 4: the storage cost of every configuration (Eq. 10), computed by the library on fresh models."""
from __future__ import annotations

import json
import math
from functools import lru_cache

import pandas as pd

from . import display
from .labels import arch_label, dataset_label, method_label


def _bits_kib(bits: float) -> float:
    return round(bits / 8 / 1024, 2)


@lru_cache(maxsize=None)
def _storage_rows(backbone: str, arch_json: str, dataset: str, pemn_points: tuple, targets: tuple) -> list[dict]:
    import torch
    from .. import baselines
    from ..storage import bits_from_counts, count
    from ..strategies import has_masked_layers
    from ..baselines import baseline_keep
    from ..train import TrainConfig, make_model
    num_classes = 100 if dataset == "cifar100" else 10
    arch = json.loads(arch_json)
    rows = []

    def add(method, model, schemes, keep=None, note=""):
        c = count(model)
        for scheme in schemes:
            b = bits_from_counts(c, scheme, masked=has_masked_layers(model))
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
    the fraction that ``pemn.baselines.baseline_keep`` gives for each target (the
    paper's Eq. 10: conv/linear weights only, CSR positions); random and
    magnitude pruning keep the same number of weights, so they cost the same.
    PEMN keeps half of every layer (keep ratio 0.5). ``(seed)`` rows store a
    64-bit PRNG seed instead of the random values. Two ratios per accounting:
    the paper's (weights and positions against the dense weights) and one
    counting every stored parameter.
    """
    from ..grids import COMPRESSIONS
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
    from ..grids import get_profile
    p = get_profile(profile)
    if figure == "fig4":
        return [(b, {}, ds, tuple(p.fig4_pemn)) for b, ds in p.fig4]
    return [("convmixer", dict(a), "cifar10", tuple(p.fig5_pemn)) for a in p.fig5]


SUMMARY_COLUMNS = {("", "kept fraction"): "kept %",
                   (STORAGE_GROUPS[0], "total"): "total KiB (CSR)", (STORAGE_GROUPS[0], "Eq. 10 %"): "Eq. 10 % (CSR)",
                   (STORAGE_GROUPS[1], "total"): "total KiB (bitmap)",
                   (STORAGE_GROUPS[1], "Eq. 10 %"): "Eq. 10 % (bitmap)",
                   (STORAGE_GROUPS[1], "all params %"): "all params % (bitmap)"}


def _flat(t: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
    """One header row: the chapter's six columns, or (``group``, the appendix) every term of one accounting."""
    if group is None:
        out = t[list(SUMMARY_COLUMNS)].copy()
        out.columns = list(SUMMARY_COLUMNS.values())
    else:
        out = t[[("", "kept fraction")] + [(group, term) for term in STORAGE_TERMS]].copy()
        out.columns = ["kept %", *(f"{term} (KiB)" if "%" not in term else term for term in STORAGE_TERMS)]
    out["kept %"] = (100 * pd.to_numeric(out["kept %"])).round(2)  # percent, as everywhere in the book
    if t[("", "note")].astype(bool).any():
        out["note"] = t[("", "note")]
    return out.reset_index()


def show_storage_tables(profile: str = "cpu", figure: str = "fig4", full: bool = False):
    """One Eq. 10 table per backbone of the figure (computed by the library, deterministic).

    The chapter shows totals and ratios; ``full=True`` (the appendix) every term under both accountings.
    """
    from ..grids import get_profile
    targets = tuple(get_profile(profile).compressions)
    for backbone, arch, ds, pts in storage_backbones(profile, figure):
        t = storage_table(backbone, arch, ds, pts, targets)
        dense_kib = t.loc["dense", (STORAGE_GROUPS[0], "total")]
        name = f"{arch_label(backbone, arch)} / {dataset_label(ds)}"
        if full:  # the appendix: every term, each backbone folded (the page stays short; a click opens it)
            body = "\n\n".join(f"*{group.split(' (')[0].capitalize()}:*\n\n"
                                 + display.table_block(_flat(t, group), sortable=True) for group in STORAGE_GROUPS)
            display.md(f"<details><summary><b>{name}</b> (profile {profile}; dense model {dense_kib:,.2f} KiB)"
                       f"</summary>\n\n{body}\n\n</details>")
        else:
            display.md(f"**{name}** (profile `{profile}`; dense model {dense_kib:,.2f} KiB)")
            display.show_table(_flat(t))
    terms = ("values (C_w): 32-bit stored weights (PEMN: its unique random values, or a 64-bit seed in the (seed) "
             "rows; baselines: the kept weights); masks (C_m): PEMN's 1-bit mask per weight, or the baselines' "
             "positions; other: every other stored float (normalisation affine parameters and BatchNorm running "
             "statistics, biases, ViT embeddings), 32-bit. " if full else
             "Every term (values, masks, other floats) of each row is in the appendix. ")
    display.md("*Storage cost of each configuration in KiB (1 KiB = 8,192 bits), computed by `pemn.storage` on freshly "
               "built models of the profile's architectures; \"sparse 90%\" is a sparse baseline (random or magnitude "
               "pruning: both keep the same number of weights) at a 90 % target. CSR: the baselines' positions as "
               "2 × 32-bit indices per kept weight (the paper); bitmap: one bit per weight. " + terms +
               "Eq. 10 % is the paper's compression ratio, 1 − (C_w + C_m) / (32 × weights): it leaves the other "
               "floats out on both sides; all params % counts them. Baselines keep the fraction that reaches each "
               "target under the paper's ratio; the bitmap columns price the same sparse model with a bitmap. PEMN "
               "rows are the same under both (its mask is a bitmap).*")


def storage_floor(profile: str = "cpu", figure: str = "fig5") -> pd.DataFrame:
    """Per backbone: share of the dense model taken by the other (never pruned) parameters, and the ceiling it puts
    on any compression ratio."""
    from ..storage import count
    from ..train import TrainConfig, make_model
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
