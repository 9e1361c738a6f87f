"""The training-budget chapter: do the verdicts survive more training? Tables, figures and verdicts are pure
(records in); the ``show_*`` functions at the end read a profile's records and display them.

Three budgets of ConvMixer-64/6 (kernel 5, patch 4, the ``cpu`` recipe otherwise): the ``cpu`` profile's own
(10,000 images, 10 epochs: Fig. 3's runs and the frontier's), all 50,000 images for 10 epochs, and all 50,000
for the top budget's epochs (``pemn.grids.BUDGET_TOP_EPOCHS``). Every accuracy here has precise BatchNorm
statistics: the budget-axis and frontier runs recalibrated while training, Fig. 3's runs from their files
(``pemn recalibrate``), so that every method is treated alike. Verdicts use the claims engine's rule.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from .. import methods
from ..cells import ALL_WEIGHTS, bytes_budget
from ..grids import BUDGET_TOP_EPOCHS, HELD_OUT_RATES, budget_cells, get_profile
from .claims import (NOT_TESTED, Verdict, claim_extreme_drop, claim_gradual_drop, claim_promising, compare,
                     decide, welch)
from .frame import notebook_paths, points, recipe_of, records_frame
from . import display
from .display import signed
from .labels import REFERENCE, budget_label, pct

ARCH = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
AXIS_METHODS = ("dense", "mask", "MP", "RP 1e-1", "RP 1e-2", "RP 1e-3")  # the strategies judged at every budget
PEMN_POINT = "RP 1e-2"  # PEMN's equal-bytes point (keep 0.5)
BEFORE_CHECK = {s: methods.get(s).lr for s in HELD_OUT_RATES}  # the rates the held-out check moved, as they were
BUDGET_CLAIMS = (("4.2 (1)", claim_promising), ("4.2 (2)", claim_gradual_drop), ("4.2 (3)", claim_extreme_drop))


def _on_axis(rec) -> bool:
    """A ConvMixer-64/6 CIFAR-10 run of the axis: one of the budget axis, of Fig. 3, or of the frontier (a dense
    probe only where it is also a budget's run: a probe alone is no budget)."""
    c = rec.config
    return (c["backbone"], c.get("arch"), c["dataset"]) == ("convmixer", ARCH, "cifar10") and \
        bool({"budget", "fig3", "frontier"} & set(rec.figures))


@lru_cache(maxsize=None)
def competitors() -> dict[tuple[str, float], float]:
    """(strategy, bits per weight) of each equal-bytes competitor the budget axis runs (``pemn.grids``) -> the PEMN
    keep ratio whose file bytes it matches (the dense binary network: keep 0.5's). The ``cpu`` budget's runs of
    these are the frontier's."""
    return {(pt.strategy, round(bytes_budget(cell.backbone, cell.arch, pt.at_bytes_of), 3)):
            0.5 if pt.at_bytes_of == ALL_WEIGHTS else pt.at_bytes_of
            for cell in budget_cells(get_profile("cpu")) if cell.figure == "budget"
            for pt in cell.points if methods.get(pt.strategy).equal_bytes}


def _label(c: dict) -> str:
    """The book's label of a run: a strategy's label, a competitor's legend title as in the fair-compression
    chapter; a competitor sized to another keep ratio than 0.5 says so."""
    m = methods.get(c["strategy"])
    if not m.equal_bytes:
        return m.label(c)
    keep = competitors().get((c["strategy"], round(c.get("budget_bits") or 0, 3)), 0.5)
    return m.title_of(c) if keep == 0.5 else f"{m.title_of(c)} at keep {keep:g}'s bytes"


def _compared(rec) -> bool:
    """A strategy judged at every budget (keep 0.5), or a competitor at PEMN keep 0.5's bytes."""
    c = rec.config
    if methods.get(c["strategy"]).label(c) in AXIS_METHODS:
        return c.get("keep_ratio", 0.5) == 0.5
    return (c["strategy"], round(c.get("budget_bits") or 0, 3)) in competitors()


@lru_cache(maxsize=None)
def _axis_budgets() -> frozenset[tuple[int, int]]:
    """(training images, epochs) of the budget axis's own cells, where a method trains at its held-out rate."""
    return frozenset((c.settings.get("subset") or 50000, c.settings["epochs"])
                     for c in budget_cells(get_profile("cpu")) if c.figure == "budget")


def _at_rate(rec, rates: dict) -> bool:
    """False for a run of a method in ``rates`` at one of the axis's own budgets trained at another rate (the 10k
    budget is Fig. 3's runs, at the rates they were made with)."""
    c = rec.config
    if c["strategy"] not in rates or (rec.train_size, c["epochs"]) not in _axis_budgets():
        return True
    return recipe_of(c)["lr"] == rates[c["strategy"]]


def precise_bn_accuracy(rec, recalibrated: dict | None) -> float | None:
    """The run's test accuracy with precise BatchNorm statistics: recalibrated in training, or from its file."""
    if rec.config.get("bn_recalibration"):
        return rec.final_test_acc
    return (recalibrated or {}).get(rec.run_id, {}).get("test_acc")


def budget_rows(records, recalibrated: dict | None = None, rates: dict | None = None) -> pd.DataFrame:
    """One row per ConvMixer-64/6 run at some budget, with its precise-BN accuracy (``final_acc``) and budget.

    ``recalibrated`` maps a run id to its ``pemn recalibrate`` result, for runs trained without precise BN;
    a run that has neither is left out (it would not be treated like the others). ``rates``: the peak rate of a
    method whose rate the held-out check moved (default ``HELD_OUT_RATES``; ``BEFORE_CHECK`` for the axis as it was).
    """
    rates = HELD_OUT_RATES if rates is None else rates
    chosen = {r.run_id: (r, precise_bn_accuracy(r, recalibrated)) for r in records
              if _on_axis(r) and _compared(r) and _at_rate(r, rates)}
    chosen = {k: v for k, v in chosen.items() if v[1] is not None}
    # one run per method, seed and budget: where Fig. 3 and the frontier both ran it, the one trained with precise
    # BN (two runs of one seed are not two seeds)
    first = {}
    for k, (r, _) in sorted(chosen.items(), key=lambda kv: not kv[1][0].config.get("bn_recalibration")):
        c = r.config
        first.setdefault((r.train_size, c["epochs"], _label(c), c["seed"]), k)
    chosen = {k: chosen[k] for k in first.values()}
    df = records_frame([r for r, _ in chosen.values()])
    if df.empty:
        return df
    df["final_acc"] = df["run_id"].map(lambda k: chosen[k][1])
    df["method"] = df["run_id"].map(lambda k: _label(chosen[k][0].config))
    df["budget_key"] = list(zip(df["train_size"].astype(int), df["epochs"].astype(int)))
    df["budget"] = [budget_label(k) for k in df["budget_key"]]
    return df.sort_values(["budget_key", "method", "seed"]).reset_index(drop=True)


def _points(rows: pd.DataFrame) -> pd.DataFrame:
    """The claims engine's points (mean, std, n per method) of one budget's rows."""
    return points(rows.drop(columns=["budget_key", "budget"]))


def budgets(rows: pd.DataFrame) -> list[tuple[tuple[int, int], str]]:
    if rows.empty:
        return []
    return sorted({(k, b) for k, b in zip(rows["budget_key"], rows["budget"])})


def gap_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per budget and strategy: accuracy (mean, seeds) and the gap to dense with its 95 % Welch interval."""
    out = []
    for key, label in budgets(rows):
        p = _points(rows[rows["budget_key"] == key])
        dense = p[p["method"] == REFERENCE]
        if dense.empty:
            continue
        d = dense.iloc[0]
        for _, m in p.iterrows():
            e = welch(d, m) if m["method"] != REFERENCE else None
            out.append({"budget": label, "images": key[0], "epochs": key[1], "method": m["method"],
                        "strategy": m["strategy"], "accuracy": m["mean"], "seeds": int(m["n"]),
                        "gap": e.margin if e else 0.0, "gap_low": e.low if e else 0.0,
                        "gap_high": e.high if e else 0.0, "df": e.df if e else float("nan"), "runs": m["runs"]})
    return pd.DataFrame(out)


def gap_figure(rows: pd.DataFrame):
    """Left: accuracy against budget; right: each strategy's gap to dense with its 95 % interval."""
    t = gap_table(rows)
    if t.empty:
        return None
    order = [label for _, label in budgets(rows) if label in set(t["budget"])]
    x = {b: i for i, b in enumerate(order)}
    from . import style as book_style
    fig, axes = book_style.figure(1, 2, height=4.4, full=True)
    a, b = axes[0]
    groups = sorted(t.groupby("method", sort=False), key=lambda g: (g[0] not in AXIS_METHODS,
                                                                   AXIS_METHODS.index(g[0]) if g[0] in AXIS_METHODS
                                                                   else 0, g[0]))
    for j, (method, q) in enumerate(groups):
        base, _, other_bytes = method.partition(" at keep ")  # a competitor at another keep ratio's bytes
        look = book_style.method_style(base) | ({"marker": "X", "ls": ":"} if other_bytes else {})
        style = dict(**look, ms=6, lw=1.4, label=method)
        xs = [x[v] + 0.03 * (j - (len(groups) - 1) / 2) for v in q["budget"]]
        a.plot(xs, q["accuracy"] * 100, **style)
        if method != REFERENCE:
            lo, hi = (q["gap"] - q["gap_low"]) * 100, (q["gap_high"] - q["gap"]) * 100
            b.errorbar(xs, q["gap"] * 100, yerr=[lo.fillna(0), hi.fillna(0)], capsize=3, **style)
    for ax, ylabel in ((a, "final test accuracy (%)"), (b, "dense − method (points), 95 % interval")):
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([label.replace(" × ", "\n× ") for label in order])
        ax.set_ylabel(ylabel)
    b.axhline(0, color="black", lw=0.8)
    book_style.legend_below(fig, ncols=4)
    return fig


def equal_bytes_verdicts(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame, Verdict]]:
    """Per budget: PEMN RP 1e-2 keep 0.5 against each competitor at its bytes, and the verdict of "PEMN is at
    least as accurate as every competitor" (held: better than each after Holm; not held: one is significantly
    better)."""
    out = []
    for key, label in budgets(rows):
        r = rows[rows["budget_key"] == key]
        p = _points(r)
        pemn = p[p["method"] == PEMN_POINT]
        rivals = p[p["strategy"].isin({s for s, _ in competitors()}) & ~p["method"].str.contains(" at keep ")]
        table = pd.concat([pemn, rivals])[["method", "strategy", "mean", "std", "n", "runs"]]
        file_bytes = r.groupby("method")["export_file_bytes"].mean()
        table = table.assign(file_bytes=table["method"].map(file_bytes))
        if pemn.empty or rivals.empty:
            out.append((label, table, Verdict(NOT_TESTED, "needs PEMN keep 0.5 and a competitor at its bytes")))
            continue
        q = pemn.iloc[0]
        comps = [compare(f"{label}: PEMN {PEMN_POINT} {pct(q['mean'])} vs {c['method']} {pct(c['mean'])}",
                         welch(q, c), tuple(q["runs"].split(", ")) + tuple(c["runs"].split(", ")))
                 for _, c in rivals.iterrows()]
        out.append((label, table, decide(comps, "needs two seeds a side")))
    return out


