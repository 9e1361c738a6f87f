"""The scale chapter: which of width, patch and recipe closes the gap between masks and dense at the top budget,
beside the paper's own gaps? Pure tables and verdicts (records in); the ``show_*`` functions display them.

Every run here is ConvMixer depth 6, kernel 5, on all 50,000 CIFAR-10 training images for the top budget's epochs
(``pemn.grids.BUDGET_TOP_EPOCHS``) with precise BatchNorm statistics: the scale axis's cells (``pemn.grids.
SCALE_CELLS``) and, for ConvMixer-64/6 patch 4 with the ``cpu`` recipe, the budget axis's own top-budget runs.
Each factor varies one thing from that point: width (32 to 256), patch (4, 2) or recipe (the study's, the
paper's). The paper's gaps are read from its figures (``pemn.paper_values``): 100 epochs, patch 2, its recipe,
the best epoch.
"""
from __future__ import annotations

import math

import pandas as pd

from .. import methods
from ..cells import ALL_WEIGHTS, bytes_budget
from ..grids import BUDGET_TOP_EPOCHS, HELD_OUT_RATES
from . import display
from .claims import claim_larger_is_better
from .frame import records_frame
from .labels import MASK, REFERENCE, percent, signed
from .stats import NOT_TESTED, Comparison, Estimate, Noise, Verdict, decide, welch
from .verdict_text import holm_tally, interval

BASE = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
TRAIN_IMAGES = 50_000
BEFORE, HELD_OUT = methods.get("mask").lr, HELD_OUT_RATES["mask"]  # masks' rate before the check, and its choice
# (factor, level, arch fields over BASE, recipe, masks' peak rate or None for the recipe's own): each factor's
# levels; with the study's recipe, masks at the held-out rate
LEVELS = (("learning rate", f"{BEFORE:g}", {}, "cpu", BEFORE), ("learning rate", f"{HELD_OUT:g}", {}, "cpu", HELD_OUT),
          ("width", "32", {"dim": 32}, "cpu", HELD_OUT), ("width", "64", {}, "cpu", HELD_OUT),
          ("width", "128", {"dim": 128}, "cpu", HELD_OUT), ("width", "256", {"dim": 256}, "cpu", HELD_OUT),
          ("patch", "4", {}, "cpu", HELD_OUT), ("patch", "2", {"patch_size": 2}, "cpu", HELD_OUT),
          ("recipe", "cpu", {}, "cpu", HELD_OUT), ("recipe", "paper", {}, "paper", None))
MASKED = (MASK, methods.get("rp").label({"ratio": 1e-2}))  # the masked points whose gap to dense the chapter measures
PAPER_PANELS = ("ConvMixer-256/6", "ConvMixer-512/6", "ConvMixer-256/8", "ConvMixer-512/8")
PAPER_DRAWN = ("ConvMixer-256/6", "ConvMixer-512/6")  # the paper's panels at our depth, drawn beside our gaps
DENSE_BINARY = "dense binary"
GAP_COLUMNS = ["factor", "level", "method", "dense", "masked", "gap", "gap_low", "gap_high", "ratio", "seeds", "runs"]
BYTES_TOLERANCE = 1.05  # a competitor "fits PEMN's file" within the study's equal-bytes tolerance (5 %)


def _recipe(c: dict) -> str:
    """``paper`` for the official ConvMixer recipe (its augmentation), ``cpu`` for the study's."""
    return "paper" if c.get("augment") == "convmixer" else "cpu"


def _method(c: dict) -> str | None:
    """The chapter's name of a run's method, or None when the chapter does not use it: dense, mask, RP 1e-2 at keep
    0.5, and the binary network that keeps every weight (dense binary)."""
    m = methods.get(c["strategy"])
    if m.equal_bytes:
        every = c.get("budget_bits") == bytes_budget(c["backbone"], c["arch"], ALL_WEIGHTS)
        return DENSE_BINARY if m.every_weight_point and every else None
    label = m.label(c)
    return label if label in (REFERENCE, *MASKED) and c.get("keep_ratio", 0.5) == 0.5 else None


