"""Chapter 5: the paper's conclusions checked on the runs (the verdicts come from ``claims``, which is pure)."""
from __future__ import annotations

import math

import pandas as pd

from ..runs import current_records
from . import display
from .claims import (CLAIMS, HELD, INCONCLUSIVE, NOT_HELD, NOT_TESTED, PROMISING, Verdict, evaluate,
                     evaluate_sizes)
from .frame import caption, for_figure, load, notebook_paths, points
from .labels import MASK, REFERENCE, percent, signed
from .verdict_text import holm_tally, interval
from .stats import ALPHA, LEVEL, Comparison, t_quantile, welch


def _df(c: Comparison | None) -> str:
    if c is None or math.isnan(c.df) or c.fails:
        return ""
    return "∞" if math.isinf(c.df) else f"{c.df:.1f}"


def _p(v: Verdict) -> str:
    """The deciding comparison's one-sided p-value, raw and after Holm, in the direction that decides."""
    if v.deciding is None or v.deciding.fails:
        return ""
    raw, adjusted = v.deciding_p
    return f"{raw:.2g} → {adjusted:.2g}" if len(v.comparisons) > 1 else f"{raw:.2g}"


def claims_verdicts(profile: str = "cpu") -> list[Verdict]:
    """The verdicts of ``CLAIMS`` on the complete runs of ``profile``."""
    return evaluate(current_records(profile))


# The 4.3 claims that say PEMN beats its competitors, and the frontier backbone (chapter 7) that tests each one
# again against the strongest competitor at equal real bytes (index into the profile's frontier backbones).
FAIR_TEST = {"4.3 Fig. 4 (1)": 1, "4.3 Fig. 5 (1)": 0, "4.3 Fig. 5 (2)": 0}


def fair_outcome(profile: str, claim: str) -> tuple[str, str]:
    """(verdict, deciding comparison) of ``claim`` against the strongest competitor at equal bytes, or a reason."""
    from .fair import fair_verdict, frontier_backbone
    if claim not in FAIR_TEST:
        return ("n/a" if claim.startswith("4.3") else "", "about the paper's baselines only" if claim.startswith("4.3")
                else "")
    which = frontier_backbone(profile, FAIR_TEST[claim])
    if which is None:
        return NOT_TESTED, f"profile {profile} has no frontier for this figure"
    _, v = fair_verdict(profile, which[0], which[1])
    text = (f"{which[2]}: {v.deciding.text}; after Holm {holm_tally(v)} (each comparison's interval: "
            f"{display.ch('fair')})" if v.deciding else f"{which[2]}: {v.evidence}")
    return v.outcome, text


def _columns(v: Verdict) -> dict:
    c = v.deciding
    return {"margin (pts)": signed(c.margin) if c else "", "95 % interval (pts)": interval(c), "df": _df(c),
            "p, one-sided (raw → Holm)": _p(v), "after Holm": holm_tally(v)}


def claims_table(profile: str = "cpu", links: bool = False) -> pd.DataFrame:
    """One row per numbered conclusion of Sec. 4.2 and 4.3: verdict, deciding comparison, its margin, 95 % interval
    and degrees of freedom, its p-value (raw and after Holm) and how many comparisons hold after Holm.

    A figure whose runs are all near chance (the ``smoke`` profile) tests nothing: its claims are reported as
    not tested, with that reason. ``links``: the deciding run ids as Markdown links to their notebooks.
    """
    notebooks = notebook_paths(load(profile)) if links else {}
    rows = []
    for (claim, says, test), v in zip(CLAIMS, claims_verdicts(profile)):
        rows.append({"claim": claim, "the paper says": says, "our test": test, "verdict": v.outcome,
                     "deciding comparison": v.deciding.text if v.deciding else v.evidence,
                     **_columns(v), "deciding runs": display.run_links(v.runs, notebooks) if links else ", ".join(v.runs),
                     **dict(zip(("at equal bytes", "at equal bytes: deciding"), fair_outcome(profile, claim)))})
    return pd.DataFrame(rows)