def claims_by_budget(rows: pd.DataFrame) -> pd.DataFrame:
    """Claim × budget: the verdict of claims 4.2 (1)–(3) on ConvMixer-64/6 and the equal-bytes verdict at keep
    0.5, each by the claims engine's rule, with the dense accuracy and seed count of each budget."""
    out = []
    equal = {label: v for label, _, v in equal_bytes_verdicts(rows)}
    for key, label in budgets(rows):
        p = _points(rows[rows["budget_key"] == key])
        p = p[p["method"].isin(AXIS_METHODS)]
        dense = p[p["method"] == REFERENCE]
        row = {"budget": label, "dense": dense["mean"].iloc[0] if not dense.empty else None,
               "seeds": int(p["n"].min()) if not p.empty else 0}
        for name, fn in BUDGET_CLAIMS:
            row[name] = fn(p) if len(p) else Verdict(NOT_TESTED, "no runs")
        row["equal bytes (keep 0.5)"] = equal.get(label, Verdict(NOT_TESTED, "no runs"))
        out.append(row)
    return pd.DataFrame(out)


def _seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def _scale(r) -> str:
    return f"{r['budget']} (dense {pct(r['dense'])}, {_seeds(r['seeds'])})"


def _mean_gap(gaps: pd.DataFrame, budget: str) -> float:
    """The masked strategies' mean gap to dense at one budget (a contrast of their own means, not pooled seeds)."""
    q = gaps[(gaps["budget"] == budget) & gaps["method"].isin(AXIS_METHODS) & (gaps["method"] != REFERENCE)]
    return q["gap"].mean() if len(q) == len(AXIS_METHODS) - 1 else float("nan")