def scale_rows(records) -> pd.DataFrame:
    """One row per run at the top budget that the chapter uses: width, patch, recipe, method, seed, accuracy
    (final epoch, precise BN) and the model file's bytes."""
    rows = []
    for r in records:
        c = r.config
        if not ({"scale", "budget"} & set(r.figures)) or c.get("validation") or r.final_test_acc is None:
            continue
        arch = c.get("arch") or {}
        if (c["backbone"], c["dataset"], r.train_size, c["epochs"]) != ("convmixer", "cifar10", TRAIN_IMAGES,
                                                                         BUDGET_TOP_EPOCHS) \
                or (arch.get("depth"), arch.get("kernel_size")) != (6, 5) or not c.get("bn_recalibration"):
            continue
        method = _method(c)
        if method is None:
            continue
        rows.append({"run_id": r.run_id, "dim": arch["dim"], "patch": arch["patch_size"], "recipe": _recipe(c),
                     "method": method, "lr": c.get("lr") or methods.get(c["strategy"]).lr, "seed": c["seed"],
                     "acc": r.final_test_acc,
                     "file_bytes": (r.export or {}).get("file_bytes")})
    cols = ["run_id", "dim", "patch", "recipe", "method", "lr", "seed", "acc", "file_bytes"]
    return pd.DataFrame(rows, columns=cols)


def _level_rows(rows: pd.DataFrame, arch: dict, recipe: str, mask_lr: float | None) -> pd.DataFrame:
    """A level's runs: its model and recipe, and its masks at the level's rate (any other method at its own)."""
    a = {**BASE, **arch}
    at = (rows["dim"] == a["dim"]) & (rows["patch"] == a["patch_size"]) & (rows["recipe"] == recipe)
    rate = (rows["method"] != MASK) | (mask_lr is None) | (rows["lr"] == mask_lr)
    return rows[at & rate]


def _point(q: pd.DataFrame) -> dict:
    """Mean, sample standard deviation and number of seeds of one method's runs."""
    return {"mean": q["acc"].mean(), "std": q["acc"].std(ddof=1) if len(q) > 1 else 0.0, "n": len(q)}


def gap_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per factor, level and masked method: dense and masked accuracy, the gap to dense with its 95 % Welch
    interval, the ratio to dense and the runs behind it."""
    out = []
    for factor, level, arch, recipe, mask_lr in LEVELS:
        q = _level_rows(rows, arch, recipe, mask_lr)
        dense = q[q["method"] == REFERENCE]
        for method in MASKED:
            m = q[q["method"] == method]
            if dense.empty or m.empty or (mask_lr is not None and method != MASK and factor == "learning rate"):
                continue
            d, p = _point(dense), _point(m)
            e = welch(d, p)
            out.append({"factor": factor, "level": level, "method": method, "dense": d["mean"], "masked": p["mean"],
                        "gap": e.margin, "gap_low": e.low, "gap_high": e.high, "ratio": p["mean"] / d["mean"],
                        "seeds": f"{d['n']} / {p['n']}", "runs": ", ".join(sorted([*dense["run_id"], *m["run_id"]]))})
    return pd.DataFrame(out, columns=GAP_COLUMNS)


def paper_gaps(values: pd.DataFrame) -> pd.DataFrame:
    """The paper's dense, mask, gap and ratio for its ConvMixer panels (Fig. 3), from its figure values."""
    from ..paper_values import gap_to_dense
    out = []
    for panel in PAPER_PANELS:
        g = gap_to_dense(values, panel)
        out.append({"panel": panel, "dense": g["dense"] / 100, "mask": g["mask"] / 100, "gap": g["gap"] / 100,
                    "ratio": g["ratio"]})
    return pd.DataFrame(out)


