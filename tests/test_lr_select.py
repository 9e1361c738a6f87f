"""The held-out learning-rate rule (issue 39): a rate changes only where another beats today's by more than a point
of validation accuracy; the test set plays no part."""
from pemn.grids import LR_CHECK, grid
from pemn.report import lr_select
from pemn.runs import RunRecord


def _rec(strategy, lr, acc, ratio=None):
    cfg = {"backbone": "convmixer", "strategy": strategy, "ratio": ratio, "lr": lr, "seed": 0, "validation": True,
           "budget_bits": 1.0 if strategy == "pranc" else None}
    return RunRecord.from_dict({"config": cfg, "final_val_acc": acc, "figures": ["lr_check"],
                                "run_id": f"{strategy}-{lr}"})


def test_rule_keeps_a_rate_unless_another_beats_it_by_more_than_a_point():
    recs = [_rec("dense", 0.005, 0.780), _rec("dense", 0.01, 0.785), _rec("dense", 0.02, 0.794),  # +0.9: stays
            _rec("mask", 0.025, 0.60), _rec("mask", 0.05, 0.62), _rec("mask", 0.1, 0.64), _rec("mask", 0.2, 0.63),
            _rec("rp", 0.025, 0.60, 0.01), _rec("rp", 0.05, 0.62, 0.01)]  # incomplete: stays
    d = lr_select.decide(lr_select.check_table(recs)).set_index("method")
    assert d.loc["dense", "chosen"] == 0.01 and d.loc["dense", "best"] == 0.02
    assert d.loc["mask", "chosen"] == 0.1 and abs(d.loc["mask", "margin"] - 0.02) < 1e-12
    assert d.loc["RP 1e-2", "chosen"] == 0.05 and d.loc["RP 1e-2", "why"].startswith("pending: 2 of 4")
    assert d.loc[lr_select.method_label({"strategy": "pranc"}), "chosen"] == lr_select.rate_before_check("pranc")


def test_the_check_runs_every_rate_on_the_validation_split_with_todays_among_them():
    runs = [r for r in grid("cpu").values() if "lr_check" in r.figures]
    assert len(runs) == sum(len(rates) for _, _, rates in LR_CHECK) == 14
    assert all(r.config.validation and r.config.subset is None for r in runs)
    for strategy, ratio, rates in LR_CHECK:
        assert lr_select.rate_before_check(strategy) in rates
        assert sorted(r.config.lr for r in runs if (r.config.strategy, r.config.ratio) == (strategy, ratio)) == \
            sorted(rates)


def test_the_grids_held_out_rates_are_what_the_rule_says_of_the_committed_check():
    """grids.HELD_OUT_RATES holds the rule's outcome for every method whose check is complete; no other method's
    rate has moved (a method still pending keeps its rate)."""
    from pemn.grids import HELD_OUT_RATES
    from pemn.runs import current_records
    d = lr_select.decide(lr_select.check_table(current_records("cpu")))
    done = d[~d["why"].str.startswith("pending")]
    assert "mask" in set(done["strategy"])
    for _, r in done.iterrows():
        assert r["chosen"] == HELD_OUT_RATES.get(r["strategy"], r["before"]), r["method"]
    assert set(HELD_OUT_RATES) <= set(done["strategy"])