VERDICT_NAMES = tuple(n for n, _ in BUDGET_CLAIMS) + ("equal bytes (keep 0.5)",)


def answer(rows: pd.DataFrame) -> str:
    """The chapter's opening: how the gap to dense moves, and which verdicts change from the smallest budget to
    the largest one whose every verdict is tested; then each budget where only some strategies have runs."""
    t = claims_by_budget(rows)
    judged = lambda r: all(v.outcome != NOT_TESTED for v in r)  # noqa: E731 (every verdict of a budget tested)
    tested = t if t.empty else t[t[list(VERDICT_NAMES)].apply(judged, axis=1)]
    waiting = [b for b in t["budget"] if b not in set(tested["budget"])] if not t.empty else []
    if len(tested) < 2:
        return ("Fewer than two budgets have the runs a verdict needs yet, so no verdict can be compared across "
                "budgets; the tables below show what has run.")
    first, last = tested.iloc[0], tested.iloc[-1]
    gaps = gap_table(rows)
    g0, g1 = _mean_gap(gaps, first["budget"]), _mean_gap(gaps, last["budget"])
    text = f"From {_scale(first)} to {_scale(last)}, "
    text += (f"the masked strategies' mean gap to dense goes from {100 * g0:.1f} to {100 * g1:.1f} points. "
             if g0 == g0 and g1 == g1 else "the masked strategies' gap to dense cannot be compared yet. ")
    changed = [f"{n} goes from *{first[n].outcome}* to *{last[n].outcome}*" for n in VERDICT_NAMES
               if first[n].outcome != last[n].outcome]
    same = [f"{n} (*{last[n].outcome}*)" for n in VERDICT_NAMES if first[n].outcome == last[n].outcome]
    text += ("Verdicts that change: " + "; ".join(changed) + ". ") if changed else "No verdict changes. "
    if same:
        text += "Unchanged: " + ", ".join(same) + ". "
    for b in waiting:
        text += _partial(t[t["budget"] == b].iloc[0], gaps, last["budget"]) + " "
    return text.strip()


