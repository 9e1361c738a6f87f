"""Chapter 5: the paper's conclusions checked on the runs (the verdicts come from ``claims``, which is pure)."""
from __future__ import annotations

import pandas as pd

from ..runs import current_records
from . import display
from .claims import CLAIMS, INCONCLUSIVE, NOISE_SIGMAS, NOT_HELD, NOT_TESTED, Verdict, evaluate, evaluate_sizes
from .frame import caption, for_figure, load, notebook_paths


def _margin(v: Verdict) -> str:
    return "" if v.deciding is None else f"{100 * v.margin:+.1f} ± {100 * v.noise:.1f}"


def _tally(v: Verdict) -> str:
    if not v.comparisons:
        return ""
    counts = pd.Series([c.outcome for c in v.comparisons]).value_counts()
    return ", ".join(f"{counts[k]} {k}" for k in ("held", INCONCLUSIVE, NOT_HELD) if k in counts)


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
    text = (f"{which[2]}: {v.deciding.text}, {100 * v.margin:+.1f} ± {100 * v.noise:.1f} pts" if v.deciding
            else f"{which[2]}: {v.evidence}")
    return v.outcome, text


def claims_table(profile: str = "cpu", links: bool = False) -> pd.DataFrame:
    """One row per numbered conclusion of Sec. 4.2 and 4.3: verdict, deciding comparison, margin and seed noise.

    A figure whose runs are all near chance (the ``smoke`` profile) tests nothing: its claims are reported as
    not tested, with that reason. ``links``: the deciding run ids as Markdown links to their notebooks.
    """
    notebooks = notebook_paths(load(profile)) if links else {}
    rows = []
    for (claim, says, test), v in zip(CLAIMS, claims_verdicts(profile)):
        rows.append({"claim": claim, "the paper says": says, "our test": test, "verdict": v.outcome,
                     "deciding comparison": v.deciding.text if v.deciding else v.evidence,
                     "margin ± seed noise (pts)": _margin(v), "comparisons": _tally(v),
                     "deciding runs": display.run_links(v.runs, notebooks) if links else ", ".join(v.runs),
                     **dict(zip(("at equal bytes", "at equal bytes: deciding"), fair_outcome(profile, claim)))})
    return pd.DataFrame(rows)


def show_claims(profile: str = "cpu"):
    """The verdicts at a glance (a narrow table), then each claim with its deciding comparison and runs."""
    t = claims_table(profile, links=True)
    counts = t["verdict"].value_counts().to_dict()
    display.show_table(pd.DataFrame({"claim": t["claim"], "the paper says": t["the paper says"],
                                     "verdict (paper's baselines)": t["verdict"].map(lambda v: f"**{v}**"),
                                     "margin ± seed noise (pts)": t["margin ± seed noise (pts)"],
                                     "verdict at equal bytes (ch. 7)": t["at equal bytes"].map(
                                         lambda v: f"**{v}**" if v and v != "n/a" else v)}))
    df = load(profile)
    used = df if df.empty else pd.concat([for_figure(df, f) for f in ("fig3", "fig4", "fig5", "width")]
                                         ).drop_duplicates("run_id")
    per_axis = {}
    for claim, axis, v in evaluate_sizes(df):
        per_axis.setdefault(claim, []).append(f"{axis} *{v.outcome}*")
    display.md("*" + caption(used, profile, f"Claims check ({', '.join(f'{n} {k}' for k, n in counts.items())}). "
                             f"Each verdict is computed from the runs by `pemn.report.claims`; points are means over "
                             f"seeds, accuracies are final-epoch test accuracies, compression uses the paper's "
                             f"accounting. Margin: how far the deciding comparison clears its threshold (negative: "
                             f"falls short); seed noise: {NOISE_SIGMAS:g} standard errors of that difference. Within "
                             f"it the verdict is *{INCONCLUSIVE}*; *{NOT_TESTED}* means the runs are missing.") + "*")
    blocks = []
    for _, r in t.iterrows():
        lines = [f"**{r['claim']}: {r['verdict']}.** *Our test:* {r['our test']}."]
        if r["margin ± seed noise (pts)"]:
            lines.append(f"*Deciding comparison:* {r['deciding comparison']}, margin {r['margin ± seed noise (pts)']} "
                         f"points ({r['comparisons']}).")
            lines.append(f"*Its runs:* {r['deciding runs']}.")
        else:
            lines.append(f"*Why:* {r['deciding comparison']}.")
        if r["claim"] in per_axis:
            lines.append(f"*Width and depth apart (chapter 3, size at equal budget):* {'; '.join(per_axis[r['claim']])}.")
        if r["at equal bytes"] and r["at equal bytes"] != "n/a":
            lines.append(f"*Against the strongest competitor at equal bytes (chapter 7): {r['at equal bytes']}*; "
                         f"{r['at equal bytes: deciding']}.")
        blocks.append("\n".join(f"- {x}" if i else x for i, x in enumerate(lines)))
    display.md("\n\n".join(blocks))


def size_claims_table(profile: str = "cpu", links: bool = False) -> pd.DataFrame:
    """The size claims with width and depth judged apart (one row per claim and axis)."""
    df = load(profile)
    notebooks = notebook_paths(df) if links else {}
    return pd.DataFrame([{"claim": claim, "axis": axis, "verdict": v.outcome,
                          "deciding comparison": v.deciding.text if v.deciding else v.evidence,
                          "margin ± seed noise (pts)": _margin(v), "comparisons": _tally(v),
                          "deciding runs": display.run_links(v.runs, notebooks) if links else ", ".join(v.runs)}
                         for claim, axis, v in evaluate_sizes(df)])


def show_size_claims(profile: str = "cpu") -> None:
    """The size claims judged along width and along depth apart, with their deciding runs."""
    t = size_claims_table(profile, links=True)
    display.show_table(t.assign(verdict=t["verdict"].map(lambda v: f"**{v}**")).drop(columns="comparisons"),
                       "Size claims, width and depth apart: each verdict compares the smallest and the largest size "
                       "of a series trained at one budget (series of unequal budgets are not compared). Verdicts "
                       "from `pemn.report.claims.evaluate_sizes`.")