def _width_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """Dense and mask runs of every width at patch 4 with the study's recipe (masks at the held-out rate)."""
    rows = _held_out(rows)
    return rows[(rows["patch"] == 4) & (rows["recipe"] == "cpu") & rows["method"].isin([REFERENCE, MASK])]


def widths_waiting(rows: pd.DataFrame) -> list[int]:
    """The widths left out of claim 4.2 (4) because dense or mask has fewer than two seeds there: one seed has no
    interval, and as the largest width it would leave every comparison of the claim without one."""
    n = _width_runs(rows).groupby(["dim", "method"]).size().unstack(fill_value=0)
    n = n.reindex(columns=[REFERENCE, MASK], fill_value=0)
    return sorted(int(d) for d in n.index[n.min(axis=1) < 2])


def width_claim(records):
    """Claim 4.2 (4), "the drop from dense shrinks as the network widens", on the width levels at the top budget:
    the claims engine's own size comparisons (smallest against largest width) on dense and mask, over the widths
    with two seeds a side (``widths_waiting`` lists the others)."""
    rows = scale_rows(records)
    q = _width_runs(rows)
    keep = set(q[~q["dim"].isin(widths_waiting(rows))]["run_id"])
    df = records_frame([r for r in records if r.run_id in keep])
    if df.empty or df["dim"].nunique() < 2:
        return Verdict(NOT_TESTED, "needs dense and mask runs of two widths at the top budget")
    return claim_larger_is_better(df, ("width",))


