"""Learning rates chosen on the validation split, never on the test set (the learning-rate check of
``pemn.grids.LR_CHECK``). Pure: records in, a decision per method out; ``show_*`` display it.

The rule, fixed before the runs were made (it is in the commit that precedes their records): a method's peak
learning rate changes only where another rate of the check beats the method's rate before the check by more than
``RULE_MARGIN`` of validation accuracy (final epoch, precise BatchNorm statistics); it then becomes the rate with
the best validation accuracy. A method whose check is incomplete keeps its rate before the check.
"""
from __future__ import annotations

import pandas as pd

from .. import methods
from ..grids import LR_CHECK

RULE_MARGIN = 0.01  # one point of validation accuracy
FIGURE = "lr_check"


def rate_before_check(strategy: str) -> float:
    """The peak rate the study's runs of a method used before the check: that of its runs on the budget axis (its
    default, or the rate the grid sets, as for PRANC); a method the check moved was at its default
    (``grids._at_held_out_rates`` moves only those)."""
    from ..grids import HELD_OUT_RATES, budget_cells, get_profile
    if strategy in HELD_OUT_RATES:
        return methods.get(strategy).lr
    for cell in budget_cells(get_profile("cpu")):
        for pt in cell.points:
            if pt.strategy == strategy:
                return pt.lr if pt.lr is not None else cell.settings.get("lr", methods.get(strategy).lr)
    return methods.get(strategy).lr


def method_label(c: dict) -> str:
    """How the check names a method: its label (``RP 1e-2``), an equal-bytes competitor's legend title."""
    m = methods.get(c["strategy"])
    return m.title_of(c) if m.equal_bytes else m.label(c)


def check_table(records) -> pd.DataFrame:
    """One row per run of the check: method, peak rate, validation accuracy (final epoch, precise BN), run id."""
    rows = []
    for r in records:
        c = r.config
        if FIGURE not in r.figures or not c.get("validation") or r.get("final_val_acc") is None:
            continue
        rows.append({"strategy": c["strategy"], "method": method_label(c), "lr": c["lr"],
                     "val_acc": r.get("final_val_acc"), "seed": c["seed"], "run_id": r.run_id,
                     "wall_time_s": r.wall_time_s})
    cols = ["strategy", "method", "lr", "val_acc", "seed", "run_id", "wall_time_s"]
    return pd.DataFrame(rows, columns=cols).sort_values(["method", "lr"]).reset_index(drop=True)


def decide(table: pd.DataFrame) -> pd.DataFrame:
    """The rule applied to each method of ``LR_CHECK``: its rate before the check and that rate's accuracy, the best rate,
    the margin, the rate the study uses (``chosen``) and why."""
    rows = []
    for strategy, ratio, rates in LR_CHECK:
        label = method_label({"strategy": strategy, "ratio": ratio})
        t = table[table["method"] == label].groupby("lr")["val_acc"].mean()
        before = rate_before_check(strategy)
        row = {"method": label, "strategy": strategy, "rates": rates, "runs": len(t), "before": before,
               "before_acc": t.get(before), "best": None, "best_acc": None, "margin": None, "chosen": before}
        if len(t) < len(rates) or before not in t:
            row["why"] = f"pending: {len(t)} of {len(rates)} rates run; the rate before the check stays"
        else:
            best = float(t.idxmax())
            margin = float(t[best] - t[before])
            row.update(best=best, best_acc=float(t[best]), margin=margin)
            if margin > RULE_MARGIN:
                row.update(chosen=best, why=f"{best:g} beats {before:g} by more than one point: {best:g} is used")
            else:
                row["why"] = (f"{before:g} is the best rate" if best == before else
                              f"the best, {best:g}, beats {before:g} by no more than a point: {before:g} stays")
        rows.append(row)
    return pd.DataFrame(rows)


def decision_text(profile: str, strategy: str) -> str:
    """What the check says of one method's rate, in words (the prose glues it)."""
    from ..runs import current_records
    d = decide(check_table(current_records(profile)))
    row = d[d["strategy"] == strategy]
    return row["why"].iloc[0] if not row.empty else "not checked"


def chosen_rates(table: pd.DataFrame) -> dict[str, float]:
    """Method label -> the peak rate the rule gives it."""
    return dict(zip(*decide(table)[["method", "chosen"]].T.values))


def lr_figure(table: pd.DataFrame, decision: pd.DataFrame):
    """Validation accuracy against peak learning rate, one line per method, each method's rate before the check ringed; masks
    (whose scores train) and the methods that train weights or coefficients in separate panels."""
    from .style import figure, legend_below, method_style
    fig, axes = figure(1, 2, height=3.6)
    for ax, masked in zip(axes[0], (False, True)):
        shown = decision[decision["strategy"].map(lambda s: methods.get(s).masked) == masked]
        rates = sorted({r for rs in shown["rates"] for r in rs})
        x = {r: i for i, r in enumerate(rates)}  # the rates checked, evenly spaced in order (labels give values)
        for _, d in shown.iterrows():
            t = table[table["method"] == d["method"]].groupby("lr")["val_acc"].mean()
            if t.empty:
                continue
            st = method_style(d["method"])
            ax.plot([x[r] for r in t.index], 100 * t.values, label=d["method"], **st)
            if d["before"] in t:
                ax.scatter([x[d["before"]]], [100 * t[d["before"]]], s=180, facecolors="none", edgecolors=st["color"])
        ax.set_xticks(range(len(rates)), [f"{r:g}" for r in rates])
        ax.set_xlim(-0.5, len(rates) - 0.5)
        ax.set(title="masks' scores" if masked else "weights, PRANC's coefficients", xlabel="peak learning rate")
    axes[0][0].set_ylabel("validation accuracy (%)")
    legend_below(fig, ncols=4, title="ringed: each method's rate before the check (AdamW, the study's schedule)")
    return fig


def show_lr_check(profile: str = "cpu"):
    """The check's figure and the rule's decision per method (the chapter's cell)."""
    from ..runs import current_records
    from . import display
    table = check_table(current_records(profile))
    if table.empty:
        display.note_no_runs(profile, "The learning-rate check")
        return
    decision = decide(table)
    display.show_fig(lr_figure(table, decision), f"Validation accuracy (final epoch, precise BatchNorm statistics) "
                     f"against peak learning rate: ConvMixer-64/6 trained on the 45,000 images outside the validation "
                     f"split, {len(table)} run{'s' if len(table) > 1 else ''}, seed {', '.join(map(str, sorted(set(table['seed']))))}; the test set "
                     f"was never read. Profile `{profile}`.")
    display.show_table(decision_table(decision))


def decision_table(decision: pd.DataFrame) -> pd.DataFrame:
    """The decision as the book prints it: validation accuracies in percent, margins in points."""
    pct = lambda x: "" if x is None or pd.isna(x) else f"{100 * x:.1f}"  # noqa: E731
    return pd.DataFrame({
        "method": decision["method"], "rates checked": [", ".join(f"{r:g}" for r in rs) for rs in decision["rates"]],
        "rate before": decision["before"].map("{:g}".format), "its validation acc (%)": decision["before_acc"].map(pct),
        "best rate": decision["best"].map(lambda x: "" if x is None or pd.isna(x) else f"{x:g}"),
        "best validation acc (%)": decision["best_acc"].map(pct),
        "margin (pts)": decision["margin"].map(pct), "rate used": decision["chosen"].map("{:g}".format),
        "why": decision["why"]}).set_index("method")
