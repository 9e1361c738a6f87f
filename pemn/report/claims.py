"""The claims engine: run records in, one ``Verdict`` per conclusion of the paper out (no files, no display).

Every claim reduces to a family of comparisons, each a contrast of seed means against a threshold: mask against
85 % of dense, a PEMN point against a baseline point, a gap to dense at two sizes, a slope. Its *margin* is how
far the contrast clears the threshold (negative when it falls short); its 95 % interval uses each mean's own
seed variance and Student's t with Welch–Satterthwaite degrees of freedom (:mod:`.stats`, the engine's one
rule; its types and the family verdict live there too). A comparison is *held* when the interval lies wholly above the threshold, *not held* when wholly below,
*inconclusive* otherwise, and always inconclusive when a mean has a single seed. A claim corrects its family with
Holm at 5 %: it is held when every comparison holds after the correction, not held when some comparison's
shortfall is significant after it, inconclusive otherwise. The verdict names the deciding comparison (the
weakest held one, the most significant failure, or the one furthest from holding) with its run ids. Methods are
never pooled as seeds: a mean over several methods is a contrast of their own means, and a point is a mean over
one network, training budget and recipe (:data:`.frame.POINT_KEYS`); a comparison stays inside one network and
budget (:func:`.frame.cells`) unless the claim is about size, where unequal budgets are not compared. Runs that are
missing make a claim *not tested*. Each threshold states the paper's words it stands for (``THRESHOLDS``).
"""
from __future__ import annotations

import pandas as pd

from .frame import cells, points, records_frame
from .labels import (EXTREME_SET, PAPER_BASELINES, REFERENCE, SPARSE_ORDER, STABLE_SET, budget_label,
                     dataset_label, pct, signed)
from .size import AXES, budget_note, size_series
from .stats import (HELD, INCONCLUSIVE, NOT_HELD, NOT_TESTED, Comparison, Estimate, Noise, Verdict, contrast,  # noqa: F401
                    decide, welch)

# --- thresholds: each operationalises words of the paper, which gives no number of its own ------------------------
# ``THRESHOLDS`` below says, for each, the claim, the paper's words and why this number; the claims chapter prints
# it beside the paper's own value of the same quantity, computed from its figures (pemn.report.paper_compare).

PROMISING = 0.85        # 4.2 (1) "promising results, with a performance drop": mask reaches 85 % of dense
RANK_CORR = -0.5        # 4.2 (2) "gradually drops": Spearman correlation of accuracy with position <= -0.5
STABLE_TOL = 0.03       # 4.2 (3) "stay stable for most strategies": within 3 points of mask
EXTREME_DROP = 0.01     # 4.2 (3) "a drop appears": the extreme points more than 1 point below the stable ones
EXTREME_VALUES = 10     # 4.2 (3) "extremely few unique values": at most 10. RP's vector is a fraction of the
                        # largest layer, so a ratio leaves far fewer values on a small model: the paper's own drop,
                        # RP 1e-4 and 1e-5 on its ConvMixer-256, leaves 7 and 1 values (chapter 2's tables)
MARGIN = 0.01           # 4.3 Fig. 4 (1) "by a significant margin": more than 1 point