def _held_out(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with masks at the held-out rate only (the width, patch and bytes comparisons)."""
    return rows[(rows["method"] != MASK) | (rows["lr"] == HELD_OUT)]


def bytes_comparisons(rows: pd.DataFrame) -> pd.DataFrame:
    """Each PEMN network (mask, RP 1e-2 at keep 0.5, every width at patch 4 and the study's recipe) against the
    most accurate dense or dense-binary network of any width whose file is no larger (within ``BYTES_TOLERANCE``)."""
    rows = _held_out(rows)
    q = rows[(rows["patch"] == 4) & (rows["recipe"] == "cpu") & rows["file_bytes"].notna()]
    pts = q.groupby(["method", "dim"]).agg(mean=("acc", "mean"), std=("acc", "std"), n=("acc", "size"),
                                           file_bytes=("file_bytes", "mean"),
                                           runs=("run_id", lambda s: ", ".join(sorted(s)))).reset_index()
    pts["std"] = pts["std"].fillna(0.0)
    rivals = pts[pts["method"].isin([REFERENCE, DENSE_BINARY])]
    out = []
    for _, p in pts[pts["method"].isin(MASKED)].iterrows():
        fits = rivals[rivals["file_bytes"] <= p["file_bytes"] * BYTES_TOLERANCE]
        if fits.empty:
            continue
        best = fits.loc[fits["mean"].idxmax()]
        e = welch(p, best)
        out.append({"pemn": f"{p['method']} width {p['dim']}", "pemn_bytes": p["file_bytes"], "pemn_acc": p["mean"],
                    "rival": f"{best['method']} width {best['dim']}", "rival_bytes": best["file_bytes"],
                    "rival_acc": best["mean"], "margin": e.margin, "low": e.low, "high": e.high, "se": e.se,
                    "df": e.df, "runs": f"{p['runs']}, {best['runs']}"})
    return pd.DataFrame(out)


def bytes_verdict(comparisons: pd.DataFrame):
    """PEMN beats the best dense or dense-binary network that fits its file, at every width (Holm over widths)."""
    cs = [Comparison(f"{r['pemn']} ({r['pemn_bytes']:,.0f} B) vs {r['rival']} ({r['rival_bytes']:,.0f} B)",
                     r["margin"], Noise(Estimate(r["margin"], r["se"], r["df"])), tuple(r["runs"].split(", ")))
          for _, r in comparisons.iterrows()]
    return decide(cs, "needs PEMN and dense or dense-binary runs whose files are no larger")


def base_gap(gaps: pd.DataFrame) -> pd.Series | None:
    """The headline point: mask at the held-out rate, ConvMixer-64/6 patch 4, the study's recipe (the budget axis's
    top-budget runs, remade at that rate)."""
    b = gaps[(gaps["factor"] == "learning rate") & (gaps["level"] == f"{HELD_OUT:g}") & (gaps["method"] == MASK)]
    return None if b.empty else b.iloc[0]


def rate_effect(rows: pd.DataFrame) -> Estimate | None:
    """Is it the masks' learning rate? Masks at the held-out rate minus masks at the rate before the check, on the
    test set at the base point (ConvMixer-64/6, patch 4, the study's recipe), with its 95 % Welch interval."""
    pts = []
    for rate in (HELD_OUT, BEFORE):
        q = _level_rows(rows, {}, "cpu", rate)
        q = q[q["method"] == MASK]
        if q.empty:
            return None
        pts.append(_point(q))
    return welch(*pts)


def rate_sentence(effect: Estimate | None) -> str:
    """The measured answer to "is it the masks' learning rate?" (empty before both rates have runs)."""
    if effect is None:
        return ""
    if math.isnan(effect.low):
        span, word = "", "Not measured yet:"
    else:
        span = f" [{signed(effect.low)}, {signed(effect.high)}]"
        word = "Partly:" if effect.low > 0 else "No:"  # only an interval above zero says the higher rate helps
    return (f" Is it the masks' learning rate? {word} masks at the held-out rate {HELD_OUT:g} differ from masks at "
            f"{BEFORE:g} by {signed(effect.margin)} points{span} on the test set.")


def gap_span(level: pd.Series) -> str:
    """A level's 95 % interval on its gap, or why it has none yet (a side with one seed)."""
    if math.isnan(level["gap_low"]):
        return " (a side with one seed: no interval yet)"
    return f" [{100 * level['gap_low']:.1f}, {100 * level['gap_high']:.1f}]"


def epoch_levels(budget_gaps: pd.DataFrame | None) -> pd.DataFrame:
    """Epochs, the fourth factor: the budget axis's gaps to dense (``budget.gap_table``, ConvMixer-64/6 patch 4, the
    study's recipe, masks at the held-out rate) on all 50,000 images, as rows of ``gap_table``."""
    if budget_gaps is None or budget_gaps.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    out = []
    for epochs, g in budget_gaps[budget_gaps["images"] == TRAIN_IMAGES].groupby("epochs", sort=True):
        dense = g[g["method"] == REFERENCE]
        for method in MASKED:
            m = g[g["method"] == method]
            if dense.empty or m.empty:
                continue
            d, m = dense.iloc[0], m.iloc[0]
            out.append({"factor": "epochs", "level": str(epochs), "method": method, "dense": d["accuracy"],
                        "masked": m["accuracy"], "gap": m["gap"], "gap_low": m["gap_low"], "gap_high": m["gap_high"],
                        "ratio": m["accuracy"] / d["accuracy"], "seeds": f"{d['seeds']} / {m['seeds']}",
                        "runs": ", ".join(sorted({*d["runs"].split(", "), *m["runs"].split(", ")}))})
    return pd.DataFrame(out, columns=GAP_COLUMNS)


def epochs_sentence(epochs: pd.DataFrame | None) -> str:
    """The answer to "is it the epochs?" (``epoch_levels``): the mask gap at the fewest and the most epochs, and
    whether it moves beyond their 95 % intervals (empty before two epoch counts have mask and dense runs)."""
    if epochs is None or epochs.empty:
        return ""
    q = epochs[epochs["method"] == MASK]
    if len(q) < 2:
        return ""
    first, last = q.iloc[0], q.iloc[-1]
    if last["gap_high"] < first["gap_low"]:
        move = "narrows beyond the seed intervals"
    elif last["gap_low"] > first["gap_high"]:
        move = "widens beyond the seed intervals"
    else:
        move = "moves less than the seed intervals can tell"
    n0, n1 = int(first["level"]), int(last["level"])
    return (f" Is it the epochs? On all 50,000 images the mask gap is {100 * first['gap']:.1f} points"
            f"{gap_span(first)} at {n0} epochs and {100 * last['gap']:.1f}{gap_span(last)} at {n1}: with "
            f"{n1 / n0:g}× the epochs it {move}.")


def closest_level(gaps: pd.DataFrame) -> pd.Series | None:
    """The factor level whose mask gap to dense is smallest (the level that closes the most of the gap)."""
    m = gaps[gaps["method"] == MASK]
    return None if m.empty else m.loc[m["gap"].idxmin()]


def answer(gaps: pd.DataFrame, paper: pd.DataFrame, effect: Estimate | None = None,
           epochs: pd.DataFrame | None = None) -> str | None:
    """The chapter's answer in one sentence: the base gap, the smallest gap any level reaches, and the paper's;
    then the masks' learning rate's own effect (``rate_effect``) and the epochs' (``epochs_sentence``) where given."""
    base = base_gap(gaps)
    best = closest_level(gaps)
    if base is None or best is None or paper.empty:
        return None
    b, p = base, paper.iloc[0]
    levels = gaps[gaps["method"] == MASK].drop_duplicates("runs")  # the base point is a level of every factor
    return (f"At the top budget masks trail dense by {100 * b['gap']:.1f} points at ConvMixer-64/6 (patch 4, the "
            f"study's recipe, masks' rate {HELD_OUT:g}); across the {len(levels)} level{'s' if len(levels) > 1 else ''} run so far the smallest gap is "
            f"{100 * best['gap']:.1f} points{gap_span(best)} at {best['factor']} {best['level']} (mask at "
            f"{100 * best['ratio']:.0f} % of dense), against the paper's "
            f"{100 * p['gap']:.1f} points at {p['panel']} ({100 * p['ratio']:.0f} % of dense, 100 epochs)."
            + rate_sentence(effect) + epochs_sentence(epochs))



# --- figures --------------------------------------------------------------------------------------------------

def gap_figure(gaps: pd.DataFrame, paper: pd.DataFrame):
    """The gap to dense (points, 95 % Welch interval) at each level of each factor, the paper's own gaps beside."""
    from .style import figure, legend_below, method_style
    factors = [f for f in dict.fromkeys([*(x[0] for x in LEVELS), "epochs"]) if f in set(gaps["factor"])]
    fig, axes = figure(1, len(factors), height=3.8, sharey=True, full=True)
    for ax, factor in zip(axes[0], factors):
        g = gaps[gaps["factor"] == factor]
        levels = [lv for f, lv, *_ in LEVELS if f == factor] or list(dict.fromkeys(g["level"]))  # epochs: as run
        x = {lv: i for i, lv in enumerate(levels)}
        for k, method in enumerate(MASKED):
            q = g[g["method"] == method]
            st = method_style(method)
            one = q["gap_low"].isna()  # one seed on a side: no interval yet, drawn hollow
            for part, hollow in ((q[~one], False), (q[one], True)):
                if part.empty:
                    continue
                xs = [x[lv] + (k - 0.5) * 0.12 for lv in part["level"]]
                ax.errorbar(xs, 100 * part["gap"], yerr=None if hollow else
                            [100 * (part["gap"] - part["gap_low"]), 100 * (part["gap_high"] - part["gap"])],
                            color=st["color"], marker=st["marker"], ls="none", capsize=3,
                            mfc="none" if hollow else st["color"],
                            label=f"{method}, here" + (" (a side with one seed: no interval yet)" if hollow else ""))
        for (_, p), ls in zip(paper[paper["panel"].isin(PAPER_DRAWN)].iterrows(), ("--", ":")):
            ax.axhline(100 * p["gap"], color="0.3", ls=ls, lw=1.2,
                       label=f"paper, {p['panel']}: mask (100 epochs, patch 2, its recipe)")
        ax.set_xticks(range(len(levels)), levels)
        ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.set_xlabel({"learning rate": "masks' peak rate (width 64)", "width": "width (patch 4)",
                       "patch": "patch (width 64)", "recipe": "recipe (width 64, patch 4)",
                       "epochs": "epochs (width 64, patch 4)"}[factor])
    axes[0][0].set_ylabel("gap to dense (points)")
    axes[0][0].set_ylim(bottom=0)
    legend_below(fig, ncols=2)
    return fig


def bytes_figure(rows: pd.DataFrame):
    """Accuracy against model-file bytes at every width (patch 4, the study's recipe): each method a line across
    widths, each point labelled with its width."""
    from .style import figure, legend_below, method_style
    rows = _held_out(rows)
    q = rows[(rows["patch"] == 4) & (rows["recipe"] == "cpu") & rows["file_bytes"].notna()]
    fig, axes = figure(height=4.0)
    ax = axes[0, 0]
    for method in (REFERENCE, DENSE_BINARY, *MASKED):
        m = q[q["method"] == method].groupby("dim").agg(acc=("acc", "mean"), kib=("file_bytes", "mean")).reset_index()
        if m.empty:
            continue
        m["kib"] /= 1024
        label = {DENSE_BINARY: "binary weights (sign x scale)"}.get(method, method)  # its name in every chapter
        ax.plot(m["kib"], 100 * m["acc"], label=label, **method_style(label))
        for _, r in m.iterrows():
            ax.annotate(f"w{r['dim']:.0f}", (r["kib"], 100 * r["acc"]), textcoords="offset points", xytext=(4, -11))
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=()))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(xlabel="model file (KiB, log scale)", ylabel="test accuracy (%)")
    legend_below(fig, ncols=4)
    return fig