def rule_md() -> str:
    """The verdict rule in plain words (its levels from :mod:`.stats`)."""
    pct = f"{100 * (1 - ALPHA):.0f} %"
    return (f"A comparison is a margin: one seed mean minus another (or minus a fraction of it, such as mask "
            f"against {PROMISING:.0%} of dense), minus the claim's threshold. Its standard error adds each side's own "
            f"seed variance: $\\mathrm{{SE}}^2 = s_a^2/n_a + c^2 s_b^2/n_b$, with $s^2$ the sample variance of a "
            f"side's $n$ seeds and $c$ the fraction ($c = 1$ for a plain difference). Its {pct} interval is the "
            f"margin $\\pm\\, t\\cdot\\mathrm{{SE}}$, $t$ the {LEVEL:g} quantile of Student's t with Welch–"
            f"Satterthwaite degrees of freedom, $\\nu = \\mathrm{{SE}}^4 / \\big[(s_a^2/n_a)^2/(n_a-1) + "
            f"(c^2 s_b^2/n_b)^2/(n_b-1)\\big]$ (`scipy.stats`). The comparison is *held* when the interval lies "
            f"wholly above zero, *not held* when wholly below, *{INCONCLUSIVE}* when it straddles zero, and "
            f"*{INCONCLUSIVE}* whenever a side has a single seed. A claim resting on several comparisons is a family: "
            f"each comparison's one-sided p-value is corrected by Holm's method at {100 * ALPHA:.0f} % (two-sided, so "
            f"{100 * ALPHA / 2:g} % per direction: a family of one is decided by its interval alone). The claim is "
            f"*held* when every comparison holds after the correction, *{NOT_HELD}* when some comparison falls short "
            f"significantly after it, *{INCONCLUSIVE}* otherwise. Different methods are never pooled as seeds: a mean "
            f"over several methods is a contrast of their means, each with its own seeds' variance.")


def _seed_list(q) -> str:
    return ", ".join(percent(a, 2) for a in q["accs"])


def rule_example(profile: str = "cpu") -> str:
    """The rule worked through on claim 4.2 (1) of ``profile``'s Fig. 3 runs (Markdown; every number computed)."""
    from .claims import claim_promising
    p = points(for_figure(load(profile), "fig3"))
    v = claim_promising(p) if not p.empty else None
    if v is None or not v.comparisons:
        return f"Profile `{profile}` has no Fig. 3 dense and mask runs yet to work the rule through."
    c = v.comparisons[0]  # the first backbone's comparison, worked through from its seeds
    g = next(x for x in p["group"].unique() if c.text.startswith(f"{x}:"))
    d, m = (p[(p["group"] == g) & (p["method"] == k)].iloc[0] for k in (REFERENCE, MASK))
    e = welch(m, d, c=PROMISING)  # the same estimate as the engine's ``c`` (the tests check it)
    va, vb = m["std"] ** 2 / m["n"], PROMISING ** 2 * d["std"] ** 2 / d["n"]
    side = {"held": "wholly above zero", "not held": "wholly below zero", INCONCLUSIVE: "across zero"}[c.outcome]
    lines = [f"**Worked example: claim 4.2 (1) on {g}** (profile `{profile}`; mask must reach {PROMISING:.0%} of "
             f"dense). Final test accuracies (%) per seed: mask {_seed_list(m)} (mean {percent(m['mean'], 2)}, "
             f"$s$ = {100 * m['std']:.3f}, $n$ = {m['n']}); dense {_seed_list(d)} (mean {percent(d['mean'], 2)}, "
             f"$s$ = {100 * d['std']:.3f}, $n$ = {d['n']}).",
             f"- Margin: {percent(m['mean'], 2)} − {PROMISING:g} × {percent(d['mean'], 2)} = {signed(e.margin, 2)} points.",
             f"- Standard error: $\\mathrm{{SE}}^2$ = {100 * m['std']:.3f}²/{m['n']} + {PROMISING:g}² × "
             f"{100 * d['std']:.3f}²/{d['n']} = {1e4 * va:.4f} + {1e4 * vb:.4f}, so SE = {100 * e.se:.3f} points.",
             f"- Welch–Satterthwaite: ν = ({1e4 * va:.4f} + {1e4 * vb:.4f})² / ({1e4 * va:.4f}²/{m['n'] - 1} + "
             f"{1e4 * vb:.4f}²/{d['n'] - 1}) = {e.df:.2f} degrees of freedom; $t_{{{LEVEL:g}}}({e.df:.2f})$ = "
             f"{t_quantile(e.df):.3f}, so the half-width is {100 * e.half:.2f} points (a fixed 2 in place of t would give "
             f"{2 * 100 * e.se:.2f}: too narrow for so few seeds).",
             f"- Interval: {signed(e.margin, 2)} ± {100 * e.half:.2f} = {interval(c, 2)} points, {side}: this comparison "
             f"alone is *{c.outcome}* (one-sided p = {c.p_held:.2g}).",
             f"- The claim is a family of {len(v.comparisons)} comparison{'s' if len(v.comparisons) > 1 else ''}, "
             f"one per backbone: " + "; ".join(f"{x.text.split(':')[0]} p = {x.p_held:.2g}, after Holm {h:.2g}"
                                               for x, h in zip(v.comparisons, v.p_held))
             + f". After Holm {holm_tally(v)}: claim 4.2 (1) is *{v.outcome}*."]
    return "\n".join(lines)


