"""The scale axis (issue 40): its cells, and the chapter's pure tables and verdicts on hand-made records."""
import math

import pytest
from scipy import stats

from pemn import cells, grids
from pemn.report import scale
from pemn.runs import RunRecord
from pemn.report.stats import Estimate

BASE = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}


def test_scale_cells_are_the_issues_runs_at_the_top_budget():
    g = {k: r for k, r in grids.grid("cpu").items() if "scale" in r.figures}
    assert len(g) == 26
    assert {(c.subset, c.epochs, c.bn_recalibration, c.arch["depth"], c.arch["kernel_size"]) for c in
            (r.config for r in g.values())} == {(None, grids.BUDGET_TOP_EPOCHS, 10000, 6, 5)}
    by = {}
    for r in g.values():
        c = r.config
        by.setdefault((c.arch["dim"], c.arch["patch_size"], c.augment), set()).add((c.strategy, c.ratio, c.seed))
    two = lambda *ms: {(s, r, seed) for s, r in ms for seed in (0, 1)}  # noqa: E731
    assert by == {(32, 4, "crop_flip"): two(("dense", None), ("mask", None), ("rp", 0.01)),
                  (128, 4, "crop_flip"): two(("dense", None), ("mask", None), ("rp", 0.01), ("binary", None)),
                  (256, 4, "crop_flip"): two(("dense", None), ("mask", None)),
                  (64, 2, "crop_flip"): two(("dense", None), ("mask", None)),
                  (64, 4, "convmixer"): two(("dense", None), ("mask", None))}
    masks = [r.config for r in g.values() if r.config.strategy == "mask" and r.config.augment == "crop_flip"]
    assert {c.lr for c in masks} == {grids.HELD_OUT_RATES["mask"]}
    paper = [r.config for r in g.values() if r.config.augment == "convmixer"]
    assert {(c.batch_size, c.lr, c.weight_decay, c.label_smoothing) for c in paper} == {(512, 0.05, 0.005, 0.0)}
    arch = {**BASE, "dim": 128}
    binary = next(r.config for r in g.values() if r.config.strategy == "binary")
    pemn_bits = cells.bytes_budget("convmixer", arch, 0.5)
    assert binary.budget_bits == cells.bytes_budget("convmixer", arch, cells.ALL_WEIGHTS)
    assert abs(binary.budget_bits / pemn_bits - 1) <= 0.05  # the dense binary network fits PEMN keep 0.5's file


def _rec(strategy, seed, acc, dim=64, patch=4, augment="crop_flip", ratio=None, nbytes=1000, figures=("scale",),
         lr=None):
    if lr is None and strategy == "mask" and augment == "crop_flip" and (dim, patch) != (64, 4):
        lr = grids.HELD_OUT_RATES["mask"]
    cfg = {"backbone": "convmixer", "arch": {**BASE, "dim": dim, "patch_size": patch}, "dataset": "cifar10",
           "strategy": strategy, "ratio": ratio, "keep_ratio": 0.5, "augment": augment, "seed": seed, "lr": lr,
           "epochs": grids.BUDGET_TOP_EPOCHS, "bn_recalibration": 10000, "subset": None}
    return RunRecord.from_dict({"config": cfg, "final_test_acc": acc, "train_size": 50000, "figures": list(figures),
                                "run_id": f"{strategy}-{dim}-{patch}-{augment}-{lr}-{seed}",
                                "export": {"file_bytes": nbytes}})


def _records():
    held = grids.HELD_OUT_RATES["mask"]
    return [_rec("dense", 0, 0.80), _rec("dense", 1, 0.82), _rec("mask", 0, 0.66), _rec("mask", 1, 0.67),
            _rec("mask", 0, 0.69, lr=held), _rec("mask", 1, 0.70, lr=held),
            _rec("dense", 0, 0.70, dim=32), _rec("dense", 1, 0.71, dim=32),
            _rec("mask", 0, 0.60, dim=32), _rec("mask", 1, 0.62, dim=32),
            _rec("dense", 0, 0.84, augment="convmixer"), _rec("dense", 1, 0.86, augment="convmixer"),
            _rec("mask", 0, 0.80, augment="convmixer"), _rec("mask", 1, 0.81, augment="convmixer"),
            _rec("mask", 0, 0.99, dim=512, figures=("fig3",))]  # not on the axis: left out


