"""The numbers the chapters' prose quotes, computed from the runs when the book is built (MyST-NB ``glue``).

A chapter's markdown says ``{glue:text}`cap_convmixer_mask``` where it quotes a number; one code cell,
``report.glue_facts(profile, "capacity")``, computes them all. No result is typed into the prose, so none can
go stale (``tests/test_book.py`` checks that the markdown holds no percentage or duration literal). Each
``*_facts`` function is pure (records in, strings out); a number it cannot compute is ``n/a``.
"""
from __future__ import annotations

import pandas as pd

from .labels import MASK, NA, REFERENCE, percent, signed


def _key(backbone: str) -> str:
    return backbone.replace("-", "").lower()


def verdict_facts(prefix: str, v) -> dict:
    """``prefix``: the outcome, the deciding comparison (the engine's own words) and how many of the claim's
    comparisons hold after Holm. Margins and intervals are not facts: each is shown in one table (the claims
    chapter's, the size claims', the frontier's), which the prose refers to."""
    c = v.deciding
    return {prefix: v.outcome, f"{prefix}_deciding": c.text if c else v.evidence,
            f"{prefix}_holm": (f"{v.held_after_holm} of {len(v.comparisons)}" if v.comparisons else NA)}


def _claims(profile: str) -> dict:
    from .claims import CLAIMS
    from .verdicts import claims_verdicts
    return {claim: v for (claim, _, _), v in zip(CLAIMS, claims_verdicts(profile))}


def _claim_key(claim: str) -> str:
    """``4.3 Fig. 4 (1)`` -> ``v43_fig4_1``, ``4.2 (3)`` -> ``v42_3``, ``4.2 (remark)`` -> ``v42_remark``."""
    s = claim.replace("Fig. ", "fig").replace("(", "").replace(")", "").replace(".", "")
    return "v" + "_".join(s.split())


def claims_facts(profile: str) -> dict:
    """Every claim's verdict and deciding comparison (keys ``v42_1``, ``v43_fig4_1``, ...), the tally (``tally``:
    how many of each outcome), the claims by outcome (``claims_by_outcome``) and the dense-accuracy bar
    (``bar_low``)."""
    from .claims import HELD, INCONCLUSIVE, NOT_HELD, NOT_TESTED
    from .reproducibility import MEANINGFUL_DENSE
    out, verdicts = {}, _claims(profile)
    for claim, v in verdicts.items():
        out.update(verdict_facts(_claim_key(claim), v))
    kinds = [v.outcome for v in verdicts.values()]
    out["claims_n"] = str(len(kinds))
    out["tally"] = ", ".join(f"{kinds.count(k)} {k}" for k in (HELD, NOT_HELD, INCONCLUSIVE, NOT_TESTED) if k in kinds)
    out["claims_by_outcome"] = "; ".join(f"{k}: {', '.join(c for c, v in verdicts.items() if v.outcome == k)}"
                                         for k in (HELD, NOT_HELD, INCONCLUSIVE) if k in kinds) or NA
    out["bar_low"] = f"{100 * MEANINGFUL_DENSE:.0f}"
    return out


def _by_method(p: pd.DataFrame) -> dict:
    return {m: r for _, r in p.iterrows() for m in r["merged"]}


def _seeds_phrase(seeds) -> str:
    s = [str(x) for x in sorted(seeds)]
    return s[0] if len(s) == 1 else ", ".join(s[:-1]) + " and " + s[-1]