def _partial(r, gaps: pd.DataFrame, reference: str) -> str:
    """A budget where only some strategies have runs: their gaps next to ``reference``'s, and what it can judge."""
    here = gaps[gaps["budget"] == r["budget"]].set_index("method")
    there = gaps[gaps["budget"] == reference].set_index("method")
    others = [m for m in here.index if m != REFERENCE]
    moves = [f"{m} {100 * there.loc[m, 'gap']:.1f} → {100 * here.loc[m, 'gap']:.1f}" for m in others
             if m in there.index]
    judged = [f"{n} *{r[n].outcome}*" for n in VERDICT_NAMES if r[n].outcome != NOT_TESTED]
    text = f"At {_scale(r)} only {_and([REFERENCE] + others)} {'have' if others else 'has'} runs"
    if moves:
        text += f"; their gaps to dense from {reference} to it (points): {'; '.join(moves)}"
    text += (f"; there {_and(judged)}, the other claims not tested." if judged else "; no claim is tested there.")
    return text


def outcome_cell(v: Verdict) -> str:
    """A verdict with its deciding comparison's margin and 95 % interval (before Holm), or why it is untested."""
    if v.outcome == NOT_TESTED or v.deciding is None:
        return v.outcome
    d = v.deciding
    if d.low != d.low:  # a mean with one seed: no interval
        return f"{v.outcome} ({signed(d.margin)} pts, one seed)"
    return f"{v.outcome} ({signed(d.margin)} [{signed(d.low)}, {signed(d.high)}] pts)"