def test_gap_table_is_each_levels_welch_gap():
    rows = scale.scale_rows(_records())
    assert len(rows) == 14
    gaps = scale.gap_table(rows)
    paper = gaps[(gaps["factor"] == "recipe") & (gaps["level"] == "paper")].iloc[0]
    assert paper["gap"] == pytest.approx(0.85 - 0.805)
    va, vb = stats.tvar([0.84, 0.86]) / 2, stats.tvar([0.80, 0.81]) / 2
    se = math.sqrt(va + vb)
    df = se ** 4 / (va ** 2 + vb ** 2)
    half = stats.t.ppf(0.975, df) * se
    assert paper["gap_low"] == pytest.approx(0.045 - half) and paper["gap_high"] == pytest.approx(0.045 + half)
    assert paper["ratio"] == pytest.approx(0.805 / 0.85)
    assert set(gaps["level"]) == {"0.05", "0.2", "32", "64", "4", "cpu", "paper"}  # levels without runs left out
    held = gaps[(gaps["factor"] == "learning rate") & (gaps["level"] == "0.2")].iloc[0]
    assert held["masked"] == pytest.approx(0.695) and held["seeds"] == "2 / 2"  # masks at 0.05 not mixed in
    best = scale.closest_level(gaps)
    assert (best["factor"], best["level"]) == ("recipe", "paper")


def test_answer_names_the_base_gap_the_smallest_and_the_papers():
    from pemn.paper_values import load
    rows = scale.scale_rows(_records())
    text = scale.answer(scale.gap_table(rows), scale.paper_gaps(load()))
    assert "trail dense by 11.5 points at ConvMixer-64/6" in text
    assert "masks' rate 0.2" in text and "across the 4 levels" in text and "smallest gap is 4.5 points" in text and " at recipe paper (mask at" in text
    assert "the paper's 4.6 points at ConvMixer-256/6" in text


def test_the_learning_rate_question_is_answered_by_the_masks_at_both_rates():
    from pemn.paper_values import load
    from pemn.report import findings
    rows = scale.scale_rows(_records())
    effect = scale.rate_effect(rows)
    assert effect.margin == pytest.approx(0.695 - 0.665)  # masks at 0.2 minus masks at 0.05, width 64 only
    # its interval [-0.04, +6.0] reaches zero: the answer word is "No"
    want = "Is it the masks' learning rate? No: masks at the held-out rate 0.2 differ from masks at 0.05 by +3.0 points ["
    gaps, paper = scale.gap_table(rows), scale.paper_gaps(load())
    assert want in scale.answer(gaps, paper, effect) and want in findings.scale_sentence(gaps, paper, effect)
    assert scale.rate_effect(rows[rows["lr"] != 0.05]) is None and scale.rate_sentence(None) == ""
    assert "rate? Partly: masks" in scale.rate_sentence(Estimate(0.03, 0.005, 10))  # an interval above zero
    assert "rate? Not measured yet: masks" in scale.rate_sentence(Estimate(0.03, float("nan"), 0))


def test_width_claim_and_bytes_comparison():
    recs = _records() + [_rec("dense", 0, 0.85, dim=128, nbytes=4000), _rec("dense", 1, 0.86, dim=128, nbytes=4000),
                         _rec("mask", 0, 0.80, dim=128, nbytes=1020), _rec("mask", 1, 0.81, dim=128, nbytes=1020)]
    v = scale.width_claim(recs)
    assert v.outcome in ("held", "not held", "inconclusive") and v.comparisons
    comps = scale.bytes_comparisons(scale.scale_rows(recs))
    # mask width 128 (1,020 B): the dense files of widths 32 and 64 (1,000 B) fit it, width 128's (4,000 B) does not
    row = comps[comps["pemn"] == "mask width 128"].iloc[0]
    assert row["rival"] == "dense width 64" and row["margin"] == pytest.approx(0.805 - 0.81)


def test_landing_sentences_follow_the_numbers():
    from pemn.paper_values import load
    from pemn.report import findings
    rows = scale.scale_rows(_records())
    gaps, paper = scale.gap_table(rows), scale.paper_gaps(load())
    first = findings.gap_sentence(gaps, paper, "50k images × 20 epochs")
    assert first.startswith("**Masks trail dense by more than in the paper.**")
    assert "reach 69.5% against dense 81.0%: -11.5 points" in first and "89.4% against 94.0%" in first
    third = findings.scale_sentence(gaps, paper)
    assert "of the 3 other levels committed" in third and "smallest mask gap is +4.5 points at recipe paper" in third
    close = gaps.assign(ratio=0.99)
    assert findings.gap_sentence(close, paper, "x").startswith("**Masks come as close to dense as in the paper.**")


