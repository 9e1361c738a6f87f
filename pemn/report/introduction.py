"""Chapter 1 and the landing page: the answer in one figure and the verdicts in one sentence."""
from __future__ import annotations

import pandas as pd

from . import display
from .budget import budget_sentence
from .claims import CLAIMS, HELD, INCONCLUSIVE, NOT_HELD, NOT_TESTED
from .compression import compression_axes
from .frame import caption, cells, for_figure, load, points
from .labels import FIG3_ORDER, REFERENCE, budget_label, pct
from .verdicts import claims_table, claims_verdicts, forest_figure


def strategy_ticks(p: pd.DataFrame) -> list[str]:
    """The strategy axis of Fig. 3 points, one tick per drawn point: a merged point (identical networks, e.g.
    ``RP 1e-4/1e-5``) has one tick of its own, at its first member's place (never between two ticks)."""
    order = {m: i for i, m in enumerate(FIG3_ORDER)}
    labels = {(lab, ms) for lab, ms in zip(p["method"], p["merged"]) if lab != REFERENCE}
    return [lab for lab, _ in sorted(labels, key=lambda x: (min(order.get(m, 99) for m in x[1]), len(x[1])))]


def _capacity_panel(ax, p: pd.DataFrame) -> list:
    """Accuracy along the strategy axis per backbone: each point in its method's look (:func:`.style.method_style`),
    the backbone the line style; returns the legend handles (backbones and dense lines)."""
    from matplotlib.lines import Line2D

    from . import style
    ticks = strategy_ticks(p)
    pos = {m: i for i, m in enumerate(ticks)}
    dense_c, handles = style.method_style(REFERENCE)["color"], []
    for i, (arch, q) in enumerate(p.groupby("arch", sort=True)):
        ls, name = style.LINESTYLES[i % len(style.LINESTYLES)], arch.split(" (")[0]
        s = q[q["method"] != REFERENCE].assign(x=lambda d: d["method"].map(pos)).sort_values("x")
        if not s.empty:
            ax.errorbar(s["x"], s["mean"], yerr=s["std"], ls=ls, color="0.4", lw=1.2, capsize=2, zorder=2)
            for _, r in s.iterrows():
                look = style.method_style(r["method"])
                ax.plot(r["x"], r["mean"], ls="none", marker=look["marker"], color=look["color"],
                        mfc=look["color"] if i == 0 else "white", ms=9, zorder=3)
            handles.append(Line2D([], [], color="0.4", ls=ls, label=f"{name}, masks only (PEMN)"))
        d = q[q["method"] == REFERENCE]
        if not d.empty:
            ax.axhline(d["mean"].iloc[0], color=dense_c, ls=ls, lw=1)
            handles.append(Line2D([], [], color=dense_c, ls=ls, lw=1, label=f"{name}, dense"))
    ax.set_xticks(range(len(ticks)))
    ax.set_xticklabels(ticks, rotation=35, ha="right")
    ax.set(ylabel="final-epoch test accuracy", title="Fewer random values (paper Fig. 3)")
    ax.set_xlabel("fewer unique random values →")
    display.percent_axis(ax)
    return handles


def _compression_panel(ax, p: pd.DataFrame) -> list:
    """Accuracy against the paper's compression ratio; returns the legend handles (drawn below the figure)."""
    from .compression import compression_handles
    compression_axes(ax, p, "paper")
    ax.set_title("Storage against accuracy (paper Fig. 4 and 5, the paper's baselines)")
    ax.set_xlabel("compression ratio, % (paper's Eq. 10)")
    return compression_handles(p)


def _frontier_means(profile: str) -> list[tuple[str, pd.DataFrame]]:
    """(backbone name, seed means of its frontier at the frontier's training budget: PEMN and the equal-bytes
    competitors) per frontier backbone."""
    from ..runs import current_records, recalibrations
    from .fair import frontier_backbone
    from .frontier import at_frontier_budget, means, points as frontier_points
    records, recal, out, index = None, None, [], 0
    while (which := frontier_backbone(profile, index)) is not None:
        index += 1
        records = current_records(profile) if records is None else records
        recal = recalibrations(profile) if recal is None else recal
        m = means(at_frontier_budget(frontier_points(records, which[0], which[1], recal)))
        if not m.empty:
            m = m[m["frontier"] & m["role"].isin(["pemn", "competitor"])]
        if not m.empty:
            out.append((which[2].split(" (")[0], m))
    return out


