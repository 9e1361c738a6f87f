"""Chapter 1 and the landing page: the answer in one figure and the verdicts in one sentence."""
from __future__ import annotations

import pandas as pd

from . import display
from .claims import HELD, INCONCLUSIVE, NOT_HELD, NOT_TESTED
from .compression import LINESTYLES, MARKERS, compression_axes
from .frame import caption, for_figure, load, points
from .labels import FIG3_ORDER, REFERENCE, pct
from .verdicts import claims_table, claims_verdicts


def _capacity_panel(ax, p: pd.DataFrame) -> None:
    """Accuracy along the strategy axis per backbone; a merged point (identical networks) sits between its ticks."""
    ticks = [m for m in FIG3_ORDER if m != REFERENCE and p["merged"].map(lambda ms: m in ms).any()]
    pos = {m: i for i, m in enumerate(ticks)}
    for i, (arch, q) in enumerate(p.groupby("arch", sort=True)):
        s = q[q["method"] != REFERENCE].assign(x=lambda d: d["merged"].map(lambda ms: sum(pos[m] for m in ms) / len(ms)))
        s = s.sort_values("x")
        if not s.empty:
            ax.errorbar(s["x"], s["mean"], yerr=s["std"], marker="o", ms=4, capsize=2, color=f"C{i}",
                        label=f"{arch.split(' (')[0]}, masks only")
        d = q[q["method"] == REFERENCE]
        if not d.empty:
            ax.axhline(d["mean"].iloc[0], color=f"C{i}", ls="--", lw=1, label=f"{arch.split(' (')[0]}, dense")
    ax.set_xticks(range(len(ticks)))
    ax.set_xticklabels(ticks, rotation=35, ha="right")
    ax.set(ylabel="final-epoch test accuracy", title="Fewer random values (paper Fig. 3)")
    ax.set_xlabel("fewer unique random values →")
    display.percent_axis(ax)


def _compression_panel(ax, p: pd.DataFrame) -> list:
    """Accuracy against the paper's compression ratio; returns the legend handles (drawn below the figure)."""
    from matplotlib.lines import Line2D
    compression_axes(ax, p, "paper", labels=False)
    ax.set_title("Storage against accuracy (paper Fig. 4 and 5)")
    ax.set_xlabel("compression ratio, % (paper's Eq. 10)")
    groups = sorted(set(p["group"]))
    handles = [Line2D([], [], color=f"C{i}", lw=2, label=g.replace(" (k5, p4)", "")) for i, g in enumerate(groups)]
    handles += [Line2D([], [], color="0.3", marker=MARKERS[f], ls=LINESTYLES[f], label=f)
                for f in ("PEMN", "random pruning", "magnitude pruning") if (p["family"] == f).any()]
    return handles


def answer_figure(profile: str = "cpu"):
    """Left: accuracy along the strategy axis (Fig. 3 runs). Right: accuracy against compression (Fig. 4/5 runs).

    A panel is drawn only when it has a masked (left) or a compressed (right) point; None when neither has.
    Legends sit below the panels so that no label covers a point.
    """
    import matplotlib.pyplot as plt
    df = load(profile)
    if df.empty:
        return None
    f3 = points(for_figure(df, "fig3"))
    comp = points(pd.concat([for_figure(df, "fig4"), for_figure(df, "fig5")]))
    panels = [x for x in (("fig3", f3), ("comp", comp)) if not x[1].empty and (x[1]["family"] != REFERENCE).any()]
    if not panels:
        return None
    with plt.rc_context({"font.size": 9, "svg.fonttype": "none"}):
        # one panel above the other, each as wide as the book's main column, so the labels are read at full size
        fig, axes = plt.subplots(len(panels), 1, figsize=(7.0, 4.4 * len(panels)), squeeze=False)
        for ax, (kind, p) in zip(axes[:, 0], panels):
            if kind == "fig3":
                _capacity_panel(ax, p)
                ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
            else:
                handles = _compression_panel(ax, p)
                ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2,
                          frameon=False)
        fig.tight_layout()
    return fig


def _tally(verdicts) -> str:
    c = pd.Series([v.outcome for v in verdicts]).value_counts()
    parts = [f"{c[k]} {k}" for k in (HELD, NOT_HELD, INCONCLUSIVE, NOT_TESTED) if k in c]
    return ", ".join(parts)