def verdict_table(verdicts) -> pd.DataFrame:
    """``(claim, verdict)`` pairs as a table: the outcome, the deciding comparison with its margin and 95 % interval
    (before Holm), and how the family came out after Holm."""
    rows = []
    for claim, v in verdicts:
        c = v.deciding
        rows.append({"claim": claim, "verdict": f"**{v.outcome}**",
                     "deciding comparison": c.text if c else v.evidence,
                     "margin [95 % interval] (pts)": f"{100 * c.margin:+.1f} {interval(c)}" if c else "",
                     "after Holm": holm_tally(v)})
    return pd.DataFrame(rows)


# --- the chapter's cells --------------------------------------------------------------------------------------

def _load(profile: str):
    from ..paper_values import load as paper_values
    from ..runs import current_records
    records = current_records(profile)
    rows = scale_rows(records)
    return records, rows, gap_table(rows), paper_gaps(paper_values())


def load_epochs(profile: str, records) -> pd.DataFrame:
    """The epochs factor's levels (``epoch_levels``) from the budget axis's runs."""
    from ..runs import recalibrations
    from .budget import budget_rows, gap_table as budget_gap_table
    return epoch_levels(budget_gap_table(budget_rows(records, recalibrations(profile))))


def show_answer(profile: str = "cpu"):
    records, rows, gaps, paper = _load(profile)
    text = answer(gaps, paper, rate_effect(rows), load_epochs(profile, records))
    display.md(f"**Answer so far.** {text}" if text else
               "**No answer yet.** The scale axis has no level with both dense and mask runs committed.")