THRESHOLDS = (
    ("PROMISING", PROMISING, f"mask ≥ {PROMISING:.0%} of dense", "4.2 (1)",
     "sparse selection (mask) obtains promising results, with a performance drop from fixing the weights",
     f"The paper expects a drop and names no size for it. Keeping {PROMISING:.0%} of dense's accuracy reads "
     f"\"promising\" as keeping most of it, leniently, because at a reduced scale a mask is further from convergence "
     f"than the weights it is compared with; the paper's own ratio, a stricter bar, is tested beside it."),
    ("RANK_CORR", RANK_CORR, f"Spearman ρ ≤ {RANK_CORR}", "4.2 (2)",
     "from left to right (fewer unique values) performance gradually drops",
     f"\"Gradually drops\" is a trend along the strategy axis, not a step at one point: a rank correlation measures it "
     f"without assuming a scale, and {abs(RANK_CORR)} is the conventional bound of a strong correlation (Cohen, "
     f"1988), so that one point out of order does not break the trend and a flat axis does not pass."),
    ("STABLE_TOL", STABLE_TOL, f"within {100 * STABLE_TOL:.0f} pts of mask", "4.2 (3)",
     "the results stay stable for most strategies",
     f"\"Stable\" is read as within {100 * STABLE_TOL:.0f} points of mask: wider than a seed mean's spread at this "
     f"scale, so that noise is not called instability, and well under the drop the paper shows at its extreme "
     f"points."),
    ("EXTREME_DROP", EXTREME_DROP, f"more than {100 * EXTREME_DROP:.0f} pt below the stable ones", "4.2 (3)",
     "a drop appears only with extremely few unique values (RP 1e-4, 1e-5)",
     f"Any fall of more than {100 * EXTREME_DROP:.0f} point below the lowest stable strategy counts as the drop: a "
     f"bar below the paper's own drop, so that the claim does not fail on a drop smaller than the paper's; the "
     f"interval must still clear it."),
    ("EXTREME_VALUES", EXTREME_VALUES, f"at most {EXTREME_VALUES} unique values", "4.2 (3)",
     "extremely few unique values (RP 1e-4, 1e-5)",
     f"RP's ratios are fractions of the largest layer, so one ratio means different counts at different widths. "
     f"Counted in values, the paper's extreme points keep a handful or one on its ConvMixer-256, where its RP 1e-3 "
     f"keeps tens: {EXTREME_VALUES} separates the two (the unique-value tables of the Method chapter)."),
    ("MARGIN", MARGIN, f"more than {100 * MARGIN:.0f} pt above each baseline", "4.3 Fig. 4 (1)",
     "PEMN outperforms the baselines by a significant margin, with even higher compression",
     f"\"Significant\" is read as more than {100 * MARGIN:.0f} point clear of every baseline of lower or equal "
     f"compression, and the 95 % interval must clear that, so seed noise is counted on top; the paper's own margins "
     f"are larger."),
)
"""(name, value, the bar in words, claim, the paper's words, why this number) of every threshold above."""

BASELINES = PAPER_BASELINES


# --- comparisons -----------------------------------------------------------------------------------------------

def compare(text: str, e: Estimate, runs=(), fails: bool = False) -> Comparison:
    """A comparison from a contrast's estimate."""
    return Comparison(text, e.margin, Noise(e), tuple(runs), fails, e.se, e.df)


def _runs(*pts) -> tuple[str, ...]:
    """The run ids behind points (rows, frames of points, or dicts with a comma-separated ``runs``)."""
    ids = []
    for q in pts:
        values = q["runs"] if isinstance(q, pd.DataFrame) else [q["runs"]]
        ids += [r for v in values for r in str(v).split(", ") if r]
    return tuple(dict.fromkeys(ids))


def _pt(r, comp: bool = False) -> str:
    return f"{r['method']} {pct(r['mean'])}" + (f" @ {pct(r['compression'])}" if comp else "")


def _vs(a, b, threshold: float, text: str) -> Comparison:
    """``a`` must exceed ``b`` by more than ``threshold``."""
    return compare(text, welch(a, b, threshold=threshold), _runs(a, b))


def _mean_of(q: pd.DataFrame, coef: float) -> list:
    """Terms of ``coef`` times the mean over ``q``'s points (methods), each point with its own seed variance."""
    return [(coef / len(q), r) for _, r in q.iterrows()]


def _one(q: pd.DataFrame, method: str):
    """The point of ``method`` in one cell (network and budget, :func:`.frame.cells`), or None."""
    q = q[q["merged"].map(lambda ms: method in ms)]
    return None if q.empty else q.iloc[0]