def show_rule(profile: str = "cpu") -> None:
    """The verdict rule in plain words, then worked through on the records (chapter 2)."""
    display.md(rule_md())
    display.md(rule_example(profile))


def show_claims(profile: str = "cpu"):
    """The verdicts at a glance (a narrow table), then each claim with its deciding comparison, its interval and
    degrees of freedom, Holm's count, and its runs."""
    t = claims_table(profile, links=True)
    counts = t["verdict"].value_counts().to_dict()
    decided = [f"{m} {i}" + (f", df {d}" if d else "") if m else ""
               for m, i, d in zip(t["margin (pts)"], t["95 % interval (pts)"], t["df"])]
    display.show_table(pd.DataFrame({"claim": t["claim"], "the paper says": t["the paper says"],
                                     "verdict (paper's baselines)": t["verdict"].map(lambda v: f"**{v}**"),
                                     "deciding margin [95 % interval] (pts)": decided,
                                     "after Holm": t["after Holm"],
                                     "verdict at equal bytes": t["at equal bytes"].map(
                                         lambda v: f"**{v}**" if v and v != "n/a" else v)}))
    df = load(profile)
    used = df if df.empty else pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5", "width")]
                                         ).drop_duplicates("run_id")
    fig = forest_figure(list(zip((c for c, _, _ in CLAIMS), claims_verdicts(profile))))
    if fig is not None:
        display.show_fig(fig, "Each claim's deciding comparison: its margin over the claim's threshold (points; the "
                              "threshold at 0, right of it the claim's side) with its 95 % Welch interval, coloured by "
                              "the verdict after Holm's correction. Claims without an interval (a side with one seed, "
                              "or not tested) are left out of the plot; the table gives them.")
    per_axis = {}
    for claim, axis, v in evaluate_sizes(df):
        per_axis.setdefault(claim, []).append(f"{axis} *{v.outcome}*" + (f" ({holm_tally(v)} after Holm)"
                                                                          if v.comparisons else ""))
    display.md("*" + caption(used, profile, f"Claims check ({', '.join(f'{n} {k}' for k, n in counts.items())}). "
                             f"Each verdict is computed from the runs by `pemn.report.claims`; points are means over "
                             f"seeds, accuracies are final-epoch test accuracies, compression uses the paper's "
                             f"accounting. Margin: how far the deciding comparison clears its threshold (negative: "
                             f"falls short), with its {100 * (1 - ALPHA):.0f} % Welch interval and degrees of freedom "
                             f"(df); after Holm: how many of the claim's comparisons hold once Holm's correction at "
                             f"{100 * ALPHA:.0f} % is applied to the family. *{NOT_TESTED}* means the runs are "
                             f"missing. The rule is stated and worked through in {display.ch('method')}, *Method*. The last "
                             f"column: the verdict against the strongest competitor of equal file bytes, "
                             f"{display.ch('fair')}.") + "*")
    blocks = []
    for _, r in t.iterrows():
        lines = [f"**{r['claim']}: {r['verdict']}.** *Our test:* {r['our test']}."]
        if r["margin (pts)"]:
            p_ = f"; one-sided p {r['p, one-sided (raw → Holm)']}" if r["p, one-sided (raw → Holm)"] else ""
            lines.append(f"*Deciding comparison:* {r['deciding comparison']} (its margin, interval and degrees of "
                         f"freedom: the table above){p_}.")
            lines.append(f"*After Holm over the claim's comparisons:* {r['after Holm']}.")
            lines.append(f"*Its runs:* {r['deciding runs']}.")
        else:
            lines.append(f"*Why:* {r['deciding comparison']}.")
        if r["claim"] in per_axis:
            lines.append(f"*Width and depth apart ({display.ch('capacity')}, size at equal budget):* {'; '.join(per_axis[r['claim']])}.")
        if r["at equal bytes"] and r["at equal bytes"] != "n/a":
            lines.append(f"*Against the strongest competitor at equal bytes ({display.ch('fair')}): {r['at equal bytes']}*; "
                         f"{r['at equal bytes: deciding']}.")
        blocks.append("\n".join(f"- {x}" if i else x for i, x in enumerate(lines)))
    display.md("\n\n".join(blocks))