def capacity_facts(profile: str) -> dict:
    """Chapter 3, Fig. 3: per backbone (``convmixer``, ``vit``) dense, mask, the spread of the sharing strategies
    that keep many values, RP 1e-3 and the single value; and claim 4.2 (3), judged in unique values."""
    from .claims import EXTREME_VALUES, STABLE_TOL
    from .frame import for_figure, load, points
    from .labels import STABLE_SET
    df = for_figure(load(profile), "fig3")
    out = {"extreme_values": str(EXTREME_VALUES), "stable_tol": f"{100 * STABLE_TOL:.0f}",
           "fig3_seeds": _seeds_phrase(set(df["seed"])) if not df.empty else NA}
    p = points(df)
    for backbone, q in (p.groupby("backbone", sort=True) if not p.empty else []):
        k, by = _key(backbone), _by_method(q)
        d, m = by.get("dense"), by.get("mask")
        many = q[q["merged"].map(lambda ms: any(x in STABLE_SET for x in ms)) & (q["unique_values"] > EXTREME_VALUES)]
        few = q[(q["family"] != REFERENCE) & (q["unique_values"] <= EXTREME_VALUES)].sort_values("unique_values")
        out.update({f"cap_{k}": q["arch"].iloc[0].split(" (")[0], f"cap_{k}_dense": percent(d["mean"]) if d is not None else NA,
                    f"cap_{k}_mask": percent(m["mean"]) if m is not None else NA,
                    f"cap_{k}_loss": signed(d["mean"] - m["mean"], sign=False) if d is not None and m is not None else NA})
        if m is not None and not many.empty:
            out[f"cap_{k}_share_gap"] = signed((m["mean"] - many["mean"]).abs().max(), sign=False)
            out[f"cap_{k}_share_fold"] = (f"{m['unique_values'] / many['unique_values'].max():,.0f} to "
                                          f"{m['unique_values'] / many['unique_values'].min():,.0f}")
            out[f"cap_{k}_share_fewest"] = f"{many['unique_values'].min():,.0f}"
        if not few.empty:
            most, one = few.iloc[-1], few.iloc[0]
            out.update({f"cap_{k}_few_method": most["method"], f"cap_{k}_few_values": f"{most['unique_values']:,.0f}",
                        f"cap_{k}_few_acc": percent(most["mean"]), f"cap_{k}_one_method": one["method"],
                        f"cap_{k}_one_acc": percent(one["mean"]),
                        f"cap_{k}_one_seeds": ", ".join(percent(a) for a in one["accs"])})
    out.update(verdict_facts("v42_3", _claims(profile)["4.2 (3)"]))
    out.update(size_facts(profile))
    return out


def _chain(p: pd.DataFrame, method: str, col: str = "mean", sep: str = " → ") -> str:
    q = p[p["method"] == method].sort_values("size")
    return sep.join(signed(x, sign=False) for x in q[col]) if not q.empty else NA


def size_facts(profile: str) -> dict:
    """Size at equal budget: width and depth series (accuracies and gaps to dense), their verdicts."""
    from .claims import evaluate_sizes
    from .frame import load
    from .size import AXES, gap_points, size_rows, size_series
    rows = size_rows(profile)
    out = {}
    for axis in AXES:
        for title, s in size_series(rows, axis):
            k = ("width" if axis == "width" else ("depth_resnet" if title.startswith("ResNet") else "depth_cm"))
            p = gap_points(s)
            out[f"{k}_sizes"] = " / ".join(f"{x:g}" for x in sorted(s["size"].unique()))
            for method in (REFERENCE, MASK, "MP", "RP 1e-1", "RP 1e-2", "RP 1e-3"):
                mk = method.replace(" ", "").replace("-", "").lower()
                out[f"{k}_{mk}"] = _chain(p, method)
                out[f"{k}_{mk}_gap"] = _chain(p, method, "gap")
    for claim, axis, v in evaluate_sizes(load(profile)):
        out.update(verdict_facts(_claim_key(claim) + f"_{axis}", v))
    return out


