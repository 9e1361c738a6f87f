"""The training-budget axis: ConvMixer-64/6 on all 50,000 images at 10 epochs and at the top budget."""
import json

import pytest

from pemn import cells, grids, runs
from pemn.paths import REPO

AXIS = {"budget", "budget_probe"}


def axis_runs():
    return {k: r for k, r in grids.grid("cpu").items() if AXIS & set(r.figures)}


def test_the_axis_holds_the_forty_runs_the_probes_pranc_and_the_runs_past_the_top_budget():
    g = axis_runs()
    study = [r for r in g.values() if "budget" in r.figures and r.config.strategy != "pranc"]
    by_budget = {}
    for r in study:
        by_budget.setdefault(r.config.epochs, []).append(r)
    longest = max(grids.BUDGET_PROBE_EPOCHS)
    assert {e: len(rs) for e, rs in by_budget.items()} == {10: 16, grids.BUDGET_TOP_EPOCHS: 24, longest: 8}
    assert {e: {r.config.seed for r in rs} for e, rs in by_budget.items()} == {
        10: {0, 1}, grids.BUDGET_TOP_EPOCHS: {0, 1, 2}, longest: {0, 1}}
    beyond = {(r.config.strategy, r.config.ratio) for r in by_budget[longest]}
    assert beyond == set(grids.BUDGET_BEYOND_STRATEGIES) | {("binary", None)}
    probes = [r.config.epochs for r in g.values() if "budget_probe" in r.figures]
    assert probes == list(grids.BUDGET_PROBE_EPOCHS)
    pranc = [r for r in g.values() if r.config.strategy == "pranc"]
    assert len(pranc) == 6 and {r.config.epochs for r in pranc} == {grids.BUDGET_TOP_EPOCHS}
    # the 10-, 20- and 40-epoch probes are their budgets' dense seed-0 runs
    assert len(g) == 40 + 6 + 1 + 8


def test_every_axis_run_trains_on_all_images_with_precise_bn_and_names_its_budget():
    arch = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
    arch_json = json.dumps(arch, sort_keys=True)
    for rid, r in axis_runs().items():
        c = r.config
        assert (c.backbone, c.arch, c.subset, c.bn_recalibration) == ("convmixer", arch, None, 10000)
        held = grids.HELD_OUT_RATES.get(c.strategy)
        rate = f"-lr{held:g}" if held is not None and "budget" in r.figures else ""
        assert f"-{grids.budget_tag(None, c.epochs)}{rate}-s{c.seed}" in rid
        assert held is None or "budget" not in r.figures or c.lr == held
        if c.strategy == "quantized":
            assert c.budget_bits == cells.budget_for_keep("convmixer", arch_json, 0.5)
        if c.strategy == "binary":
            assert c.budget_bits == cells.dense_binary_budget("convmixer", arch_json)


def test_a_method_whose_rate_the_check_moved_is_remade_and_its_old_runs_stay_beside():
    g = grids.grid("cpu")
    for strategy, rate in grids.HELD_OUT_RATES.items():
        new = {(r.config.epochs, r.config.seed) for r in g.values()
               if "budget" in r.figures and r.config.strategy == strategy}
        old = {(r.config.epochs, r.config.seed): r for r in g.values() if "lr_before" in r.figures}
        assert new == set(old) and {r.config.lr for r in old.values()} == {None}  # the method's own default
        assert all(f"-{grids.budget_tag(None, e)}-s{s}" in r.run_id for (e, s), r in old.items())


def _mask_rec(epochs, seed, acc, lr, strategy="mask"):
    cfg = {"backbone": "convmixer", "arch": {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4},
           "dataset": "cifar10", "strategy": strategy, "keep_ratio": 0.5, "seed": seed, "lr": lr, "epochs": epochs,
           "bn_recalibration": 10000, "subset": None}
    return runs.RunRecord.from_dict({"config": cfg, "final_test_acc": acc, "train_size": 50000, "figures": ["budget"],
                                     "run_id": f"{strategy}-{epochs}-{lr}-{seed}", "export": {"file_bytes": 1000}})


def test_the_budget_rows_take_a_moved_method_at_one_rate_and_the_change_names_the_verdict_it_moves():
    from pemn.report import budget
    held, before = grids.HELD_OUT_RATES["mask"], budget.BEFORE_CHECK["mask"]
    e = grids.BUDGET_TOP_EPOCHS
    recs = [_mask_rec(e, s, a, None, "dense") for s, a in ((0, 0.80), (1, 0.81))]
    recs += [_mask_rec(e, s, a, before) for s, a in ((0, 0.60), (1, 0.61))]  # far below 85 % of dense
    recs += [_mask_rec(e, s, a, held) for s, a in ((0, 0.79), (1, 0.80))]  # within it
    after_rows, before_rows = budget.budget_rows(recs), budget.budget_rows(recs, rates=budget.BEFORE_CHECK)
    assert sorted(after_rows[after_rows["method"] == "mask"]["final_acc"]) == [0.79, 0.80]
    assert sorted(before_rows[before_rows["method"] == "mask"]["final_acc"]) == [0.60, 0.61]
    change = budget.rate_change(before_rows, after_rows)
    assert list(change["rates"]) == [(before, held)] and change["after"][0] == (pytest.approx(0.795), 2)
    moved = budget.moved_verdicts(change)
    assert len(moved) == 1 and "4.2 (1) *not held* → " in moved[0]