def _frontier_panel(ax, fronts) -> list:
    """Accuracy against the measured file size, PEMN against the competitors of equal bytes, per backbone."""
    from matplotlib.lines import Line2D

    from . import style
    seen = {}
    for i, (name, m) in enumerate(fronts):
        ls = style.LINESTYLES[i % len(style.LINESTYLES)]
        for method, q in m.groupby("method", sort=False):
            q = q.sort_values("file_bytes")
            label = q["label"].iloc[0]
            look = style.method_style(label)
            ax.plot(q["file_bytes"] / 1024, q["test_acc"], ls=ls, marker=look["marker"], color=look["color"],
                    ms=10 if look["marker"] == "*" else 6, lw=1.3)
            seen.setdefault(label, look)
    style.kib_axis(ax)
    ax.set(xlabel="measured model file size, KiB (log scale)", ylabel="final-epoch test accuracy",
           title="Accuracy against real file bytes (precise BatchNorm statistics for all)")
    display.percent_axis(ax)
    handles = [Line2D([], [], color="0.3", ls=style.LINESTYLES[i % len(style.LINESTYLES)], label=name)
               for i, (name, _) in enumerate(fronts)]
    return handles + [Line2D([], [], color=look["color"], marker=look["marker"], ls="none",
                             ms=9 if look["marker"] == "*" else 6, label=lab) for lab, look in seen.items()]


def answer_figure(profile: str = "cpu"):
    """Top: accuracy along the strategy axis (Fig. 3 runs). Bottom: accuracy against real file bytes, PEMN against
    the competitors of equal bytes (the frontier runs), or, for a profile without them, against the paper's
    baselines under Eq. 10 (Fig. 4/5 runs).

    A panel is drawn only when it has a masked (top) or a compressed (bottom) point; None when neither has.
    Legends sit below the panels so that no label covers a point.
    """
    from . import style
    df = load(profile)
    if df.empty:
        return None
    f3 = points(for_figure(df, "fig3"))
    fronts = _frontier_means(profile)
    comp = points(pd.concat([for_figure(df, "fig4"), for_figure(df, "fig5")]))
    panels = [x for x in (("fig3", f3), ("comp", comp)) if not x[1].empty and (x[1]["family"] != REFERENCE).any()]
    if fronts:
        panels = [x for x in panels if x[0] == "fig3"] + [("frontier", fronts)]
    if not panels:
        return None
    fig, axes = style.figure(len(panels), 1, height=4.6 * len(panels))
    legends = []
    for ax, (kind, p) in zip(axes[:, 0], panels):
        if kind == "fig3":
            handles = _capacity_panel(ax, p)
        elif kind == "frontier":
            handles = _frontier_panel(ax, p)
        else:
            handles = _compression_panel(ax, p)
        legends.append(handles)
    for ax, handles in zip(axes[:, 0], legends):  # each panel's legend below it, outside the data
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.3 if ax.get_xticklabels() and
                  ax is axes[0, 0] and panels[0][0] == "fig3" else -0.16), ncols=2, frameon=False)
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


def dense_by_budget(df: pd.DataFrame) -> list[tuple[str, str]]:
    """``(budget, text)`` per training budget of ``df``, smallest first: the networks trained at it and each dense
    network's seed mean there (points never cross budgets or recipes: :data:`.frame.POINT_KEYS`)."""
    p = points(df)
    out = []
    for key, q in sorted(p.groupby("budget_key", sort=False), key=lambda kv: (kv[0][0] or 0) * (kv[0][1] or 0)):
        archs = q.drop_duplicates("arch").sort_values(["backbone", "arch"], key=_size_order)["arch"]
        dense = q[(q["family"] == REFERENCE) & q["mean"].notna()].sort_values(["backbone", "arch"], key=_size_order)
        several = dense.groupby("arch")["recipe"].transform("nunique") > 1
        each = [f"{a.split(' (')[0]} {pct(m)}" + (f" ({r})" if more else "")
                for a, m, r, more in zip(dense["arch"], dense["mean"], dense["recipe"], several)]
        text = ", ".join(a.split(" (")[0] for a in archs) + (
            f"; dense {', '.join(each)}" if each else "; no test accuracy (held-out validation runs)")
        out.append((budget_label(key), text))
    return out