def _among(p: pd.DataFrame, labels) -> pd.Series:
    return p["merged"].map(lambda ms: any(m in labels for m in ms))


def _position(p: pd.DataFrame) -> pd.Series:
    order = {m: i for i, m in enumerate(SPARSE_ORDER)}
    return p["merged"].map(lambda ms: min(order.get(m, 99) for m in ms))


# --- Sec. 4.2 (Fig. 3) ---------------------------------------------------------------------------------------------

def claim_promising(p: pd.DataFrame) -> Verdict:
    out = []
    for g, q in cells(p):
        d, m = _one(q, "dense"), _one(q, "mask")
        if d is None or m is None:
            continue
        out.append(compare(f"{g}: mask {pct(m['mean'])} vs {PROMISING:.0%} of dense {pct(d['mean'])}",
                           welch(m, d, c=PROMISING), _runs(m, d)))
    return decide(out, "needs dense and mask runs")


def claim_gradual_drop(p: pd.DataFrame) -> Verdict:
    out = []
    for g, c in cells(p):
        q = c[_among(c, SPARSE_ORDER)]
        if len(q) < 4:
            continue
        pos = _position(q)
        rho = float(pos.rank().corr(q["mean"].rank()))
        first, last = q.loc[pos.idxmin()], q.loc[pos.idxmax()]
        out.append(compare(f"{g}: {_pt(first)} → {_pt(last)}, Spearman ρ = {rho:.2f} over {len(q)} distinct "
                           f"networks (needs ≤ {RANK_CORR})", welch(first, last), _runs(first, last),
                           fails=rho > RANK_CORR))
    return decide(out, "needs ≥ 4 distinct masked networks")


def claim_extreme_drop(p: pd.DataFrame) -> Verdict:
    """Stable while unique values are many, a drop at a handful: judged in unique values, not in RP ratios.

    The stable points are the sharing strategies (one-layer … RP 1e-5) that keep more than ``EXTREME_VALUES``
    distinct values, the extreme ones those that keep at most that many (on the paper's ConvMixer-256, RP 1e-4
    and RP 1e-5; on a narrower model already RP 1e-3)."""
    out = []
    for g, c in cells(p):
        m = _one(c, "mask")
        q = c[_among(c, STABLE_SET + EXTREME_SET) & c["unique_values"].notna()]
        few = q["unique_values"].astype(float) <= EXTREME_VALUES
        stable, extreme = q[~few], q[few]
        if m is None or len(stable) < 2 or extreme.empty:
            continue
        worst = stable.loc[stable["mean"].idxmin()]
        best_extreme = extreme.loc[extreme["mean"].idxmax()]
        out.append(compare(f"{g}: stable: {_pt(worst)} ({worst['unique_values']:,.0f} values) within "
                           f"{100 * STABLE_TOL:.0f} pts of mask {pct(m['mean'])}",
                           welch(worst, m, threshold=-STABLE_TOL), _runs(m, worst)))
        out.append(_vs(worst, best_extreme, EXTREME_DROP,
                       f"{g}: drop: {_pt(best_extreme)} ({best_extreme['unique_values']:,.0f} values) more than "
                       f"{100 * EXTREME_DROP:.0f} pt below the lowest stable point, {_pt(worst)}"))
    return decide(out, f"needs mask, ≥ 2 sharing strategies with more than {EXTREME_VALUES} unique values and one "
                       f"with at most {EXTREME_VALUES}")


def _gap_shrinks(ds, small: pd.DataFrame, dl, large: pd.DataFrame) -> Estimate:
    """(dense − mean of the methods) at the small size minus the same at the large size, each mean its own."""
    return contrast([(1.0, ds), (-1.0, dl)] + _mean_of(small, -1.0) + _mean_of(large, 1.0))