def compression_facts(profile: str) -> dict:
    """Chapter 4: per Fig. 4/5 backbone the baselines at their lowest and highest compression, PEMN's points, the
    dense network; and the verdicts of Sec. 4.3."""
    from .frame import for_figure, load, points
    df = load(profile)
    out = claims_facts(profile)
    for fig in ("fig4", "fig5"):
        p = points(for_figure(df, fig))
        out[f"{fig}_seeds"] = _seeds_phrase(set(for_figure(df, fig)["seed"])) if not p.empty else NA
        for arch, q in (p.groupby("arch", sort=True) if not p.empty else []):
            k = _key(arch.split(" (")[0].replace("/", "d"))
            d = q[q["family"] == REFERENCE]
            out[f"{k}_dense"] = percent(d["mean"].iloc[0]) if not d.empty else NA
            for fam, fk in (("random pruning", "random"), ("magnitude pruning", "magnitude")):
                b = q[q["family"] == fam].sort_values("compression")
                if not b.empty:
                    out[f"{k}_{fk}_low"], out[f"{k}_{fk}_high"] = percent(b["mean"].iloc[0]), percent(b["mean"].iloc[-1])
            ours = q[q["family"] == "PEMN"].sort_values("compression")
            if not ours.empty:
                out[f"{k}_pemn"] = ", ".join(f"{r['method']} {percent(r['mean'])} % at {percent(r['compression'])} %"
                                             for _, r in ours.iterrows())
                best = ours.loc[ours["mean"].idxmax()]
                out[f"{k}_pemn_best"] = f"{best['method']} {percent(best['mean'])} %"
    return out


def fair_facts(profile: str) -> dict:
    """Chapter 7: per frontier backbone (``fr0_``, ``fr1_``) PEMN's accuracies and file sizes by keep ratio, each
    competitor's accuracies at those sizes, and the verdict against the strongest one (the claims engine's rule)."""
    from ..runs import current_records, recalibrations
    from .fair import frontier_backbone
    from .frontier import at_frontier_budget, frontier_budget, means, points as frontier_points, verdict, verdicts
    from .labels import budget_label
    from .verdicts import FAIR_TEST
    records, recal = current_records(profile), recalibrations(profile)
    claims = _claims(profile)
    out, index = {}, 0
    for claim in FAIR_TEST:  # the paper's claims the frontier tests again: their verdict against the paper's baselines
        out.update(verdict_facts(_claim_key(claim), claims[claim]))
    while (which := frontier_backbone(profile, index)) is not None:
        k = f"fr{index}"
        index += 1
        p = frontier_points(records, which[0], which[1], recal)
        out[f"{k}_name"] = which[2].split(" (")[0]
        if p.empty:
            continue
        out[f"{k}_budget"] = budget_label(frontier_budget(p))
        m = means(at_frontier_budget(p))
        pemn = m[(m["role"] == "pemn") & m["frontier"]].sort_values("keep_ratio", ascending=False)
        out[f"{k}_keeps"] = " / ".join(f"{x:g}" for x in pemn["keep_ratio"])
        out[f"{k}_pemn_acc"] = " / ".join(percent(x) for x in pemn["test_acc"])
        out[f"{k}_pemn_kib"] = " / ".join(f"{x / 1024:.1f}" for x in pemn["file_bytes"])
        out[f"{k}_seeds"] = _seeds_phrase(set(p[p["frontier"]]["seed"]))
        for method, q in m[(m["role"] == "competitor") & m["frontier"]].groupby("method", sort=False):
            q = q.sort_values("file_bytes", ascending=False)
            out[f"{k}_{method}_acc"] = " / ".join(percent(x) for x in q["test_acc"])
            out[f"{k}_{method}_range"] = f"{percent(q['test_acc'].min())}-{percent(q['test_acc'].max())}"
        v = verdicts(p)
        if v.empty or "margin" not in v:
            continue
        tested = v.dropna(subset=["margin"])
        out[f"{k}_margin_range"] = f"{signed(tested['margin'].min())} to {signed(tested['margin'].max())}"
        f32 = verdicts(p, competitors=("erk_random", "erk_magnitude"))
        if "margin" in f32 and f32["margin"].notna().any():
            f = f32.dropna(subset=["margin"])
            out[f"{k}_f32_range"] = f"{signed(f['margin'].min())} to {signed(f['margin'].max())}"
            out.update(verdict_facts(f"{k}_f32_v", verdict(f32)))
        out.update(verdict_facts(f"{k}_v", verdict(v)))
    return out | pranc_facts(profile)