def _size_order(s: pd.Series) -> pd.Series:
    """Sort key: ConvMixer-64/6 before ConvMixer-128/6 (widths as numbers), backbones by name."""
    if s.name != "arch":
        return s
    return s.map(lambda a: (a.split("-")[0], *(int(x) if x.isdigit() else 0
                                                for x in a.split(" (")[0].split("-")[-1].split("/"))))


def paper_dense_range() -> str:
    """The paper's dense CIFAR-10 accuracies, lowest to highest, read from its figures (``pemn.paper_values``)."""
    from ..paper_values import load as paper_values
    v = paper_values()
    d = v[(v["series"] == "Dense") & ~v["panel"].str.contains("CIFAR-100")]["y"]
    return f"{pct(d.min() / 100)} to {pct(d.max() / 100)}"


def scale_sentence(profile: str, df: pd.DataFrame) -> str:
    """What was rerun, at which scale: runs, seeds, and per training budget the networks and their dense accuracy."""
    from .frame import profiles_present
    if df.empty:
        return f"Profile `{profile}` has no completed run yet."
    per_config = df.groupby(df["run_id"].str.rsplit("-", n=1).str[0]).size()  # run ids end in the seed
    seeds = sorted(set(per_config))
    others = [x for x in profiles_present() if x not in (profile, "custom")]
    budgets = "; ".join(f"*{b}*: {t}" for b, t in dense_by_budget(df))
    return (f"**What was rerun:** the paper's Fig. 3, 4 and 5 in miniature, profile `{profile}`: {len(df)} runs, "
            f"{_span(seeds, 'seed')} per configuration, at these training budgets (CIFAR-10 training images × "
            f"epochs): {budgets}. The paper trains on all 50,000 images for 100-200 epochs; its dense networks "
            f"reach {paper_dense_range()} (its figures). Not run: the paper's own scale (`paper` profile, GPU-days)"
            + (f"; other profiles present: {', '.join(f'`{x}`' for x in others)}." if others else "."))


def _span(values: list, unit: str) -> str:
    """'1 epoch' or '5-10 epochs' for sorted values."""
    span = "-".join(map(str, [values[0], values[-1]] if len(values) > 1 else values))
    return f"{span} {unit}{'s' if values[-1] > 1 else ''}"


def _capacity_sentence(df: pd.DataFrame, verdicts) -> str:
    p = points(for_figure(df, "fig3"))
    facts = []
    for _, q in cells(p):
        name = q["arch"].iloc[0].split(" (")[0] + (f" at {budget_label(q['budget_key'].iloc[0])}"
                                                    if p["budget_key"].nunique() > 1 else "")
        by = {m: r for _, r in q.iterrows() for m in r["merged"]}
        if "mask" not in by or "dense" not in by:
            continue
        fewest = q[q["method"] != REFERENCE].sort_values("unique_values").iloc[0]
        mid = by.get("RP 1e-3")
        facts.append(f"{name}: dense {pct(by['dense']['mean'])}, masks alone {pct(by['mask']['mean'])}"
                     + (f", {mid['unique_values']:,.0f} distinct values (RP 1e-3) {pct(mid['mean'])}" if mid is not None
                        else "")
                     + f", {fewest['unique_values']:,.0f} value{'s' if fewest['unique_values'] != 1 else ''} "
                       f"({fewest['method']}) {pct(fewest['mean'])}")
    return (f"**Representative capacity (Fig. 3): {overall(verdicts)}.** " + ("; ".join(facts) + ". " if facts else "")
            + f"Of the paper's {len(verdicts)} conclusions here: {_tally(verdicts)}.")


def paper_baseline_sentence(df: pd.DataFrame, verdicts) -> str:
    """PEMN against the paper's own baselines at their highest compression (the paper's comparison), with what
    it leaves out: those baselines keep one fraction per layer and their BatchNorm statistics as trained."""
    p = points(pd.concat([for_figure(df, "fig4"), for_figure(df, "fig5")]))
    wins, gaps, total, top = 0, [], 0, None
    for g, q in cells(p):
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
    fact = (f"at their highest compression ({pct(top, 0)}, Eq. 10) or beyond, PEMN is more accurate than the better "
            f"of them on {wins} of {total} backbones"
            + (f" (by {display.signed(min(gaps))} to {display.signed(max(gaps))} points)" if gaps else "")) if total else \
        "no Fig. 4 or Fig. 5 run has finished"
    return (f"**Against the paper's own baselines (Fig. 4 and 5): {overall(verdicts)}.** These keep the same fraction "
            f"of every layer and their BatchNorm statistics as trained, and many of their runs end at chance: "
            f"{fact}, a margin that mostly measures their collapse ({display.ch('fair')}). Of the paper's "
            f"{len(verdicts)} conclusions here: {_tally(verdicts)}.")