def test_the_epochs_question_is_answered_by_the_budget_axis_gaps():
    import pandas as pd
    from pemn.paper_values import load
    from pemn.report import findings

    def levels(*masks):  # the mask's (epochs, gap, low, high) on all images, as budget.gap_table gives them
        rows = []
        for e, g, lo, hi in masks:
            rows += [{"images": 50000, "epochs": e, "method": "dense", "accuracy": 0.8, "seeds": 3, "gap": 0.0,
                      "gap_low": 0.0, "gap_high": 0.0, "runs": f"d{e}-0, d{e}-1, d{e}-2"},
                     {"images": 50000, "epochs": e, "method": "mask", "accuracy": 0.8 - g, "seeds": 2, "gap": g,
                      "gap_low": lo, "gap_high": hi, "runs": f"m{e}-0, m{e}-1"},
                     {"images": 50000, "epochs": e, "method": "MP", "accuracy": 0.5, "seeds": 2, "gap": 0.3,
                      "gap_low": 0.2, "gap_high": 0.4, "runs": f"p{e}-0, p{e}-1"}]  # not one of the chapter's
        rows.append({"images": 10000, "epochs": 10, "method": "mask", "accuracy": 0.5, "seeds": 3, "gap": 0.01,
                     "gap_low": 0.0, "gap_high": 0.02, "runs": "s"})  # another image count: no dense, left out
        return scale.epoch_levels(pd.DataFrame(rows))

    flat = levels((40, 0.135, 0.128, 0.141), (10, 0.132, 0.071, 0.192), (20, 0.134, 0.127, 0.14))
    assert list(flat["level"]) == ["10", "20", "40"] and set(flat["method"]) == {"mask"}
    first = flat.iloc[0]
    assert first["dense"] == 0.8 and first["masked"] == pytest.approx(0.668) and first["seeds"] == "3 / 2"
    assert first["runs"] == "d10-0, d10-1, d10-2, m10-0, m10-1" and first["ratio"] == pytest.approx(0.668 / 0.8)
    text = scale.epochs_sentence(flat)
    assert text == (" Is it the epochs? On all 50,000 images the mask gap is 13.2 points [7.1, 19.2] at 10 epochs and "
                    "13.5 [12.8, 14.1] at 40: with 4× the epochs it moves less than the seed intervals can tell.")
    assert scale.epochs_sentence(levels((10, 0.13, 0.12, 0.14), (40, 0.05, 0.04, 0.06))).endswith(
        "it narrows beyond the seed intervals.")
    assert scale.epochs_sentence(levels((10, 0.05, 0.04, 0.06), (20, 0.13, 0.12, 0.14))).endswith(
        "with 2× the epochs it widens beyond the seed intervals.")
    one = levels((20, 0.13, float("nan"), float("nan")), (40, 0.12, float("nan"), float("nan")))
    assert "13.0 points (a side with one seed: no interval yet) at 20 epochs" in scale.epochs_sentence(one)
    assert scale.epochs_sentence(levels((20, 0.13, 0.12, 0.14))) == "" and scale.epochs_sentence(None) == ""
    assert scale.epoch_levels(None).empty and list(scale.epoch_levels(None).columns) == scale.GAP_COLUMNS
    rows = scale.scale_rows(_records())
    g, paper = scale.gap_table(rows), scale.paper_gaps(load())
    assert scale.answer(g, paper, None, flat).endswith(text) and findings.scale_sentence(g, paper, None, flat).endswith(text)
    fig = scale.gap_figure(pd.concat([g, flat], ignore_index=True), paper)  # the epochs panel comes last
    assert fig.axes[-1].get_xlabel() == "epochs (width 64, patch 4)"
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == ["10", "20", "40"]


def test_width_claim_waits_for_a_second_seed_at_a_width():
    """One seed of the largest width would leave every comparison without an interval: it waits, and says so."""
    two = _records() + [_rec("dense", s, 0.85 + s / 100, dim=128) for s in (0, 1)] \
        + [_rec("mask", s, 0.80 + s / 100, dim=128) for s in (0, 1)]
    one = two + [_rec("dense", 0, 0.90, dim=256), _rec("mask", 0, 0.88, dim=256)]
    assert scale.widths_waiting(scale.scale_rows(two)) == []
    assert scale.widths_waiting(scale.scale_rows(one)) == [256]
    a, b = scale.width_claim(two), scale.width_claim(one)
    assert [c.text for c in a.comparisons] == [c.text for c in b.comparisons] and "128" in a.comparisons[0].text