def overall(verdicts) -> str:
    """A question's answer in a word or two, from the verdicts of its claims."""
    kinds = {v.outcome for v in verdicts} - {NOT_TESTED}
    if not kinds:
        return "not tested"
    if kinds == {HELD}:
        return "reproduced"
    if NOT_HELD not in kinds:
        return "reproduced as far as seed noise allows"
    return "partly reproduced" if HELD in kinds else "not reproduced"


def scale_sentence(profile: str, df: pd.DataFrame) -> str:
    """What was reproduced, at which scale, in one sentence."""
    from .frame import profiles_present
    if df.empty:
        return f"Profile `{profile}` has no completed run yet."
    by_size = df.drop_duplicates("arch").sort_values(["backbone", "dim", "depth", "arch"])  # 64/6 before 128/6
    archs = ", ".join(a.split(" (")[0] for a in by_size["arch"])
    epochs, sizes = sorted(set(df["epochs"])), sorted({int(x) for x in df["train_size"].dropna()})
    per_config = df.groupby(df["run_id"].str.rsplit("-", n=1).str[0]).size()  # run ids end in the seed
    seeds = sorted(set(per_config))
    others = [p for p in profiles_present() if p not in (profile, "custom")]
    return (f"**Reproduced:** the paper's Fig. 3, 4 and 5 in miniature, profile `{profile}`: {len(df)} runs of "
            f"{archs}, trained on {'/'.join(f'{x:,}' for x in sizes)} CIFAR images for {_span(epochs, 'epoch')}, "
            f"{_span(seeds, 'seed')} per configuration. Not run: the paper's own scale (`paper` profile, GPU-days)"
            + (f"; other profiles present: {', '.join(f'`{p}`' for p in others)}." if others else "."))


def _span(values: list, unit: str) -> str:
    """'1 epoch' or '5-10 epochs' for sorted values."""
    span = "-".join(map(str, [values[0], values[-1]] if len(values) > 1 else values))
    return f"{span} {unit}{'s' if values[-1] > 1 else ''}"


def _capacity_sentence(df: pd.DataFrame, verdicts) -> str:
    p = points(for_figure(df, "fig3"))
    facts = []
    for arch, q in p.groupby("arch", sort=True):
        by = {m: r for _, r in q.iterrows() for m in r["merged"]}
        if "mask" not in by or "dense" not in by:
            continue
        fewest = q[q["method"] != REFERENCE].sort_values("unique_values").iloc[0]
        mid = by.get("RP 1e-3")
        facts.append(f"{arch.split(' (')[0]}: dense {pct(by['dense']['mean'])}, masks alone {pct(by['mask']['mean'])}"
                     + (f", {mid['unique_values']:,.0f} distinct values (RP 1e-3) {pct(mid['mean'])}" if mid is not None
                        else "")
                     + f", {fewest['unique_values']:,.0f} value{'s' if fewest['unique_values'] != 1 else ''} "
                       f"({fewest['method']}) {pct(fewest['mean'])}")
    return (f"**Representative capacity (Fig. 3): {overall(verdicts)}.** " + ("; ".join(facts) + ". " if facts else "")
            + f"Of the paper's {len(verdicts)} conclusions here: {_tally(verdicts)}.")


def _compression_sentence(df: pd.DataFrame, verdicts) -> str:
    p = points(pd.concat([for_figure(df, "fig4"), for_figure(df, "fig5")]))
    wins, gaps, total = 0, [], 0
    for g, q in p.groupby("group", sort=True):
        ours, base = q[q["family"] == "PEMN"], q[q["family"].isin(["random pruning", "magnitude pruning"])]
        if ours.empty or base.empty:
            continue
        top = base["compression"].max()
        eligible = ours[ours["compression"] >= top - 1e-9]
        total += 1
        if not eligible.empty:
            gap = eligible["mean"].max() - base[base["compression"] >= top - 1e-9]["mean"].max()
            gaps.append(gap)
            wins += gap > 0
    fact = (f"At the baselines' highest compression ({pct(top, 0)}, paper's Eq. 10) or beyond, PEMN is more accurate "
            f"than the better sparse baseline on {wins} of {total} backbone/data set pairs"
            + (f" (by {100 * min(gaps):+.1f} to {100 * max(gaps):+.1f} points). " if gaps else ". ")) if total else ""
    return f"**Compression (Fig. 4 and 5): {overall(verdicts)}.** {fact}Of the paper's {len(verdicts)} conclusions here: {_tally(verdicts)}."