def fair_facts(profile: str) -> list[dict]:
    """Per frontier backbone: PEMN against the strongest competitor of equal file bytes (the claims engine's
    verdict, the margins, the deciding runs) and against the best float32 sparse network alone."""
    from ..runs import current_records, recalibrations
    from .fair import frontier_backbone
    from .frontier import points as frontier_points, verdict, verdicts
    records, recal = current_records(profile), recalibrations(profile)
    out, index = [], 0
    while (which := frontier_backbone(profile, index)) is not None:
        index += 1
        backbone, arch, name = which
        p = frontier_points(records, backbone, arch, recal)
        v = verdicts(p) if not p.empty else pd.DataFrame()
        if v.empty or "margin" not in v:
            continue
        if p["test_acc"].max() < 0.2:  # a plumbing-scale profile (smoke): nothing to compare
            out.append({"name": name, "chance": True})
            continue
        tested = v.dropna(subset=["margin"])
        strongest = verdict(v)
        f32 = verdicts(p, competitors=("erk_random", "erk_magnitude"))
        f32 = f32.dropna(subset=["margin"]) if "margin" in f32 else f32.iloc[0:0]
        out.append({"name": name, "chance": False, "sizes": len(tested), "seeds": int(v["seeds"].min()),
                    "outcome": strongest.outcome, "low": tested["margin"].min(), "high": tested["margin"].max(),
                    "f32_low": f32["margin"].min() if not f32.empty else None,
                    "f32_high": f32["margin"].max() if not f32.empty else None,
                    "deciding": strongest.deciding.text if strongest.deciding else "", "runs": strongest.runs})
    return out


def fair_sentence(profile: str, links: bool = False) -> str:
    """The headline: per frontier backbone, PEMN against the strongest competitor at equal file bytes (after
    precise BatchNorm statistics) and against float32 sparse networks alone ("" without frontier runs).
    ``links``: the deciding runs as links to their notebooks."""
    parts = []
    for f in fair_facts(profile):
        if f["chance"]:
            parts.append(f"{f['name']}: every run is near chance, nothing to compare")
            continue
        text = (f"{f['name']} ({f['sizes']} file size{'s' if f['sizes'] > 1 else ''}, {f['seeds']} seed"
                f"{'s' if f['seeds'] > 1 else ''}): against the strongest competitor of the same size *{f['outcome']}* "
                f"(PEMN minus it: {display.signed(f['low'])} to {display.signed(f['high'])} points)")
        if f["f32_low"] is not None:
            text += (f"; against the best float32 sparse network alone {display.signed(f['f32_low'])} to "
                     f"{display.signed(f['f32_high'])} points")
        if links and f["runs"]:
            text += (f"; deciding comparison: {f['deciding']}, runs "
                     + display.run_links(f["runs"], {r: f"runs/{profile}/{r}/train.ipynb" for r in f["runs"]}))
        parts.append(text)
    if not parts:
        return ""
    return (f"**At equal real file bytes ({display.ch('fair')})**, against ERK sparse networks with float32 or "
            "4-bit values and binary-weight networks sized to each PEMN file, every network with precise BatchNorm "
            "statistics: " + "; ".join(parts) + ".")


def show_answer(profile: str = "cpu"):
    """The answer first: three findings (``pemn.report.findings``) and the summary figure; then the scale of the
    runs, PEMN against the strongest competitor at equal bytes at the frontier's budget, the capacity question and
    the paper's own comparison."""
    from .findings import findings
    df = load(profile)
    if df.empty:
        display.md(scale_sentence(profile, df))
        return _answer_figure(profile, df)
    verdicts = claims_verdicts(profile)
    first = findings(profile)
    if first:
        display.md("\n\n".join(first))
    _answer_figure(profile, df)
    display.md(scale_sentence(profile, df))
    display.md("\n\n".join(x for x in (fair_sentence(profile, links=True), _capacity_sentence(df, verdicts[:5]),
                                       paper_baseline_sentence(df, verdicts[5:]), budget_sentence(profile)) if x)
               + f" {display.ch('claims', True)} gives each verdict with the comparison that decides it.")
    _verdict_forest(profile, verdicts)


