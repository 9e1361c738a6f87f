"""The paper's own numbers beside ours (pure: run rows and the paper's values in, tables out; ``show_*`` display).

The paper's values are read from the authors' figures (``pemn.paper_values``: figure, panel, series, x, y). Each
of our points (one network, training budget, recipe and method: :func:`.frame.points`) is set beside the same
method in the paper's panel nearest to it (same backbone, depth and data set, the nearest width), with what
separates the two: width, patch, training images, epochs, recipe, and the epoch reported (the paper the best over
its epochs, we the final one). Claim 4.2 (1) is also judged against the paper's own mask/dense ratio, and each
threshold of the claims engine is set beside the paper's own value of the quantity it bounds.
"""
from __future__ import annotations

import json
import math
import re

import pandas as pd

from .. import methods
from .claims import PROMISING, THRESHOLDS, compare, welch
from .frame import points, recipe_of, recipe_text
from .labels import EXTREME_SET, FIG3_ORDER, MASK, REFERENCE, SPARSE_ORDER, STABLE_SET, budget_label, pct, signed

PAPER_IMAGES = 50_000       # the paper trains on every CIFAR training image
FIG3_SERIES = {"Dense": REFERENCE, "Mask": MASK, "One-layer": "one-layer"}  # "MP-RP": its x names the strategy
BASELINE_SERIES = {"Random": "random pruning", "Minimum": "magnitude pruning"}  # the legends' names: random pruning,
# and pruning the weights of minimum magnitude
# the runs set beside each figure of the paper: Fig. 3's strategies along every budget, width, patch and recipe the
# study trained them at; Fig. 4 and 5 the runs of those figures (a frontier run repeats a seed of them, not a seed)
OURS = {"Fig. 3": ("fig3", "width", "budget", "scale"), "Fig. 4": ("fig4",), "Fig. 5": ("fig5",)}
RECIPE_PARTS = ("learning rate", "weight decay", "batch", "optimizer and schedule", "label smoothing",
                "augmentation")  # the parts of frame.recipe_text, in its order


def _paper_profile():
    from ..grids import get_profile
    return get_profile("paper")


def _ours_labels(figure: str) -> list[str]:
    """PEMN's points of the paper's Fig. 4 or 5, in ascending compression (the paper profile's own list)."""
    p = _paper_profile()
    return [methods.get(s).label({"strategy": s, "ratio": r})
            for s, r in (p.fig4_pemn if figure == "Fig. 4" else p.fig5_pemn)]


def _panel(figure: str, panel: str) -> dict:
    """Backbone, width, depth, patch and data set of a paper panel (``ConvMixer-256/6``, ``ResNet32 CIFAR-10``)."""
    p = _paper_profile()
    if m := re.fullmatch(r"(ConvMixer|ViT)-(\d+)/(\d+)", panel):
        backbone, dim, depth = m[1].lower(), int(m[2]), int(m[3])
        arch = next(a for b, a in p.fig3 if b == backbone and (a["dim"], a["depth"]) == (dim, depth))
        return {"backbone": backbone, "dim": dim, "depth": depth, "patch": arch["patch_size"], "dataset": "cifar10"}
    if m := re.fullmatch(r"ConvMixer/(\d+) (CIFAR-10)", panel):
        arch = next(a for a in p.fig5 if a["depth"] == int(m[1]))
        return {"backbone": "convmixer", "dim": arch["dim"], "depth": arch["depth"], "patch": arch["patch_size"],
                "dataset": "cifar10"}
    m = re.fullmatch(r"ResNet(\d+) CIFAR-(10|100)", panel)
    return {"backbone": f"resnet{m[1]}", "dim": None, "depth": None, "patch": None, "dataset": f"cifar{m[2]}"}