def claims_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``claims_by_budget`` for display: one row per budget, a verdict with its deciding margin per claim."""
    t = claims_by_budget(rows)
    if t.empty:
        return t
    shown = t.assign(dense=t["dense"].map(pct))
    for c in VERDICT_NAMES:
        shown[c] = shown[c].map(outcome_cell)
    return shown.set_index("budget")


def rate_change(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """What the held-out check's rates change at each budget: ``before`` and ``after`` are ``budget_rows`` at
    ``BEFORE_CHECK`` and at the chosen rates. Per budget where a moved method differs: its accuracy (mean, seeds)
    at each rate, and every verdict of ``claims_by_budget`` before and after, with whether it moved."""
    out = []
    t0 = claims_by_budget(before).set_index("budget") if not before.empty else pd.DataFrame()
    t1 = claims_by_budget(after).set_index("budget") if not after.empty else pd.DataFrame()
    for key, label in budgets(after):
        if key not in set(before["budget_key"]):
            continue
        for strategy in HELD_OUT_RATES:
            method = methods.get(strategy).label({"strategy": strategy})
            a, b = (r[(r["budget_key"] == key) & (r["method"] == method)]["final_acc"] for r in (before, after))
            if a.empty or b.empty or set(before[before["budget_key"] == key]["run_id"]) == set(
                    after[after["budget_key"] == key]["run_id"]):
                continue
            row = {"budget": label, "method": method, "rates": (BEFORE_CHECK[strategy], HELD_OUT_RATES[strategy]),
                   "before": (a.mean(), len(a)), "after": (b.mean(), len(b))}
            for n in VERDICT_NAMES:
                row[n] = (t0.loc[label, n], t1.loc[label, n])
            out.append(row)
    return pd.DataFrame(out, columns=["budget", "method", "rates", "before", "after", *VERDICT_NAMES])


def moved_verdicts(change: pd.DataFrame) -> list[str]:
    """``budget: claim: before → after`` for each verdict the rate change moves."""
    return [f"{r['budget']}: {n} *{r[n][0].outcome}* → *{r[n][1].outcome}*" for _, r in change.iterrows()
            for n in VERDICT_NAMES if r[n][0].outcome != r[n][1].outcome]


def verdict_line(rows: pd.DataFrame) -> str:
    """The landing page's line: per budget, its scale and how each budget claim came out."""
    parts = []
    for _, r in claims_by_budget(rows).iterrows():
        by = {}
        for n in VERDICT_NAMES:
            by.setdefault(r[n].outcome, []).append(n)
        parts.append(f"{_scale(r)}: " + "; ".join(f"{o} {_and(ns)}" for o, ns in by.items()))
    return ". ".join(parts)