def _size_comparisons(s: pd.DataFrame, title: str, accuracies: bool = True) -> list[Comparison]:
    """Smallest against largest size of one series: dense and masked accuracy rise, the gap to dense shrinks."""
    sizes = sorted(s["size"].unique())
    small, large = (points(s[s["size"] == z]) for z in (sizes[0], sizes[-1]))
    common = sorted((set(small["method"]) & set(large["method"])) - {REFERENCE})
    if REFERENCE not in set(small["method"]) or REFERENCE not in set(large["method"]) or not common:
        return []
    names = [small["arch"].iloc[0], large["arch"].iloc[0]]
    ds, dl = (q[q["method"] == REFERENCE].iloc[0] for q in (small, large))
    ms, ml = (q[q["method"].isin(common)] for q in (small, large))
    gap_s, gap_l = ds["mean"] - ms["mean"].mean(), dl["mean"] - ml["mean"].mean()
    out = [compare(f"{title}: gap to dense of {', '.join(common)}: {names[0]} {signed(gap_s, sign=False)} → "
                   f"{names[1]} {signed(gap_l, sign=False)} pts", _gap_shrinks(ds, ms, dl, ml), _runs(ds, dl, ms, ml))]
    if accuracies:
        out += [_vs(dl, ds, 0.0, f"{title}: dense {names[0]} {pct(ds['mean'])} → {names[1]} {pct(dl['mean'])}"),
                compare(f"{title}: masked ({', '.join(common)}) {names[0]} {pct(ms['mean'].mean())} → {names[1]} "
                        f"{pct(ml['mean'].mean())}", contrast(_mean_of(ml, 1.0) + _mean_of(ms, -1.0)),
                        _runs(ms, ml))]
    return out


def _along(df: pd.DataFrame, axes, fn) -> tuple[list[Comparison], list[str]]:
    """``fn(series, title)``'s comparisons over every size series of ``df`` along ``axes``, and the series
    left out because their training budgets differ."""
    out, skipped = [], []
    for axis in axes:
        for title, s in size_series(df, axis):
            note = budget_note(s)
            if note:
                skipped.append(f"{title}: {note}")
            else:
                out += fn(s, title)
    return out, skipped


def claim_larger_is_better(df: pd.DataFrame, axes=tuple(AXES)) -> Verdict:
    """Larger depth/width: higher dense and masked accuracy and a smaller gap to dense, smallest against largest
    size of each series along ``axes`` (Fig. 3, Fig. 5 and width runs; runs of unequal budgets are not compared)."""
    out, skipped = _along(df[df["family"].isin(["dense", "PEMN"])], axes, _size_comparisons)
    return decide(out, "; ".join(skipped) or "needs two sizes of one backbone with dense and masked runs at one "
                                             "training budget (the paper: width 256/512, depth 6/8)")


def _seed_rises(q: pd.DataFrame) -> dict | None:
    """Per seed, the total rise of that seed's accuracy along the strategy axis, summed over ``q``'s groups:
    mean, sample standard deviation and number of seeds (the seeds every point of the backbone has)."""
    per_point = [dict(zip(str(r["seeds"]).split(", "), r["accs"])) for _, r in q.iterrows()]
    seeds = sorted(set.intersection(*(set(d) for d in per_point)))
    if not seeds:
        return None
    rises = pd.Series(0.0, index=seeds)
    for _, s in q.groupby("group"):
        s = s.sort_values("order")
        for seed in seeds:
            curve = pd.Series([dict(zip(str(r["seeds"]).split(", "), r["accs"]))[seed] for _, r in s.iterrows()])
            rises[seed] += curve.diff().clip(lower=0).sum()
    return {"mean": float(rises.mean()), "std": float(rises.std()) if len(rises) > 1 else 0.0, "n": len(rises),
            "runs": ", ".join(q["runs"])}