def pranc_facts(profile: str) -> dict:
    """PRANC in chapter 7: its coefficient counts at the frontier's budgets, its memory budget, and its training
    step against dense as ``make bench`` measured it (``bench/results.json``, section ``pranc``)."""
    from .. import methods, pranc
    from ..grids import PRANC_LR, grid
    from ..train import make_model
    from .benchmark import bench_results
    from .lr_select import decision_text
    out = {"pranc_lr": f"{PRANC_LR:g}", "pranc_budget_gib": f"{pranc.BASIS_MEMORY_BYTES / 2**30:g}",
           "pranc_lr_check": decision_text(profile, "pranc")}
    try:
        cfgs = [r.config for r in grid(profile).values() if "frontier" in r.figures and r.config.seed == 0]
    except ValueError:  # not a grid profile
        cfgs = []
    ks = sorted({k(make_model(c, 10), c) for c in cfgs if (k := getattr(methods.get(c.strategy), "coefficients", None))},
                reverse=True)  # the methods whose file is a seed and k coefficients
    out["pranc_k_cm"] = " and ".join(f"{k:,}" for k in ks) or NA
    bench = (bench_results() or {}).get("pranc", {})
    for key, name in (("convmixer-w64d6k5p4", "cm"), ("resnet32", "r32")):
        e = bench.get(key)
        out[f"pranc_ratio_{name}"] = f"{e['ratio_vs_dense']['median']:.1f}" if e else NA
        out[f"pranc_k_{name}_bench"] = f"{e['coefficients']:,}" if e else NA
        out[f"pranc_basis_{name}"] = f"{e['basis_bytes'] / 2**30:.2f}" if e else NA
        out[f"pranc_step_{name}"] = f"{e['variants']['pranc']['median'] / 1e3:.1f}" if e else NA
        out[f"pranc_dense_step_{name}"] = f"{e['variants']['dense']['median'] / 1e3:.2f}" if e else NA
    return out


def reproducibility_facts(profile: str) -> dict:
    """Chapter 6 and the introduction: runs, hours of training loop, the masked runs remade after the correction,
    the scale bar."""
    from .frame import for_figure, load
    from .labels import PEMN_METHODS
    from .reproducibility import BAR, MEANINGFUL_DENSE, timing_summary
    s = timing_summary(profile)
    df = load(profile)
    out = {"runs": str(s["complete"]), "hours": f"{s['total_h']:.1f}", "bar": BAR,
           "bar_low": f"{100 * MEANINGFUL_DENSE:.0f}"}
    if not df.empty:
        figs = pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5")]).drop_duplicates("run_id")
        masked = figs[figs["strategy"].isin(PEMN_METHODS)]
        out["masked_fig_runs"] = str(len(masked))
        out["masked_fig_hours"] = f"{masked['wall_time_s'].sum() / 3600:.1f}"
        cm = figs[(figs["arch"].str.startswith("ConvMixer-64/6")) & (figs["seed"] == 0)]
        for label in (MASK, REFERENCE):  # the book's labels of the two runs quoted
            r = cm[cm["method"] == label]
            out[f"cm_{label}_s0"] = percent(r["final_acc"].iloc[0], 2) if not r.empty else NA
    return out