def _and(names) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def run_times(rows: pd.DataFrame) -> pd.DataFrame:
    """Measured training time per budget (the runs' own records): runs, median and total minutes."""
    g = rows.groupby("budget", sort=False)["wall_time_s"]
    return pd.DataFrame({"runs": g.size(), "median (min)": (g.median() / 60).round(1),
                         "total (h)": (g.sum() / 3600).round(2)})


def probe_rows(records) -> pd.DataFrame:
    """The dense probes that settle the top budget: seed 0 on all 50,000 images at each probe's epochs."""
    out = [{"epochs": r.config["epochs"], "final_acc": r.final_test_acc, "wall_time_s": r.wall_time_s,
            "run_id": r.run_id} for r in records if "budget_probe" in r.figures]
    return pd.DataFrame(out, columns=["epochs", "final_acc", "wall_time_s", "run_id"]).sort_values("epochs")


# --- the chapter's show functions (display and I/O) --------------------------------------------------------------

def _load(profile: str):
    """The profile's records, the budget rows, and the executed notebook of each run the book shows (a run still
    training when the book is built has none yet: its id is not linked)."""
    from ..runs import current_records, recalibrations
    records = current_records(profile)
    return records, budget_rows(records, recalibrations(profile)), notebook_paths(records_frame(records))


def _links(notebooks: dict, runs: str) -> str:
    return display.run_links([r for r in str(runs).split(", ") if r], notebooks)


def budget_sentence(profile: str = "cpu") -> str | None:
    """The landing page's per-budget verdicts (None for a profile without the budget axis)."""
    _, rows, _ = _load(profile)
    if rows.empty or len(budgets(rows)) < 2:
        return None
    return (f"**With more training** (ConvMixer-64/6, {display.ch('budget')}; the claims engine's rule). "
            + verdict_line(rows) + ".")


def show_answer(profile: str = "cpu"):
    _, rows, _ = _load(profile)
    display.md(f"**The answer (profile `{profile}`, every network with precise BatchNorm statistics).** "
               + answer(rows))


def show_probes(profile: str = "cpu"):
    records, _, notebooks = _load(profile)
    p = probe_rows(records)
    if p.empty:
        return display.note_no_runs(profile, "The budget probes")
    from ..grids import BUDGET_PROBE_EPOCHS, BUDGET_TARGET_DENSE
    missing = [e for e in BUDGET_PROBE_EPOCHS if e not in set(p["epochs"])]
    table = pd.DataFrame({"epochs (all 50,000 images)": p["epochs"], "dense test accuracy": p["final_acc"].map(pct),
                          f"reaches {BUDGET_TARGET_DENSE:.0%}": p["final_acc"].ge(BUDGET_TARGET_DENSE).map(
                              {True: "yes", False: "no"}),
                          "training (min)": (p["wall_time_s"] / 60).round(1),
                          "run": [display.run_link(r, notebooks.get(r)) for r in p["run_id"]]})
    display.show_table(table, f"Dense ConvMixer-64/6, seed 0: {top_budget_note()}, the fewest probe epochs at which "
                              f"dense reaches {BUDGET_TARGET_DENSE:.0%}."
                       + (f" Not run yet (the grid runs them last): {_and([str(e) for e in missing])} epochs." if missing
                          else ""))


def show_gaps(profile: str = "cpu"):
    _, rows, notebooks = _load(profile)
    t = gap_table(rows)
    if t.empty:
        return display.note_no_runs(profile, "The budget axis")
    display.show_fig(gap_figure(rows), "Left: seed means of final test accuracy at each budget. Right: dense minus "
                     "each strategy, with its 95 % Welch interval (each side's own seed variance; none where a side "
                     "has one seed). Keep ratio 0.5; binary, 4-bit ERK and PRANC at the file bytes of PEMN RP 1e-2.")
    shown = pd.DataFrame({"budget": t["budget"], "method": t["method"], "seeds": t["seeds"],
                          "accuracy": t["accuracy"].map(pct),
                          "gap to dense [95 % interval] (pts)": [
                              "" if m == REFERENCE else f"{signed(g)}" + ("" if lo != lo else
                                                                          f" [{signed(lo)}, {signed(hi)}]")
                              for m, g, lo, hi in zip(t["method"], t["gap"], t["gap_low"], t["gap_high"])],
                          "runs": [_links(notebooks, r) for r in t["runs"]]})
    display.md("<details><summary>The figure's numbers and runs</summary>\n\n" + display.table_md(shown)
               + "\n\n</details>")