OUTCOME_COLOURS = {HELD: "#009E73", NOT_HELD: "#D55E00", INCONCLUSIVE: "#7F7F7F"}  # Okabe–Ito, outcome not method


def forest_figure(named):
    """A forest plot of ``(name, verdict)`` pairs: each deciding comparison's margin and 95 % interval, in points,
    coloured by the verdict; None when no comparison has an interval."""
    from .style import figure, legend_below
    rows = [(n, v) for n, v in named if v.deciding is not None and not v.deciding.fails
            and not math.isnan(v.deciding.se)]
    if not rows:
        return None
    fig, axes = figure(height=0.9 + 0.32 * len(rows))
    ax = axes[0, 0]
    seen = set()
    for i, (name, v) in enumerate(reversed(rows)):
        c = v.deciding
        colour = OUTCOME_COLOURS.get(v.outcome, "0.3")
        ax.errorbar([100 * c.margin], [i], xerr=[[100 * (c.margin - c.low)], [100 * (c.high - c.margin)]],
                    fmt="o", color=colour, capsize=3, label=v.outcome if v.outcome not in seen else None)
        seen.add(v.outcome)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [n for n, _ in reversed(rows)])
    ax.set_xlabel("margin over the claim's threshold (points), 95 % Welch interval")
    legend_below(fig, ncols=3)
    return fig


def size_claims_table(profile: str = "cpu", links: bool = False) -> pd.DataFrame:
    """The size claims with width and depth judged apart (one row per claim and axis)."""
    df = load(profile)
    notebooks = notebook_paths(df) if links else {}
    return pd.DataFrame([{"claim": claim, "axis": axis, "verdict": v.outcome,
                          "deciding comparison": v.deciding.text if v.deciding else v.evidence,
                          **_columns(v), "deciding runs": display.run_links(v.runs, notebooks) if links else ", ".join(v.runs)}
                         for claim, axis, v in evaluate_sizes(df)])


def show_size_claims(profile: str = "cpu") -> None:
    """The size claims judged along width and along depth apart, with their deciding runs."""
    t = size_claims_table(profile, links=True)
    decided = [f"{m} {i}" + (f", df {d}" if d else "") if m else ""
               for m, i, d in zip(t["margin (pts)"], t["95 % interval (pts)"], t["df"])]
    t = pd.DataFrame({"claim": t["claim"], "axis": t["axis"], "verdict": t["verdict"].map(lambda v: f"**{v}**"),
                      "deciding comparison": t["deciding comparison"], "margin [95 % interval] (pts)": decided,
                      "after Holm": t["after Holm"], "deciding runs": t["deciding runs"]})
    display.show_table(t,
                       "Size claims, width and depth apart: each verdict compares the smallest and the largest size "
                       "of a series trained at one budget (series of unequal budgets are not compared), by the rule of "
                       f"{display.ch('method')} (Welch intervals, Holm over each claim's comparisons). Verdicts from "
                       "`pemn.report.claims.evaluate_sizes`.")