def budget_facts(profile: str) -> dict:
    """The budget chapter: the top budget's rule and probes, each budget's dense accuracy, seeds and verdicts (the
    top budget's also as ``budtop_*``, which other chapters quote), the grid's progress."""
    from ..grids import BUDGET_TARGET_DENSE, BUDGET_TOP_EPOCHS, PRANC_LR, get_profile, grid
    from ..runs import current_records, recalibrations
    from .budget import BUDGET_CLAIMS, budget_rows, budgets, claims_by_budget, probe_rows
    from .labels import budget_label
    records = current_records(profile)
    from .lr_select import decision_text
    out = {"bud_target": f"{100 * BUDGET_TARGET_DENSE:.0f}", "bud_top_epochs": str(BUDGET_TOP_EPOCHS or NA),
           "pranc_lr": f"{PRANC_LR:g}", "pranc_lr_check": decision_text(profile, "pranc")}
    for _, r in probe_rows(records).iterrows():
        out[f"bud_probe{r['epochs']}"] = percent(r["final_acc"])
        if r["epochs"] == BUDGET_TOP_EPOCHS:
            out["bud_probe_top"] = out[f"bud_probe{r['epochs']}"]
    planned = [r.run_id for r in grid(profile).values() if "budget" in r.figures]
    done = {r.run_id for r in records}
    out["bud_planned"], out["bud_done"] = str(len(planned)), str(sum(r in done for r in planned))
    rows = budget_rows(records, recalibrations(profile))
    for i, ((_, _), label) in enumerate(budgets(rows) if not rows.empty else []):
        out[f"bud{i}"] = label
    table = claims_by_budget(rows) if not rows.empty else None
    keys = ("dense", "seeds", "v1", "v2", "v3", "eq")
    out |= {f"budtop{'_' + k if k else ''}": NA for k in ("",) + keys}  # the top budget, for other chapters
    top = budget_label((50000, BUDGET_TOP_EPOCHS)) if BUDGET_TOP_EPOCHS else None
    for i, (_, r) in enumerate(table.iterrows() if table is not None else []):
        values = (percent(r["dense"]), str(r["seeds"]), *(r[name].outcome for name, _ in BUDGET_CLAIMS),
                  r["equal bytes (keep 0.5)"].outcome)
        for prefix in (f"bud{i}",) + (("budtop",) if r["budget"] == top else ()):
            out |= {f"{prefix}_{k}": v for k, v in zip(keys, values)}
    if top in set(table["budget"] if table is not None else ()):
        out["budtop"] = top
    p = get_profile(profile)
    if p.budget_beyond_seeds and p.budget_probe_epochs:
        out["bud_beyond"] = budget_label((50000, max(p.budget_probe_epochs)))
    return out


def method_facts(profile: str) -> dict:
    """Chapter 2: the unique values RP 1e-4 and 1e-5 leave on the paper's models (``unique_values_table``, no runs)."""
    from .method import unique_values_table
    t = unique_values_table("paper")
    cm256 = t[t.index.str.startswith("ConvMixer-256")]
    resnets = t[t.index.str.startswith("ResNet")]
    rich = t[t.index.str.startswith("ViT") | t.index.str.startswith("ConvMixer-512")]
    return {"uv_cm256_4": f"{cm256['RP 1e-4'].max():,}", "uv_cm256_5": f"{cm256['RP 1e-5'].max():,}",
            "uv_resnet_4": f"{resnets['RP 1e-4'].max():,}", "uv_resnet_5": f"{resnets['RP 1e-5'].max():,}",
            "uv_rich_4": f"{rich['RP 1e-4'].min():,} to {rich['RP 1e-4'].max():,}",
            "uv_max_5": f"{t['RP 1e-5'].max():,}"}


FACTS = {"budget": budget_facts, "method": method_facts, "capacity": capacity_facts, "compression": compression_facts, "fair": fair_facts,
         "claims": claims_facts, "reproducibility": reproducibility_facts}


def facts(profile: str, chapter: str) -> dict[str, str]:
    """Every number ``chapter``'s prose quotes, as text (``n/a`` where the runs cannot give it)."""
    return {k: str(v) for k, v in FACTS[chapter](profile).items()}


def glue_facts(profile: str, *chapters: str) -> None:
    """Glue the facts of ``chapters`` into the notebook (MyST-NB), for its markdown's ``{glue:text}`` roles: once
    each, since MyST-NB warns of a key glued twice (a key two chapters share must agree)."""
    from myst_nb import glue
    merged: dict[str, str] = {}
    for chapter in chapters:
        for k, v in facts(profile, chapter).items():
            if merged.setdefault(k, v) != v:
                raise ValueError(f"fact {k!r} differs between chapters {chapters}: {merged[k]!r} vs {v!r}")
    for k, v in merged.items():
        glue(k, v, display=False)