def fair_sentence(profile: str) -> str:
    """Chapter 7 in one paragraph: per frontier backbone, PEMN against the strongest competitor at equal file bytes
    and against float32 sparse networks alone ("" when the profile has no frontier run)."""
    from ..runs import current_records, recalibrations
    from .fair import frontier_backbone
    from .frontier import points as frontier_points, verdict, verdicts
    records, recal = current_records(profile), recalibrations(profile)
    parts, index = [], 0
    while (which := frontier_backbone(profile, index)) is not None:
        index += 1
        backbone, arch, name = which
        p = frontier_points(records, backbone, arch, recal)
        v = verdicts(p) if not p.empty else pd.DataFrame()
        if v.empty or "margin" not in v:
            continue
        if p["test_acc"].max() < 0.2:  # a plumbing-scale profile (smoke): nothing to compare
            parts.append(f"{name}: every run is near chance, nothing to compare")
            continue
        seeds = int(v["seeds"].min())
        tested = v.dropna(subset=["margin"])
        strongest = verdict(v)
        f32 = verdicts(p, competitors=("erk_random", "erk_magnitude"))
        f32 = f32.dropna(subset=["margin"]) if "margin" in f32 else f32.iloc[0:0]
        text = (f"{name} ({len(tested)} file size{'s' if len(tested) > 1 else ''}, {seeds} seed"
                f"{'s' if seeds > 1 else ''}): against the strongest "
                f"competitor of the same size *{strongest.outcome}* (PEMN minus it: "
                f"{100 * tested['margin'].min():+.1f} to {100 * tested['margin'].max():+.1f} points)")
        if not f32.empty:
            text += (f"; against the best float32 sparse network alone {100 * f32['margin'].min():+.1f} to "
                     f"{100 * f32['margin'].max():+.1f} points")
        parts.append(text)
    if not parts:
        return ""
    return ("**At equal real file bytes (chapter 7)**, against ERK sparse networks with float32 or 4-bit values and "
            "binary-weight networks sized to each PEMN file: " + "; ".join(parts) + ".")


def show_answer(profile: str = "cpu"):
    """The answer first: the scale, one sentence per question of the paper, and the summary figure."""
    df = load(profile)
    verdicts = claims_verdicts(profile)
    display.md(scale_sentence(profile, df))
    if not df.empty:
        fair = fair_sentence(profile)
        display.md(_capacity_sentence(df, verdicts[:5]) + "\n\n" + _compression_sentence(df, verdicts[5:])
                   + " Chapter 5 gives each verdict with the comparison that decides it." + ("\n\n" + fair if fair
                                                                                            else ""))
    fig = answer_figure(profile)
    if fig is None:
        return display.note_no_runs(profile, "The summary figure (it needs at least one masked or compressed run)")
    used = pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5")]).drop_duplicates("run_id")
    left = ("final-epoch test accuracy of masked networks along the paper's strategy axis, mask to RP 1e-5 (fewer "
            "unique random values to the right); dashed: the dense network. Where RP 1e-4 and RP 1e-5 leave the same "
            "single value, they are one network and one point, drawn between their two ticks")
    right = ("accuracy against compression ratio under the paper's Eq. 10, PEMN (stars) against sparse training "
             "with random (circles) and magnitude (squares) pruning; solid horizontal lines: dense")
    kinds = [ax.get_title() for ax in fig.axes if ax.get_title()]
    if len(kinds) == 2:
        text = f"Top: {left}. Bottom: {right}."
    elif kinds and "Fig. 3" in kinds[0]:
        text = f"{left}. The second panel (Fig. 4/5) is missing: no compressed run of this profile has finished yet."
    else:
        text = f"{right}. The first panel (Fig. 3) is missing: no masked Fig. 3 run of this profile has finished yet."
    display.show_svg(fig, caption(used, profile, text + " Error bars: ±1 standard deviation over the seeds."))


def show_verdicts(profile: str = "cpu"):
    """One sentence: how many of the paper's conclusions held, failed, were inconclusive or untested (chapter 5)."""
    t = claims_table(profile)
    c = t["verdict"].value_counts()
    names = {k: ", ".join(t.loc[t["verdict"] == k, "claim"]) for k in (HELD, NOT_HELD, INCONCLUSIVE)}
    display.md(f"**Claims check** (profile `{profile}`, chapter 5): of the paper's {len(t)} conclusions in Sec. "
               f"4.2-4.3, {c.get(HELD, 0)} held, {c.get(NOT_HELD, 0)} did not hold, {c.get(INCONCLUSIVE, 0)} were "
               f"within seed noise (inconclusive) and {c.get(NOT_TESTED, 0)} could not be tested with the runs "
               f"present. " + " ".join(f"{k.capitalize()}: {v}." for k, v in names.items() if v))