def paper_points(values: pd.DataFrame) -> pd.DataFrame:
    """The paper's values as our labels: figure, panel, its network, method (``mask``, ``RP 1e-2``, ``random
    pruning 90%``), compression (Fig. 4/5, %) and accuracy (a fraction), one row per value of the data file."""
    rows = []
    for (figure, panel), q in values.groupby(["figure", "panel"], sort=False):
        ours = q[q["series"] == "Ours"].assign(c=lambda d: d["x"].astype(float)).sort_values("c")
        rank = dict(zip(ours.index, _ours_labels(figure))) if figure != "Fig. 3" else {}
        for i, r in q.iterrows():
            s, x = r["series"], r["x"]
            if figure == "Fig. 3":
                method = FIG3_SERIES.get(s, x.replace("_", " "))
            else:
                method = (REFERENCE if s == "Dense" else rank[i] if s == "Ours"
                          else f"{BASELINE_SERIES[s]} {float(x):g}%")
            rows.append({"figure": figure, "panel": panel, **_panel(figure, panel), "method": method,
                         "compression": None if x == "all" or figure == "Fig. 3" else float(x) / 100,
                         "acc": r["y"] / 100, "source_file": r["source_file"]})
    return pd.DataFrame(rows)


def _our_points(df: pd.DataFrame, figure: str) -> pd.DataFrame:
    """Our points for the paper's ``figure`` (its runs, ``OURS``), with their best-epoch mean, width and patch."""
    runs = df[df["figures"].map(lambda f: any(x in f for x in OURS[figure]))] if not df.empty else df
    if runs.empty:
        return runs
    p = points(runs).dropna(subset=["mean"])
    best = points(runs, "best_acc").set_index("runs")["mean"]
    arch = p["arch_key"].map(json.loads)
    return p.assign(best=p["runs"].map(best), dim=arch.map(lambda a: a.get("dim")),
                    depth=arch.map(lambda a: a.get("depth")), patch=arch.map(lambda a: a.get("patch_size")))


def _nearest(paper: pd.DataFrame, r) -> pd.DataFrame:
    """The rows of the paper's panel nearest to our point ``r``: same backbone, depth and data set, nearest width."""
    q = paper[(paper["backbone"] == r["backbone"]) & (paper["dataset"] == r["dataset"])]
    if r["backbone"] in ("convmixer", "vit"):
        q = q[q["depth"] == r["depth"]]
    if q.empty or q["dim"].isna().all():
        return q
    far = (q["dim"] / r["dim"]).map(lambda v: abs(math.log(v)))
    return q[far == far.min()]


def _differs(r, paper: dict, paper_recipe: str) -> str:
    """What separates our point from the paper's: each setting that differs, ours first."""
    out = []
    for name, key in (("width", "dim"), ("patch", "patch")):
        if pd.notna(paper[key]) and r[key] != paper[key]:
            out.append(f"{name} {r[key]:g} vs {paper[key]:g}")
    if r["train_size"] != PAPER_IMAGES:
        out.append(f"{r['train_size']:,.0f} vs {PAPER_IMAGES:,} images")
    epochs = _paper_recipe(paper["backbone"], r["strategy"])[1]
    if r["epochs"] != epochs:
        out.append(f"{r['epochs']} vs {epochs} epochs")
    parts = [name for name, a, b in zip(RECIPE_PARTS, r["recipe"].split(", "), paper_recipe.split(", ")) if a != b]
    if parts:
        out.append("recipe: " + ", ".join(parts))
    return "; ".join(out + ["final vs best epoch"])


def _paper_recipe(backbone: str, strategy: str) -> tuple[str, int]:
    """The paper's recipe (``frame.recipe_text``) and epochs for one backbone and method (the ``paper`` profile)."""
    from ..grids import profile_defaults
    from ..train import TrainConfig
    d = profile_defaults(_paper_profile(), backbone)
    return recipe_text(recipe_of({**d, "strategy": strategy})), d.get("epochs", TrainConfig.epochs)