def show_rate_effect(profile: str = "cpu"):
    """The check chose on one seed of held-out data; the budget axis's runs at both rates answer on the test set."""
    _, rows, _, _ = _load(profile)
    effect = rate_effect(rows)
    if effect is None:
        display.note_no_runs(profile, "The test-set comparison of the masks' two rates")
        return
    seeds = [len(_level_rows(rows, {}, "cpu", rate).query("method == @MASK")) for rate in (HELD_OUT, BEFORE)]
    display.md(f"**On the test set** (ConvMixer-64/6, all 50,000 images, {BUDGET_TOP_EPOCHS} epochs, seeds "
               f"{seeds[0]} / {seeds[1]}, 95 % Welch interval):{rate_sentence(effect)}")


def show_gaps(profile: str = "cpu"):
    records, rows, gaps, paper = _load(profile)
    if gaps.empty:
        display.note_no_runs(profile, "The scale axis")
        return
    epochs = load_epochs(profile, records)
    every = pd.concat([gaps, epochs], ignore_index=True) if not epochs.empty else gaps
    runs = len({r for rs in every["runs"] for r in rs.split(", ")})
    display.show_fig(gap_figure(every, paper),
                     f"Gap to dense (dense minus masked accuracy, points) with its 95 % Welch interval, at each level "
                     f"of each factor; {runs} runs of profile `{profile}`, all 50,000 training images, "
                     f"{BUDGET_TOP_EPOCHS} epochs (the epochs factor: the budget axis's runs at each epoch count), "
                     f"final epoch, precise BatchNorm statistics. Dashed lines: the paper's mask gaps, read from its "
                     f"Fig. 3 (100 epochs, patch 2, its recipe, best epoch).")
    display.show_table(gap_rows_table(every))