def landing_verdicts(profile: str, verdicts) -> list[tuple[str, object]]:
    """The verdicts the landing page names: each claim of the paper (``CLAIMS``), then PEMN at equal file bytes at
    each training budget of the budget axis."""
    from ..runs import current_records, recalibrations
    from .budget import budget_rows, equal_bytes_verdicts
    named = [(claim, v) for (claim, _, _), v in zip(CLAIMS, verdicts)]
    rows = budget_rows(current_records(profile), recalibrations(profile))
    return named + [(f"equal bytes, {label}", v) for label, _, v in equal_bytes_verdicts(rows)]


def _verdict_forest(profile: str, verdicts):
    """The landing page's verdicts at a glance: a forest plot of each one's deciding comparison."""
    fig = forest_figure(landing_verdicts(profile, verdicts))
    if fig is not None:
        display.show_fig(fig, f"The verdicts above at a glance: each one's deciding comparison, its margin over the "
                              f"claim's threshold in points (right of 0: the claim's side) with its 95 % Welch "
                              f"interval, coloured by the verdict after Holm's correction; equal bytes: PEMN RP 1e-2 "
                              f"(keep 0.5) minus its closest competitor at each budget of {display.ch('budget')}. "
                              f"Verdicts without an interval are left out; {display.ch('claims')} has every one.")


def _answer_figure(profile: str, df: pd.DataFrame):
    """The landing page's one figure, with its caption."""
    fig = answer_figure(profile)
    if fig is None:
        return display.note_no_runs(profile, "The summary figure (it needs at least one masked or compressed run)")
    used = pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5", "frontier")]).drop_duplicates("run_id")
    left = ("final-epoch test accuracy of masked networks along the paper's strategy axis, mask to RP 1e-5 (fewer "
            "unique random values to the right), each strategy in its own colour and marker, the backbone the line "
            "style; horizontal lines: the dense networks. Where RP 1e-4 and RP 1e-5 leave the same single value, they "
            "are one network: one point on one tick, RP 1e-4/1e-5")
    if _frontier_means(profile):
        right = ("accuracy against the measured size of the model file, PEMN RP 1e-2 against the competitors sized to "
                 "the same bytes, seed means at the frontier's training budget; colour and marker are the method "
                 "(the same in every figure of the book), line style the backbone")
    else:
        right = ("accuracy against compression ratio under the paper's Eq. 10, PEMN's strategies against sparse "
                 "training with random and magnitude pruning; horizontal lines: dense")
    kinds = [ax.get_title() for ax in fig.axes if ax.get_title()]
    if len(kinds) == 2:
        text = f"Top: {left}. Bottom: {right}."
    elif kinds and "Fig. 3" in kinds[0]:
        text = f"{left}. The second panel is missing: no compressed run of this profile has finished yet."
    else:
        text = f"{right}. The first panel (Fig. 3) is missing: no masked Fig. 3 run of this profile has finished yet."
    display.show_svg(fig, caption(used, profile, text + " Error bars: ±1 standard deviation over the seeds."))


def show_verdicts(profile: str = "cpu"):
    """One sentence: how many of the paper's conclusions held, failed, were inconclusive or untested."""
    t = claims_table(profile)
    c = t["verdict"].value_counts()
    names = {k: ", ".join(t.loc[t["verdict"] == k, "claim"]) for k in (HELD, NOT_HELD, INCONCLUSIVE)}
    display.md(f"**Claims check** (profile `{profile}`, {display.ch('claims')}): of the paper's {len(t)} conclusions "
               f"in Sec. 4.2-4.3, {c.get(HELD, 0)} held, {c.get(NOT_HELD, 0)} did not hold, {c.get(INCONCLUSIVE, 0)} "
               f"were within seed noise (inconclusive) and {c.get(NOT_TESTED, 0)} could not be tested with the runs "
               f"present. " + " ".join(f"{k.capitalize()}: {v}." for k, v in names.items() if v))