def claim_vit_fluctuates(p: pd.DataFrame) -> Verdict:
    """ViT against ConvMixer at each training budget both were trained at."""
    out = []
    several = p["budget_key"].nunique() > 1
    for key, pb in p.groupby("budget_key", sort=False):
        rises = {}
        for backbone in ("convmixer", "vit"):
            q = pb[(pb["backbone"] == backbone) & _among(pb, SPARSE_ORDER)]
            if len(q) >= 4 and (r := _seed_rises(q.assign(order=_position(q)))) is not None:
                rises[backbone] = r
        if len(rises) < 2:
            continue
        vit, cm = rises["vit"], rises["convmixer"]
        out.append(_vs(vit, cm, 0.0, (f"{budget_label(key)}: " if several else "")
                       + f"total rise left → right per seed (non-monotonicity), mean over seeds: ViT "
                         f"{signed(vit['mean'], 2, False)} vs ConvMixer {signed(cm['mean'], 2, False)} pts"))
    return decide(out, "needs ConvMixer and ViT runs across the strategies at one training budget")


# --- Sec. 4.3 (Fig. 4 and 5) ---------------------------------------------------------------------------------------

def claim_outperforms(p: pd.DataFrame, competitors=BASELINES, at_most_compression: bool = True,
                      threshold: float = 0.0, pemn: pd.DataFrame | None = None) -> Verdict:
    """Every PEMN point beats every competitor point (of lower or equal compression when asked) by ``threshold``.

    ``competitors`` are the method families PEMN is compared with; ``pemn`` overrides the PEMN points (e.g. a
    smaller backbone's against a larger one's competitors, in which case ``p`` holds the competitors).
    """
    out, skipped = [], []
    groups = [(None, pemn, p, p)] if pemn is not None else [(g, None, None, q) for g, q in cells(p)]
    for g, ours, theirs, q in groups:
        ours = q[q["family"] == "PEMN"] if ours is None else ours
        rivals = q[q["family"].isin(competitors)] if theirs is None else theirs[theirs["family"].isin(competitors)]
        if ours.empty or rivals.empty:
            continue
        paired = False
        for _, a in ours.iterrows():
            near = rivals[rivals["compression"] <= a["compression"] + 1e-9] if at_most_compression else rivals
            for _, b in near.iterrows():
                paired = True
                out.append(_vs(a, b, threshold, f"{a['group']} {_pt(a, True)} vs {b['group']} {_pt(b, True)}"
                               if g is None else f"{g}: {_pt(a, True)} vs {_pt(b, True)}"))
        if not paired:
            skipped.append(f"{g or 'PEMN'}: no competitor at or below PEMN's compression")
    return decide(out, "; ".join(skipped) or "needs PEMN and competitor runs")


def _slope_terms(s: pd.DataFrame, coef: float) -> list:
    """``coef`` times the least-squares slope of accuracy on compression, as a contrast of ``s``'s points."""
    x = s["compression"].astype(float)
    sxx = float(((x - x.mean()) ** 2).sum())
    return [(coef * (xi - x.mean()) / sxx, r) for xi, (_, r) in zip(x, s.iterrows())]


def claim_robust(p: pd.DataFrame) -> Verdict:
    """Baselines lose accuracy as compression rises; PEMN loses less (slopes compared over the baselines' span)."""
    out = []
    for g, q in cells(p):
        ours = q[q["family"] == "PEMN"]
        for fam in BASELINES:
            base = q[q["family"] == fam]
            if min(len(ours), len(base)) < 2 or ours["compression"].nunique() < 2 or base["compression"].nunique() < 2:
                continue
            span = float(base["compression"].max() - base["compression"].min())
            sb, sp = (contrast(_slope_terms(s, span)).margin for s in (base, ours))
            out.append(compare(f"{g}: {fam} degrades over its span ({100 * span:.0f} pts of compression): "
                               f"{100 * sb:+.1f} pts", contrast(_slope_terms(base, -span)), _runs(base)))
            robust = _slope_terms(base, -span if sb < 0 else span) + _slope_terms(ours, span if sp < 0 else -span)
            out.append(compare(f"{g}: over {fam}'s span ({100 * span:.0f} pts of compression) {fam} changes "
                               f"{100 * sb:+.1f} pts, PEMN at its slope "
                               f"{100 * sp:+.1f} pts", contrast(robust), _runs(ours, base)))
    return decide(out, "needs ≥ 2 compression points per method")