def gap_rows_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """The gap table as the book prints it: percent, points with intervals, seeds and runs."""
    return pd.DataFrame({
        "factor": gaps["factor"], "level": gaps["level"], "method": gaps["method"],
        "dense (%)": (100 * gaps["dense"]).map("{:.1f}".format), "masked (%)": (100 * gaps["masked"]).map("{:.1f}".format),
        "gap (pts) [95 %]": [f"{100 * g:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]" if not math.isnan(lo) else f"{100 * g:.1f}"
                             for g, lo, hi in zip(gaps["gap"], gaps["gap_low"], gaps["gap_high"])],
        "ratio to dense (%)": (100 * gaps["ratio"]).map("{:.0f}".format), "seeds (dense / masked)": gaps["seeds"]})


def show_paper(profile: str = "cpu"):
    from ..paper_values import load as paper_values
    p = paper_gaps(paper_values())
    display.show_table(pd.DataFrame({"panel": p["panel"], "dense (%)": (100 * p["dense"]).map("{:.1f}".format),
                                     "mask (%)": (100 * p["mask"]).map("{:.1f}".format),
                                     "gap (pts)": (100 * p["gap"]).map("{:.1f}".format),
                                     "ratio to dense (%)": (100 * p["ratio"]).map("{:.0f}".format)}),
                       "The paper's ConvMixer values (Fig. 3), read from the authors' SVG figures "
                       "(`pemn/paper_values.csv`).")


def show_width_claim(profile: str = "cpu"):
    records, rows, *_ = _load(profile)
    waiting = widths_waiting(rows)
    display.show_table(verdict_table([("4.2 (4): the drop from dense shrinks with width", width_claim(records))]),
                       "Judged on the widths with two seeds of dense and of mask" + (
                           f"; width {', '.join(map(str, waiting))} (fewer seeds so far) waits for its second."
                           if waiting else "."))


def show_bytes(profile: str = "cpu"):
    _, rows, _, _ = _load(profile)
    q = rows[(rows["patch"] == 4) & (rows["recipe"] == "cpu")]
    if q["dim"].nunique() < 2:
        display.note_no_runs(profile, "The equal-bytes comparison across widths")
        return
    display.show_fig(bytes_figure(rows), f"Accuracy against model-file bytes across widths at the top budget "
                                         f"(patch 4, the study's recipe; {len(q)} runs of profile `{profile}`).")
    comps = bytes_comparisons(rows)
    if not comps.empty:
        display.show_table(verdict_table([("Fig. 4 (3): a wider PEMN beats the best dense or dense-binary network "
                                           "that fits its file", bytes_verdict(comps))]))