def show_equal_bytes(profile: str = "cpu"):
    _, rows, notebooks = _load(profile)
    for label, table, v in equal_bytes_verdicts(rows):
        if table.empty:
            display.md(f"**{label}:** no run yet.")
            continue
        shown = pd.DataFrame({"method": table["method"], "file (KiB)": (table["file_bytes"] / 1024).round(1),
                              "accuracy": table["mean"].map(pct), "seeds": table["n"].astype(int),
                              "runs": [_links(notebooks, r) for r in table["runs"]]})
        display.md(f"**{label}: {outcome_cell(v)}**" + (f" (deciding: {v.deciding.text})" if v.deciding else
                                                         f" ({v.evidence})"))
        display.show_table(shown)


def show_claims(profile: str = "cpu"):
    _, rows, _ = _load(profile)
    t = claims_table(rows)
    if t.empty:
        return display.note_no_runs(profile, "The claim × budget table")
    display.show_table(t, "Each claim judged at each budget by the claims engine's rule: a verdict, then its deciding "
                          "comparison's margin and 95 % interval before Holm's correction (a claim of several "
                          "comparisons can be inconclusive with an interval that excludes zero). The seeds column: the "
                          "fewest seeds of any strategy at that budget.")


def show_rate_change(profile: str = "cpu"):
    """The held-out check's rates against the rates before it, at each budget the axis remade."""
    from ..runs import current_records, recalibrations
    records, recal = current_records(profile), recalibrations(profile)
    change = rate_change(budget_rows(records, recal, BEFORE_CHECK), budget_rows(records, recal))
    if change.empty:
        return display.md("No budget has runs at both rates yet.")
    rates = ", ".join(f"{methods.get(s).label({'strategy': s})} from {BEFORE_CHECK[s]:g} to {r:g}"
                      for s, r in HELD_OUT_RATES.items())
    moved = moved_verdicts(change)
    display.md(f"**What the held-out rates change** ({rates}; {display.ch('scale')} has the check): "
               + ("the verdicts that move: " + "; ".join(moved) + "." if moved else
                  "no verdict of this chapter moves.")
               + " The rest of this chapter uses the new rates at the 50k budgets; the 10k budget keeps "
                 "Fig. 3's runs at the old ones.")
    shown = pd.DataFrame({"budget": change["budget"], "method": change["method"],
                          "accuracy before → after": [f"{pct(a[0])} at {r[0]:g} ({_seeds(a[1])}) → {pct(b[0])} at "
                                                      f"{r[1]:g} ({_seeds(b[1])})" for r, a, b in
                                                      zip(change["rates"], change["before"], change["after"])],
                          **{n: [v[0].outcome if v[0].outcome == v[1].outcome else
                                 f"{v[0].outcome} → {v[1].outcome}" for v in change[n]] for n in VERDICT_NAMES}})
    display.show_table(shown, "Each budget the axis remade: the moved method's mean final test accuracy at each "
                              "rate, and each verdict before → after (one word where it stays).")


def show_times(profile: str = "cpu"):
    _, rows, _ = _load(profile)
    if rows.empty:
        return display.note_no_runs(profile, "The budget axis")
    display.show_table(run_times(rows), "Training time of the runs above, from their records (the 10k budget's "
                                        "Fig. 3 runs included).")


def top_budget_note() -> str:
    return f"the top budget is {BUDGET_TOP_EPOCHS} epochs on all 50,000 images"