def claim_small_beats_large(p: pd.DataFrame) -> Verdict:
    out, skipped = [], []
    for ds, q in p.groupby("dataset"):
        small = q[(q["backbone"] == "resnet32") & (q["family"] == "PEMN")]
        large = q[(q["backbone"] == "resnet56")]
        note = budget_note(pd.concat([small, large])) if not small.empty and not large.empty else None
        if note:
            skipped.append(f"{dataset_label(ds)}: {note}")
            continue
        out += list(claim_outperforms(large, pemn=small).comparisons)
    return decide(out, "; ".join(skipped) or "needs ResNet32 PEMN and ResNet56 baseline runs at one training budget")


def claim_larger_loses_less(p: pd.DataFrame, sizes: pd.DataFrame | None = None, axes=tuple(AXES)) -> Verdict:
    """The larger network's PEMN points lose less against its dense counterpart: ResNet32 against ResNet56
    (depth, Fig. 4 points ``p``) and, given the width runs as ``sizes``, the narrowest against the widest."""
    out, skipped = [], []
    for ds, q in (p.groupby("dataset") if "depth" in axes and not p.empty else []):
        d = {b: q[(q["backbone"] == b) & (q["family"] == REFERENCE)] for b in ("resnet32", "resnet56")}
        m = {b: q[(q["backbone"] == b) & (q["family"] == "PEMN")] for b in ("resnet32", "resnet56")}
        common = set(m["resnet32"]["method"]) & set(m["resnet56"]["method"])
        if any(x.empty for x in d.values()) or not common:
            continue
        note = budget_note(pd.concat([*d.values(), *m.values()]))
        if note:
            skipped.append(f"{dataset_label(ds)}: {note}")
            continue
        (d32, d56), (m32, m56) = (d[b].iloc[0] for b in d), (m[b][m[b]["method"].isin(common)] for b in m)
        g32, g56 = d32["mean"] - m32["mean"].mean(), d56["mean"] - m56["mean"].mean()
        out.append(compare(f"depth, {dataset_label(ds)}: dense − mean PEMN ({', '.join(sorted(common))}), ResNet32 "
                           f"{signed(g32, sign=False)} pts vs ResNet56 {signed(g56, sign=False)} pts", _gap_shrinks(d32, m32, d56, m56),
                           _runs(d32, m32, d56, m56)))
    if sizes is not None and "width" in axes and not sizes.empty:
        more, skip = _along(sizes[sizes["family"].isin(["dense", "PEMN"])], ("width",),
                            lambda s, t: _size_comparisons(s, t, accuracies=False))
        out += more
        skipped += skip
    return decide(out, "; ".join(skipped) or "needs dense and PEMN runs of ResNet32 and ResNet56 (or of several "
                                             "widths) at one training budget")


def claim_smaller_and_better(p: pd.DataFrame, competitors=BASELINES) -> Verdict:
    """Some PEMN point at or beyond the competitors' highest compression is more accurate than their best point."""
    out = []
    for g, q in cells(p):
        ours, rivals = q[q["family"] == "PEMN"], q[q["family"].isin(competitors)]
        if ours.empty or rivals.empty:
            continue
        best = rivals.loc[rivals["mean"].idxmax()]
        eligible = ours[ours["compression"] >= rivals["compression"].max() - 1e-9]
        if eligible.empty:
            a = ours.loc[ours["compression"].idxmax()]
            out.append(compare(f"{g}: no PEMN point reaches the competitors' highest compression "
                               f"{pct(rivals['compression'].max())}; the most compressed, {_pt(a, True)}",
                               welch(a, best), _runs(a, best), fails=True))
            continue
        a = eligible.loc[eligible["mean"].idxmax()]
        out.append(_vs(a, best, 0.0, f"{g}: {_pt(a, True)} (compression ≥ the competitors' highest, "
                                     f"{pct(rivals['compression'].max())}) vs the best competitor {_pt(best, True)}"))
    return decide(out, "needs PEMN and competitor runs")


