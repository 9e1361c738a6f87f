"""The claims engine: run records in, one ``Verdict`` per conclusion of the paper out (no files, no display).

Every claim reduces to comparisons of two accuracies (means over seeds) against a threshold. Each
comparison has a *margin* (how far it clears the threshold; negative when it falls short) and a *seed
noise*: twice the standard error of the difference of the two means, ``2 √(s_a²/n_a + s_b²/n_b)``, where
n is the number of seeds behind a mean and s its spread: the point's own standard deviation over seeds,
or the figure's typical one (the median over its points with two or more seeds) when that is larger, since
two seeds often agree by chance. A comparison is *held* when its margin exceeds the noise, *not held* when
it falls short by more than the noise, and *inconclusive* in between. A claim is not held if any of its
comparisons is, else inconclusive if any is, else held; the comparison that decides it is the worst of
that kind, and the verdict names it with its run ids. Runs that are missing make it *not tested*.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd

from .frame import points, records_frame
from .labels import BASELINE_LABEL, EXTREME_SET, SPARSE_ORDER, STABLE_SET, dataset_label, pct
from .size import AXES, budget_note, size_series

STABLE_TOL = 0.03       # claim 4.2(3): "stable" = within 3 points of mask
EXTREME_DROP = 0.01     # claim 4.2(3): "drop" = RP 1e-4/1e-5 more than 1 point below the stable strategies
PROMISING = 0.85        # claim 4.2(1): "promising" = mask reaches 85 % of dense accuracy
RANK_CORR = -0.5        # claim 4.2(2): "gradually drops" = Spearman correlation <= -0.5
MARGIN = 0.01           # claim 4.3(1): "significant margin" = more than 1 point beyond the seed noise
NOISE_SIGMAS = 2.0      # a margin within 2 standard deviations of seed noise is inconclusive

HELD, NOT_HELD, INCONCLUSIVE, NOT_TESTED = "held", "not held", "inconclusive", "not tested"
BASELINES = tuple(BASELINE_LABEL.values())


@dataclass(frozen=True)
class Comparison:
    """One comparison a claim rests on: ``margin`` > ``noise`` holds, < −``noise`` fails, otherwise undecided."""
    text: str
    margin: float
    noise: float
    runs: tuple[str, ...] = ()
    fails: bool = False  # fails whatever the margin (a precondition such as a rank correlation is not met)

    @property
    def outcome(self) -> str:
        band = self.noise + 1e-9  # equal accuracies stay equal under floating-point sums
        if self.fails or self.margin < -band:
            return NOT_HELD
        return HELD if self.margin > band else INCONCLUSIVE


@dataclass(frozen=True)
class Verdict:
    """What the runs say about one claim, and the comparison that decides it."""
    outcome: str
    evidence: str
    deciding: Comparison | None = None
    comparisons: tuple[Comparison, ...] = field(default=(), repr=False)

    @property
    def margin(self) -> float | None:
        return self.deciding.margin if self.deciding else None

    @property
    def noise(self) -> float | None:
        return self.deciding.noise if self.deciding else None

    @property
    def runs(self) -> tuple[str, ...]:
        return self.deciding.runs if self.deciding else ()


def decide(comparisons: list[Comparison], evidence: str) -> Verdict:
    """The verdict of a claim from its comparisons (see the module's docstring)."""
    if not comparisons:
        return Verdict(NOT_TESTED, evidence)
    for outcome in (NOT_HELD, INCONCLUSIVE, HELD):
        hit = [c for c in comparisons if c.outcome == outcome]
        if hit:
            worst = min(hit, key=lambda c: (not c.fails, c.margin - c.noise))
            return Verdict(outcome, evidence, worst, tuple(comparisons))


# --- seed noise -------------------------------------------------------------------------------------------------

def seed_sigma(p: pd.DataFrame) -> float:
    """A figure's typical seed spread: the median standard deviation over seeds of its points (0 with one seed)."""
    multi = p[p["n"] >= 2]
    return float(multi["std"].median()) if not multi.empty else 0.0


def _noise(sigma: float, a, b) -> float:
    """Seed noise of ``mean(a) - mean(b)`` (see the module's docstring)."""
    def var(q):
        return max(float(q.get("std", 0.0) or 0.0), sigma) ** 2 / max(int(q["n"]), 1)
    return NOISE_SIGMAS * math.sqrt(var(a) + var(b))


def _runs(*pts) -> tuple[str, ...]:
    """The run ids behind points (rows, frames of points, or dicts with a comma-separated ``runs``)."""
    ids = []
    for q in pts:
        values = q["runs"] if isinstance(q, pd.DataFrame) else [q["runs"]]
        ids += [r for v in values for r in str(v).split(", ") if r]
    return tuple(dict.fromkeys(ids))


def _pt(r, comp: bool = False) -> str:
    return f"{r['method']} {pct(r['mean'])}" + (f" @ {pct(r['compression'])}" if comp else "")


def _vs(a, b, sigma: float, threshold: float, text: str) -> Comparison:
    """``a`` must exceed ``b`` by more than ``threshold``."""
    return Comparison(text, float(a["mean"] - b["mean"] - threshold), _noise(sigma, a, b), _runs(a, b))


def _one(p: pd.DataFrame, group: str, method: str):
    q = p[(p["group"] == group) & p["merged"].map(lambda ms: method in ms)]
    return None if q.empty else q.iloc[0]


def _among(p: pd.DataFrame, labels) -> pd.Series:
    return p["merged"].map(lambda ms: any(m in labels for m in ms))


def _position(p: pd.DataFrame) -> pd.Series:
    order = {m: i for i, m in enumerate(SPARSE_ORDER)}
    return p["merged"].map(lambda ms: min(order.get(m, 99) for m in ms))


# --- Sec. 4.2 (Fig. 3) ---------------------------------------------------------------------------------------------

def claim_promising(p: pd.DataFrame) -> Verdict:
    sigma, out = seed_sigma(p), []
    for g in p["group"].unique():
        d, m = _one(p, g, "dense"), _one(p, g, "mask")
        if d is None or m is None:
            continue
        out.append(Comparison(f"{g}: mask {pct(m['mean'])} vs {PROMISING:.0%} of dense {pct(d['mean'])}",
                              float(m["mean"] - PROMISING * d["mean"]), _noise(sigma, m, d), _runs(m, d)))
    return decide(out, "needs dense and mask runs")


def claim_gradual_drop(p: pd.DataFrame) -> Verdict:
    sigma, out = seed_sigma(p), []
    for g in p["group"].unique():
        q = p[(p["group"] == g) & _among(p, SPARSE_ORDER)]
        if len(q) < 4:
            continue
        pos = _position(q)
        rho = float(pos.rank().corr(q["mean"].rank()))
        first, last = q.loc[pos.idxmin()], q.loc[pos.idxmax()]
        c = _vs(first, last, sigma, 0.0, f"{g}: {_pt(first)} → {_pt(last)}, Spearman ρ = {rho:.2f} over {len(q)} "
                                         f"distinct networks (needs ≤ {RANK_CORR})")
        out.append(Comparison(c.text, c.margin, c.noise, c.runs, fails=rho > RANK_CORR))
    return decide(out, "needs ≥ 4 distinct masked networks")


def claim_extreme_drop(p: pd.DataFrame) -> Verdict:
    sigma, out = seed_sigma(p), []
    for g in p["group"].unique():
        m = _one(p, g, "mask")
        q = p[p["group"] == g]
        stable, extreme = q[_among(q, STABLE_SET) & ~_among(q, EXTREME_SET)], q[_among(q, EXTREME_SET)]
        if m is None or len(stable) < 2 or extreme.empty:
            continue
        worst = stable.loc[stable["mean"].idxmin()]
        best_extreme = extreme.loc[extreme["mean"].idxmax()]
        out.append(Comparison(f"{g}: stable: {_pt(worst)} within {100 * STABLE_TOL:.0f} pts of mask {pct(m['mean'])}",
                              float(STABLE_TOL - (m["mean"] - worst["mean"])), _noise(sigma, m, worst),
                              _runs(m, worst)))
        out.append(_vs(worst, best_extreme, sigma, EXTREME_DROP,
                       f"{g}: drop: {_pt(best_extreme)} more than {100 * EXTREME_DROP:.0f} pt below the lowest "
                       f"stable point, {_pt(worst)}"))
    return decide(out, "needs mask, ≥ 2 of one-layer…RP 1e-3 and RP 1e-4 or 1e-5")


def _gap(d: pd.DataFrame, methods) -> dict:
    """Mean accuracy of ``methods``' points in ``d`` as one point (seeds summed for the noise)."""
    q = d[d["method"].isin(methods)]
    return {"mean": q["mean"].mean(), "n": int(q["n"].sum()), "runs": ", ".join(q["runs"])}


def _size_comparisons(s: pd.DataFrame, title: str, accuracies: bool = True) -> list[Comparison]:
    """Smallest against largest size of one series: dense and masked accuracy rise, the gap to dense shrinks."""
    sizes = sorted(s["size"].unique())
    small, large = (points(s[s["size"] == z]) for z in (sizes[0], sizes[-1]))
    common = sorted((set(small["method"]) & set(large["method"])) - {"dense"})
    if "dense" not in set(small["method"]) or "dense" not in set(large["method"]) or not common:
        return []
    sigma = seed_sigma(pd.concat([small, large]))
    names = [small["arch"].iloc[0], large["arch"].iloc[0]]
    ds, dl = (q[q["method"] == "dense"].iloc[0] for q in (small, large))
    ms, ml = _gap(small, common), _gap(large, common)
    gap_s, gap_l = ds["mean"] - ms["mean"], dl["mean"] - ml["mean"]
    out = [Comparison(f"{title}: gap to dense of {', '.join(common)}: {names[0]} {100 * gap_s:.1f} → {names[1]} "
                      f"{100 * gap_l:.1f} pts", float(gap_s - gap_l), _noise(sigma, ms, ml), _runs(ds, dl, small, large))]
    if accuracies:
        out += [_vs(dl, ds, sigma, 0.0, f"{title}: dense {names[0]} {pct(ds['mean'])} → {names[1]} {pct(dl['mean'])}"),
                _vs(ml, ms, sigma, 0.0, f"{title}: masked ({', '.join(common)}) {names[0]} {pct(ms['mean'])} → "
                                        f"{names[1]} {pct(ml['mean'])}")]
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


def claim_vit_fluctuates(p: pd.DataFrame) -> Verdict:
    rises = {}
    for backbone in ("convmixer", "vit"):
        q = p[(p["backbone"] == backbone) & _among(p, SPARSE_ORDER)]
        if len(q) < 4:
            continue
        q = q.assign(order=_position(q))
        rise, n = 0.0, 0
        for _, s in q.groupby("group"):
            rise += s.sort_values("order")["mean"].diff().clip(lower=0).sum()
            n = max(n, int(s["n"].min()))
        rises[backbone] = {"mean": rise, "n": n, "runs": ", ".join(q["runs"])}
    if len(rises) < 2:
        return decide([], "needs ConvMixer and ViT runs across the strategies")
    vit, cm = rises["vit"], rises["convmixer"]
    return decide([_vs(vit, cm, seed_sigma(p), 0.0, f"total rise left → right (non-monotonicity): ViT "
                                                   f"{100 * vit['mean']:.2f} vs ConvMixer {100 * cm['mean']:.2f} pts")],
                  "")


# --- Sec. 4.3 (Fig. 4 and 5) ---------------------------------------------------------------------------------------

def claim_outperforms(p: pd.DataFrame, competitors=BASELINES, at_most_compression: bool = True,
                      threshold: float = 0.0, pemn: pd.DataFrame | None = None) -> Verdict:
    """Every PEMN point beats every competitor point (of lower or equal compression when asked) by ``threshold``.

    ``competitors`` are the method families PEMN is compared with; ``pemn`` overrides the PEMN points (e.g. a
    smaller backbone's against a larger one's competitors, in which case ``p`` holds the competitors).
    """
    sigma, out, skipped = seed_sigma(p if pemn is None else pd.concat([p, pemn])), [], []
    groups = [(None, pemn, p)] if pemn is not None else [(g, None, None) for g in p["group"].unique()]
    for g, ours, theirs in groups:
        q = p if g is None else p[p["group"] == g]
        ours = q[q["family"] == "PEMN"] if ours is None else ours
        rivals = q[q["family"].isin(competitors)] if theirs is None else theirs[theirs["family"].isin(competitors)]
        if ours.empty or rivals.empty:
            continue
        paired = False
        for _, a in ours.iterrows():
            near = rivals[rivals["compression"] <= a["compression"] + 1e-9] if at_most_compression else rivals
            for _, b in near.iterrows():
                paired = True
                out.append(_vs(a, b, sigma, threshold, f"{a['group']} {_pt(a, True)} vs {b['group']} {_pt(b, True)}"
                               if g is None else f"{g}: {_pt(a, True)} vs {_pt(b, True)}"))
        if not paired:
            skipped.append(f"{g or 'PEMN'}: no competitor at or below PEMN's compression")
    return decide(out, "; ".join(skipped) or "needs PEMN and competitor runs")


def _slope(s: pd.DataFrame) -> float:
    import numpy as np
    if len(s) < 2 or s["compression"].nunique() < 2:
        return float("nan")
    return float(np.polyfit(s["compression"], s["mean"], 1)[0])


def claim_robust(p: pd.DataFrame) -> Verdict:
    """Baselines lose accuracy as compression rises; PEMN loses less (slopes compared over the baselines' span)."""
    sigma, out = seed_sigma(p), []
    for g in p["group"].unique():
        q = p[p["group"] == g]
        ours = q[q["family"] == "PEMN"]
        sp = _slope(ours)
        for fam in BASELINES:
            base = q[q["family"] == fam]
            sb = _slope(base)
            if math.isnan(sp) or math.isnan(sb):
                continue
            span = base["compression"].max() - base["compression"].min()
            n = {"n": int(base["n"].min())}
            out.append(Comparison(f"{g}: over {fam}'s span ({100 * span:.0f} pts of compression) {fam} changes "
                                  f"{100 * sb * span:+.1f} pts, PEMN at its slope {100 * sp * span:+.1f} pts",
                                  float((abs(sb) - abs(sp)) * span), _noise(sigma, n, n), _runs(ours, base),
                                  fails=sb >= 0))
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
    sigma, out, skipped = seed_sigma(p) if not p.empty else 0.0, [], []
    for ds, q in (p.groupby("dataset") if "depth" in axes and not p.empty else []):
        gaps = {}
        for b in ("resnet32", "resnet56"):
            d, m = q[(q["backbone"] == b) & (q["family"] == "dense")], q[(q["backbone"] == b) & (q["family"] == "PEMN")]
            if not d.empty and not m.empty:
                gaps[b] = (d.iloc[0], {"mean": m["mean"].mean(), "n": int(m["n"].sum()), "runs": ", ".join(m["runs"])},
                           pd.concat([d, m]))
        if len(gaps) < 2:
            continue
        (d32, m32, r32), (d56, m56, r56) = gaps["resnet32"], gaps["resnet56"]
        note = budget_note(pd.concat([r32, r56]))
        if note:
            skipped.append(f"{dataset_label(ds)}: {note}")
            continue
        g32, g56 = d32["mean"] - m32["mean"], d56["mean"] - m56["mean"]
        out.append(Comparison(f"depth, {dataset_label(ds)}: dense − mean PEMN, ResNet32 {100 * g32:.1f} pts vs "
                              f"ResNet56 {100 * g56:.1f} pts", float(g32 - g56), _noise(sigma, m32, m56),
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
    sigma, out = seed_sigma(p), []
    for g in p["group"].unique():
        q = p[p["group"] == g]
        ours, rivals = q[q["family"] == "PEMN"], q[q["family"].isin(competitors)]
        if ours.empty or rivals.empty:
            continue
        best = rivals.loc[rivals["mean"].idxmax()]
        eligible = ours[ours["compression"] >= rivals["compression"].max() - 1e-9]
        if eligible.empty:
            a = ours.loc[ours["compression"].idxmax()]
            c = _vs(a, best, sigma, 0.0, f"{g}: no PEMN point reaches the competitors' highest compression "
                                         f"{pct(rivals['compression'].max())}; the most compressed, {_pt(a, True)}")
            out.append(Comparison(c.text, c.margin, c.noise, c.runs, fails=True))
            continue
        a = eligible.loc[eligible["mean"].idxmax()]
        out.append(_vs(a, best, sigma, 0.0, f"{g}: {_pt(a, True)} (compression ≥ the competitors' highest, "
                                            f"{pct(rivals['compression'].max())}) vs the best competitor "
                                            f"{_pt(best, True)}"))
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
     f"one-layer … RP 1e-3 all within {100 * STABLE_TOL:.0f} pts of mask, and RP 1e-4/1e-5 more than "
     f"{100 * EXTREME_DROP:.0f} pt below the lowest of them"),
    ("4.2 (4)", "Larger depth and hidden dimension boost capacity; the drop of random-weight strategies from "
                "their dense counterpart decreases.",
     "width and depth separately, smallest against largest size of a backbone trained at one budget: the larger has "
     "higher dense and masked accuracy and a smaller gap to dense"),
    ("4.2 (remark)", "ViT fluctuates more than ConvMixer when unique values are few.",
     "ViT's accuracy rises more often along the strategy axis (total non-monotonic rise) than ConvMixer's"),
    ("4.3 Fig. 4 (1)", "PEMN outperforms the baselines by a significant margin, with even higher compression.",
     f"every PEMN point beats every baseline point of lower or equal compression (paper's accounting) by more "
     f"than {100 * MARGIN:.0f} pt"),
    ("4.3 Fig. 4 (2)", "Baselines degrade clearly as compression rises; PEMN is relatively robust to it.",
     "least-squares slope of accuracy against compression: baselines negative, PEMN's smaller in magnitude"),
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
