"""The landing page's answer in three sentences, each number from the runs (or the paper's figure values) and each
verdict word the claims engine's, linked to the rule: the mask gap here and in the paper, PEMN at equal file bytes
against its strongest competitor and against PRANC, and what the scale axis shows."""
from __future__ import annotations

import pandas as pd

from .. import methods
from .labels import MASK, pct, signed

def _verdict(outcome: str) -> str:
    """A verdict word, linked to the chapter that states the rule."""
    return f"{{ref}}`{outcome} <ch-method>`"


def gap_sentence(gaps: pd.DataFrame, paper: pd.DataFrame, budget: str) -> str | None:
    """Sentence 1: mask against dense at ConvMixer-64/6 at the top budget, beside the paper's ConvMixer-256/6."""
    from .scale import base_gap
    b = base_gap(gaps)
    if b is None or paper.empty:
        return None
    p = paper.iloc[0]
    head = ("Masks trail dense by more than in the paper" if b["ratio"] < p["ratio"] else
            "Masks come as close to dense as in the paper")
    return (f"**{head}.** At ConvMixer-64/6 on {budget} masks on fixed random "
            f"weights reach {pct(b['masked'])} against dense {pct(b['dense'])}: {signed(-b['gap'])} points "
            f"[{signed(-b['gap_high'])}, {signed(-b['gap_low'])}], {100 * b['ratio']:.0f} % of dense "
            f"(seeds {b['seeds']}); the paper's Fig. 3 shows {pct(p['mask'])} against {pct(p['dense'])} at "
            f"{p['panel']}, {signed(-p['gap'])} points, {100 * p['ratio']:.0f} % of dense (100 epochs, patch 2, its "
            f"recipe, best epoch).")


def bytes_sentence(table: pd.DataFrame, verdict, budget: str) -> str | None:
    """Sentence 2: PEMN RP 1e-2 at keep 0.5 against each competitor sized to its file, at the top budget: the
    verdict of the family and the two comparisons that matter, the best competitor and PRANC (Holm-corrected
    outcome each)."""
    if verdict.deciding is None or table.empty:
        return None
    pemn, rivals = table.iloc[0], table.iloc[1:].reset_index(drop=True)
    outcomes = dict(zip(rivals["method"], verdict.holm_outcomes))
    margins = dict(zip(rivals["method"], verdict.comparisons))  # one comparison per rival, in the table's order
    best = rivals.loc[rivals["mean"].idxmax()]
    pranc = rivals[rivals["strategy"].map(lambda s: methods.get(s).closest_rival)]

    def against(row) -> str:
        c = margins.get(row["method"])
        interval = f" [{signed(c.low)}, {signed(c.high)}]" if c is not None and c.low == c.low else ""
        return (f"{row['method']} {pct(row['mean'])} ({signed(pemn['mean'] - row['mean'])} points{interval}, "
                f"{_verdict(outcomes[row['method']])} after Holm)")
    parts = [against(best)] + ([against(pranc.iloc[0])] if not pranc.empty and pranc.index[0] != best.name else [])
    head = {"not held": f"At equal file bytes {best['method']} beat PEMN", "held": "At equal file bytes PEMN leads"}.get(
        verdict.outcome, "At equal file bytes no side is ahead")
    return (f"**{head}.** On {budget} PEMN RP 1e-2 (keep 0.5, "
            f"{pct(pemn['mean'])}) against the networks sized to its file: " + "; ".join(parts)
            + f"; the family's verdict that PEMN is at least as accurate as every one: {_verdict(verdict.outcome)}.")


def scale_sentence(gaps: pd.DataFrame, paper: pd.DataFrame, effect=None, epochs=None) -> str:
    """Sentence 3: what the scale axis shows so far (or that it has no other level yet), and whether the masks'
    learning rate (``scale.rate_effect``) or the epochs (``scale.epochs_sentence``) are the cause, where given."""
    levels = gaps[gaps["method"] == MASK].drop_duplicates("runs")
    from .scale import base_gap
    base = base_gap(gaps)
    others = levels[levels["runs"] != (base["runs"] if base is not None else None)]
    if others.empty:
        return ("**The scale axis (width, patch, recipe at the top budget) has no level beyond ConvMixer-64/6 "
                "committed yet**; {numref}`chapter %s <ch-scale>` fills in as its runs land.")
    from .scale import epochs_sentence, gap_span, rate_sentence
    best = others.loc[others["gap"].idxmin()]
    return (f"**Scale, so far:** of the {len(others)} other level{'s' if len(others) > 1 else ''} committed "
            f"(masks' learning rate, width, patch, recipe; {{numref}}`chapter %s <ch-scale>`) the smallest mask gap "
            f"is {signed(best['gap'])} points at {best['factor']} {best['level']}{gap_span(best)}, against the paper's "
            f"{signed(paper.iloc[0]['gap'])}." + rate_sentence(effect) + epochs_sentence(epochs))


def findings(profile: str = "cpu") -> list[str]:
    """The three sentences, from the committed runs (those that cannot be computed yet are left out)."""
    from ..grids import BUDGET_TOP_EPOCHS
    from ..runs import current_records, recalibrations
    from .budget import budget_rows, equal_bytes_verdicts
    from .labels import budget_label
    from .budget import gap_table as budget_gap_table
    from .scale import _load, epoch_levels, rate_effect
    records, rows, gaps, paper = _load(profile)
    top = budget_label((50000, BUDGET_TOP_EPOCHS))
    axis = budget_rows(records, recalibrations(profile))
    eq = {label: (t, v) for label, t, v in equal_bytes_verdicts(axis)}
    first = gap_sentence(gaps, paper, top)
    if first is None:  # no top-budget runs (the smoke profile): nothing to state
        return []
    out = [first, bytes_sentence(*eq[top], top) if top in eq else None, scale_sentence(gaps, paper, rate_effect(rows), epoch_levels(budget_gap_table(axis)))]
    return [s for s in out if s]