# --- all claims -----------------------------------------------------------------------------------------------------

CLAIMS = (
    ("4.2 (1)", "Compared with the dense model, sparse selection (mask) obtains promising results, with a "
                "performance drop from fixing the weights.",
     f"mask reaches ≥ {PROMISING:.0%} of dense accuracy on every Fig. 3 backbone"),
    ("4.2 (2)", "From left to right (fewer unique values) performance gradually drops.",
     f"Spearman correlation of accuracy with position mask → RP 1e-5 ≤ {RANK_CORR}, and the last point below mask, "
     f"on every backbone"),
    ("4.2 (3)", "A drop appears only with extremely few unique values (RP 1e-4, 1e-5); results stay stable for "
                "most strategies.",
     f"counted in unique values, as RP's ratios are relative to the largest layer: every sharing strategy that keeps "
     f"more than {EXTREME_VALUES} values within {100 * STABLE_TOL:.0f} pts of mask, and those keeping at most "
     f"{EXTREME_VALUES} (the paper's RP 1e-4/1e-5 keep 7 and 1 on its ConvMixer-256) more than "
     f"{100 * EXTREME_DROP:.0f} pt below the lowest of them"),
    ("4.2 (4)", "Larger depth and hidden dimension boost capacity; the drop of random-weight strategies from "
                "their dense counterpart decreases.",
     "width and depth separately, smallest against largest size of a backbone trained at one budget: the larger has "
     "higher dense and masked accuracy and a smaller gap to dense"),
    ("4.2 (remark)", "ViT fluctuates more than ConvMixer when unique values are few.",
     "ViT's accuracy rises more along the strategy axis than ConvMixer's (each seed's total non-monotonic rise)"),
    ("4.3 Fig. 4 (1)", "PEMN outperforms the baselines by a significant margin, with even higher compression.",
     f"every PEMN point beats every baseline point of lower or equal compression (paper's accounting) by more "
     f"than {100 * MARGIN:.0f} pt"),
    ("4.3 Fig. 4 (2)", "Baselines degrade clearly as compression rises; PEMN is relatively robust to it.",
     "least-squares slope of accuracy against compression: each baseline's negative, PEMN's smaller in magnitude"),
    ("4.3 Fig. 4 (3)", "Compressed small models (PEMN) beat baselines using the larger model.",
     "every ResNet32 PEMN point beats every ResNet56 baseline point of lower or equal compression, both ResNets "
     "trained at one budget (depth only: the width runs have no baselines)"),
    ("4.3 Fig. 4 (4)", "ResNet56 (more parameters) loses less against its dense counterpart than ResNet32.",
     "dense − mean PEMN accuracy is smaller for ResNet56 than for ResNet32 (depth) and for the widest ConvMixer "
     "than for the narrowest (width), at one training budget"),
    ("4.3 Fig. 5 (1)", "PEMN outperforms the baselines on ConvMixer of both depths.",
     "every PEMN point beats every baseline point (any compression), per depth"),
    ("4.3 Fig. 5 (2)", "PEMN compresses to a lower size yet keeps higher accuracy.",
     "some PEMN point has compression ≥ the baselines' highest and accuracy > the baselines' best"),
)