def test_the_top_budget_is_the_fewest_probe_epochs_where_dense_reaches_78_percent():
    reached = {}
    for r in axis_runs().values():
        if "budget_probe" not in r.figures:
            continue
        rec = runs.read_record(REPO / "runs" / "cpu" / r.run_id)
        if rec is not None and rec.complete:
            reached[r.config.epochs] = rec.final_test_acc >= grids.BUDGET_TARGET_DENSE
    made = sorted(reached)
    assert made[:2] == [10, 20]  # the probes that settle it are committed
    assert min(e for e in made if reached[e]) == grids.BUDGET_TOP_EPOCHS


def _cpu_rows():
    from pemn.report import budget
    return budget.budget_rows(runs.current_records("cpu"), runs.recalibrations("cpu"))


def test_the_budget_rows_count_each_seed_once_with_precise_bn():
    """At the cpu budget Fig. 3 and the frontier both ran RP 1e-2 keep 0.5 (seeds 0, 1): the run trained with
    precise BN counts, once; Fig. 3's runs enter with their recalibrated accuracy, never the running-average one."""
    rows = _cpu_rows()
    assert not rows.duplicated(["budget_key", "method", "seed"]).any()
    rp = rows[(rows["budget_key"] == (10000, 10)) & (rows["method"] == "RP 1e-2")].set_index("seed")
    assert sorted(rp.index) == [0, 1, 2]
    assert rp.loc[0, "run_id"].endswith("-bnr-s0") and rp.loc[1, "run_id"].endswith("-bnr-s1")
    recal = runs.recalibrations("cpu")
    dense = rows[(rows["budget_key"] == (10000, 10)) & (rows["method"] == "dense")]
    assert len(dense) == 3 and all(a == recal[r]["test_acc"] for r, a in zip(dense["run_id"], dense["final_acc"]))


def test_a_verdict_cell_says_when_a_side_has_one_seed():
    from pemn.report import budget
    from pemn.report.stats import Comparison, Verdict
    one = Comparison("a vs b", 0.012, float("nan"))
    assert budget.outcome_cell(Verdict("inconclusive", "", one, (one,))) == "inconclusive (+1.2 pts, one seed)"
    two = Comparison("a vs b", -0.0004, 0.01, se=0.004, df=4.0)
    cell = budget.outcome_cell(Verdict("inconclusive", "", two, (two,)))
    assert cell.startswith("inconclusive (0.0 [") and "nan" not in cell and "-0.0" not in cell
    assert budget.outcome_cell(Verdict("not tested", "no runs")) == "not tested"


def test_the_claim_by_budget_table_has_every_budget_with_its_dense_accuracy():
    from pemn.report import budget
    rows = _cpu_rows()
    t = budget.claims_by_budget(rows)
    expected = ["10k images × 10 epochs", "50k images × 10 epochs", f"50k images × {grids.BUDGET_TOP_EPOCHS} epochs",
                f"50k images × {max(grids.BUDGET_PROBE_EPOCHS)} epochs"]  # the last once its runs are in
    assert list(t["budget"]) in (expected[:3], expected)
    for _, r in t.iterrows():
        d = rows[(rows["budget"] == r["budget"]) & (rows["method"] == "dense")]["final_acc"]
        assert r["dense"] == pytest.approx(d.mean())


def test_the_answer_compares_only_budgets_whose_verdicts_are_all_tested():
    from pemn.report import budget
    rows = _cpu_rows()
    t = budget.claims_by_budget(rows)
    text = budget.answer(rows)
    complete = [r["budget"] for _, r in t.iterrows() if all(r[n].outcome != "not tested" for n in budget.VERDICT_NAMES)]
    waiting = [b for b in t["budget"] if b not in complete]
    assert text.startswith(f"From {complete[0]} (dense ") and f"to {complete[-1]} (dense " in text
    assert all(f"At {b} (dense " in text and " runs" in text.split(f"At {b}")[-1] for b in waiting)
    assert "nan" not in text and " 1 seeds" not in text


def test_each_competitor_is_named_and_coloured_as_in_the_fair_compression_chapter():
    """A competitor's label is its method's legend title (the fair-compression chapter's), one at another keep
    ratio's bytes says so, and every label finds its own method's style (never the dense default)."""
    from pemn import methods
    from pemn.report import budget, style
    rows = _cpu_rows()
    recs = {r.run_id: r for r in runs.current_records("cpu")}
    for _, r in rows.iterrows():
        m = methods.get(r["strategy"])
        base, _, other = r["method"].partition(" at keep ")
        assert base == (m.title_of(recs[r["run_id"]].config) if m.equal_bytes else m.label(recs[r["run_id"]].config))
        assert style.method_of(base) in (r["strategy"], base)  # a competitor by its method, a strategy by its label
        assert not other or other == "0.1's bytes"
    eq = {label: t for label, t, _ in budget.equal_bytes_verdicts(rows)}
    top = eq[f"50k images × {grids.BUDGET_TOP_EPOCHS} epochs"]
    assert sorted(top["strategy"]) == ["binary", "pranc", "quantized", "rp"]