def paper_vs_here(df: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Per figure of the paper, each of our points beside the paper's value of the same method in its nearest panel:
    both accuracies, the difference, our best epoch, and what separates the two; then the paper's values that none
    of our points meets (``here`` empty). ``df``: run rows (``frame.records_frame``); ``values``: the paper's
    (``pemn.paper_values.load()``)."""
    paper = paper_points(values)
    rows, met = [], set()
    for figure in OURS:
        pf = paper[paper["figure"] == figure]
        for _, r in _our_points(df, figure).iterrows():
            near = _nearest(pf, r)
            for label in r["merged"]:
                hit = near[near["method"] == label]
                if hit.empty:
                    continue
                pp = hit.iloc[0]
                met.add(pp.name)
                rows.append({"figure": figure, "paper: network": pp["panel"], "method": label,
                             "paper %": pp["acc"], "paper compression": pp["compression"],
                             "here: network": r["arch"].split(" (")[0] + (f" p{r['patch']:g}" if pd.notna(r["patch"])
                                                                          else ""),
                             "training budget": budget_label(r["budget_key"]), "seeds": int(r["n"]),
                             "here %": r["mean"], "here compression": r["compression"] if figure != "Fig. 3" else None,
                             "here − paper": r["mean"] - pp["acc"], "here, best epoch %": r["best"],
                             "what differs": _differs(r, pp, _paper_recipe(pp["backbone"], r["strategy"])[0]),
                             "runs": r["runs"]})
    t = pd.DataFrame(rows)
    if not t.empty:
        order = {m: i for i, m in enumerate(FIG3_ORDER)}
        t = t.assign(_m=t["method"].map(lambda m: order.get(m, 99)), _b=t["training budget"].map(_budget_size))
        t = t.sort_values(["figure", "paper: network", "_m", "method", "here: network", "_b"],
                          key=lambda c: c.map(_network_size) if c.name == "here: network" else c)
        t = t.drop(columns=["_m", "_b"])
    unmet, whole = paper[~paper.index.isin(met)], paper.groupby("panel").size()
    rest = [{"figure": f, "paper: network": panel, "here: network": "", "what differs": "not run here",
             "method": f"all {len(q)} values" if len(q) == whole[panel] else ", ".join(q["method"])}
            for (f, panel), q in unmet.groupby(["figure", "panel"], sort=False)]
    return pd.concat([t, pd.DataFrame(rest)], ignore_index=True)


def _budget_size(label: str) -> float:
    """``10k images × 10 epochs`` -> images x epochs, for sorting."""
    n = [float(x) for x in re.findall(r"[\d.]+", label)]
    return n[0] * n[-1] if n else 0.0


def _network_size(name: str) -> tuple:
    """``ConvMixer-64/6 p4`` -> (ConvMixer, 64, 6, 4): widths sort as numbers."""
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"[-/ p]+", name) if x)


def promising_vs_paper(df: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Claim 4.2 (1) twice per network and budget where we have dense and mask: by the study's bar (mask ≥
    ``PROMISING`` x dense) and against the paper's own ratio mask/dense of its nearest Fig. 3 panel (mask ≥ that
    ratio x dense), each a Welch comparison of our seed means (the paper's ratio is a constant)."""
    from ..paper_values import gap_to_dense
    paper = paper_points(values)
    ours = _our_points(df, "Fig. 3")
    rows = []
    if ours.empty:
        return pd.DataFrame(rows)
    ours = ours.assign(schedule=ours["recipe"].str.split(", ", n=2).str[2])  # dense and mask differ in rate only
    for _, q in ours.groupby(["arch", "dataset", "budget_key", "schedule"], sort=False):
        d, m = (q[q["method"] == k] for k in (REFERENCE, MASK))
        if d.empty or m.empty:
            continue
        d, m = d.iloc[0], m.iloc[0]
        near = _nearest(paper[paper["figure"] == "Fig. 3"], m)
        if near.empty:
            continue
        g = gap_to_dense(values, near["panel"].iloc[0])
        bar, close = (compare("", welch(m, d, c=c)) for c in (PROMISING, g["ratio"]))
        rows.append({"here: network": m["arch"].split(" (")[0], "training budget": budget_label(m["budget_key"]),
                     "seeds (mask / dense)": f"{m['n']} / {d['n']}", "mask / dense here": m["mean"] / d["mean"],
                     f"mask ≥ {PROMISING:.0%} of dense": bar, "paper: network": g["panel"],
                     "paper's mask / dense": g["ratio"], "mask ≥ the paper's ratio of dense": close,
                     "runs": ", ".join([m["runs"], d["runs"]])})
    return pd.DataFrame(rows)


# --- the thresholds beside the paper's own values -------------------------------------------------------------

def _fig3(values: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per Fig. 3 panel of the paper: method -> accuracy (a fraction)."""
    p = paper_points(values)
    p = p[p["figure"] == "Fig. 3"]
    return {panel: dict(zip(q["method"], q["acc"])) for panel, q in p.groupby("panel", sort=False)}


def _span(xs, fmt) -> str:
    return f"{fmt(min(xs))} to {fmt(max(xs))}"


def _paper_margins(values: pd.DataFrame) -> list[float]:
    """Per Fig. 4/5 panel: PEMN's smallest margin over the best baseline of lower or equal compression."""
    p = paper_points(values)
    out = []
    for _, q in p[p["figure"] != "Fig. 3"].groupby("panel"):
        base = q[q["method"].str.contains("pruning")]
        margins = [r["acc"] - base[base["compression"] <= r["compression"]]["acc"].max()
                   for _, r in q[q["method"].isin(SPARSE_ORDER)].iterrows()
                   if (base["compression"] <= r["compression"]).any()]
        if margins:
            out.append(min(margins))
    return out


def paper_own_values(values: pd.DataFrame) -> dict[str, str]:
    """Threshold name -> the paper's own value of the quantity it bounds, over its panels (from its figures)."""
    from .method import unique_values_table
    f3 = _fig3(values)
    ratio = [v[MASK] / v[REFERENCE] for v in f3.values()]
    rho = [pd.Series([v[m] for m in SPARSE_ORDER]).rank().corr(pd.Series(range(len(SPARSE_ORDER))).rank())
           for v in f3.values()]
    stable = [max(abs(v[m] - v[MASK]) for m in STABLE_SET) for v in f3.values()]
    drop = [min(v[m] for m in STABLE_SET) - max(v[m] for m in EXTREME_SET) for v in f3.values()]
    uv = unique_values_table("paper")
    cm = uv[uv.index.str.startswith("ConvMixer-256/6")].iloc[0]
    pts = lambda x: signed(x, sign=False)  # noqa: E731
    return {"PROMISING": f"mask / dense {_span(ratio, lambda x: f'{x:.2f}')} over its {len(ratio)} Fig. 3 panels",
            "RANK_CORR": f"ρ {_span(rho, lambda x: f'{x:.2f}')} over its Fig. 3 panels",
            "STABLE_TOL": f"the stable strategies within {_span(stable, pts)} pts of mask (per panel, the largest)",
            "EXTREME_DROP": f"RP 1e-4/1e-5 {_span(drop, pts)} pts below the lowest stable strategy",
            "EXTREME_VALUES": f"ConvMixer-256: RP 1e-3 keeps {cm['RP 1e-3']:,} values, RP 1e-4 {cm['RP 1e-4']:,}, "
                              f"RP 1e-5 {cm['RP 1e-5']:,}",
            "MARGIN": f"PEMN's smallest margin per Fig. 4/5 panel: {_span(_paper_margins(values), pts)} pts"}


def threshold_table(values: pd.DataFrame) -> pd.DataFrame:
    """Every threshold of the claims engine: its bar, claim, the paper's words, why this number (``claims.
    THRESHOLDS``) and the paper's own value of the quantity."""
    own = paper_own_values(values)
    return pd.DataFrame([{"threshold": f"`{name}`", "bar": bar, "claim": claim, "the paper's words": f"\"{words}\"",
                          "why this number": why, "the paper's own figures": own[name]}
                         for name, _, bar, claim, words, why in THRESHOLDS])


# --- display ---------------------------------------------------------------------------------------------------

def show_thresholds() -> None:
    from ..paper_values import load as paper_values
    from . import display
    display.show_table(threshold_table(paper_values()),
                       "The claims engine's thresholds (`pemn.report.claims.THRESHOLDS`): the paper names no number "
                       "for any of them; each reads the paper's words as the bar beside them, for the reason given, "
                       "and the last column measures the same quantity on the paper's own figures "
                       "(`pemn/paper_values.csv`).")


def show_promising(profile: str = "cpu") -> None:
    from ..paper_values import load as paper_values
    from . import display
    from .frame import load, notebook_paths
    from .verdict_text import interval
    df = load(profile)
    t = promising_vs_paper(df, paper_values())
    if t.empty:
        return display.note_no_runs(profile, "Claim 4.2 (1) beside the paper's ratio")
    bar = f"mask ≥ {PROMISING:.0%} of dense"
    t = t.assign(**{"mask / dense here": t["mask / dense here"].map(lambda x: f"{x:.2f}"),
                    bar: t[bar].map(lambda c: c.outcome),
                    "paper's mask / dense": t["paper's mask / dense"].map(lambda x: f"{x:.2f}"),
                    "mask ≥ the paper's ratio of dense": t["mask ≥ the paper's ratio of dense"].map(
                        lambda c: f"{c.outcome} (margin {signed(c.margin)} pts, {interval(c)})")})
    display.show_table(display.with_run_links(t, notebook_paths(df), "runs"),
                       f"Claim 4.2 (1) per network and training budget with dense and mask runs: by the study's bar "
                       f"(the claims table judges it with Holm over the Fig. 3 backbones; each comparison alone here) "
                       f"and against the paper's own mask/dense ratio in its nearest Fig. 3 panel, read from its "
                       f"figure: \"promising by the study's bar\" and \"as close to dense as the paper's\" are two "
                       f"questions. Margins and 95 % Welch intervals in points of accuracy.")


def show_paper_vs_here(profile: str = "cpu") -> None:
    from ..paper_values import load as paper_values
    from . import display
    from .frame import load, notebook_paths
    df = load(profile)
    t = paper_vs_here(df, paper_values())

    def comp(a, b) -> str:
        return "" if a is None or pd.isna(a) else f"{pct(a)} / {pct(b) if b is not None and not pd.isna(b) else ''}"
    shown = pd.DataFrame({
        "figure": t["figure"], "paper: network": t["paper: network"], "method": t["method"],
        "paper": t["paper %"].map(pct), "here: network": t["here: network"],
        "training budget": t.get("training budget", "").fillna(""), "seeds": t.get("seeds"),
        "here": t["here %"].map(lambda x: pct(x) if not pd.isna(x) else ""),
        "here − paper (pts)": t["here − paper"].map(lambda x: signed(x) if not pd.isna(x) else ""),
        "here, best epoch": t["here, best epoch %"].map(lambda x: pct(x) if not pd.isna(x) else ""),
        "compression (paper / here)": [comp(a, b) for a, b in zip(t["paper compression"], t["here compression"])],
        "what differs (here vs paper)": t["what differs"], "runs": t["runs"].fillna("")})
    display.show_table(display.with_run_links(shown, notebook_paths(df), "runs"), sortable=True,
                       text=f"Every value the paper's Fig. 3, 4 and 5 give (`pemn/paper_values.csv`, read from the "
                            f"authors' SVG figures) beside ours (profile `{profile}`): each of our points, at each "
                            f"training budget, width, patch and recipe it was trained at, against the same method in "
                            f"the paper's nearest panel (same backbone, depth and data set; the nearest width), and "
                            f"the paper's values no run of ours meets. *What differs* lists every setting that "
                            f"separates the two, ours first; the paper reports the best test accuracy over its epochs, "
                            f"we the final one (our best epoch, selected on the test set, is shown for comparison).")