def near_chance(p: pd.DataFrame) -> str | None:
    """Why a figure's runs cannot test anything: every point within 2x chance accuracy (None when they can)."""
    if p.empty:
        return None
    chance = p["dataset"].map({"cifar100": 0.01}).fillna(0.1)
    if (p["mean"] < 2 * chance).all():
        return (f"every run is near chance (best {pct(p['mean'].max())}, chance {pct(chance.max(), 0)}): "
                f"a plumbing-scale profile cannot test this")
    return None


def _by_figure(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {f: (df[df["figures"].apply(lambda x: f in x)] if not df.empty else df)
            for f in ("fig3", "fig4", "fig5", "width")}


def _size_runs(figs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The runs whose sizes vary along an axis of one backbone: Fig. 3, Fig. 5 and width runs, each once."""
    return pd.concat([figs["fig3"], figs["fig5"], figs["width"]]).drop_duplicates("run_id")


def evaluate_frame(df: pd.DataFrame) -> list[Verdict]:
    """One verdict per entry of ``CLAIMS``, from the runs' rows (``frame.records_frame``)."""
    figs = _by_figure(df)
    pts = {f: points(d) for f, d in figs.items()}
    why = {f: near_chance(p) for f, p in pts.items()}
    usable = {f: not pts[f].empty and not why[f] for f in figs}
    missing = {f: (f"no usable Fig. {f[-1]} runs: {why[f]}" if why[f] else f"no completed Fig. {f[-1]} run yet")
               for f in ("fig3", "fig4", "fig5")}
    size_runs = _size_runs(figs)

    def when(fig, fn, *args):
        return fn(*args) if usable[fig] else Verdict(NOT_TESTED, missing[fig])
    sizes_ok = not why["fig3"] and not why["fig5"]
    p3, p4, p5 = pts["fig3"], pts["fig4"], pts["fig5"]
    return [
        when("fig3", claim_promising, p3),
        when("fig3", claim_gradual_drop, p3),
        when("fig3", claim_extreme_drop, p3),
        claim_larger_is_better(size_runs) if sizes_ok and not size_runs.empty else
        Verdict(NOT_TESTED, missing["fig3"] if why["fig3"] else missing["fig5"]),
        when("fig3", claim_vit_fluctuates, p3),
        when("fig4", claim_outperforms, p4, BASELINES, True, MARGIN),
        when("fig4", claim_robust, p4),
        when("fig4", claim_small_beats_large, p4),
        when("fig4", claim_larger_loses_less, p4, figs["width"]),
        when("fig5", claim_outperforms, p5, BASELINES, False, 0.0),
        when("fig5", claim_smaller_and_better, p5),
    ]


def evaluate(records) -> list[Verdict]:
    """One verdict per entry of ``CLAIMS``, from run records (``pemn.runs.RunRecord``, read or hand-made)."""
    return evaluate_frame(records_frame(records))


SIZE_CLAIMS = ("4.2 (4)", "4.3 Fig. 4 (3)", "4.3 Fig. 4 (4)")


def evaluate_sizes(df: pd.DataFrame) -> list[tuple[str, str, Verdict]]:
    """``(claim, axis, verdict)`` for the size claims, width and depth apart, from the runs' rows."""
    figs = _by_figure(df)
    sizes = _size_runs(figs)
    p4 = points(figs["fig4"])
    out = [("4.2 (4)", axis, claim_larger_is_better(sizes, (axis,)) if not sizes.empty else
            Verdict(NOT_TESTED, "no Fig. 3, Fig. 5 or width runs yet")) for axis in AXES]
    out += [("4.3 Fig. 4 (3)", "width", Verdict(NOT_TESTED, "the width runs have no sparse baselines")),
            ("4.3 Fig. 4 (3)", "depth", claim_small_beats_large(p4) if not p4.empty else
             Verdict(NOT_TESTED, "no Fig. 4 runs yet"))]
    out += [("4.3 Fig. 4 (4)", axis, claim_larger_loses_less(p4, figs["width"], (axis,))) for axis in AXES]
    return out
