"""The fair-compression verdicts on hand-made run records (no files)."""
import pytest
from scipy import stats

from pemn.report import frontier


def rec(strategy, seed, acc, nbytes, *, keep=0.5, budget=None, compression=None, figures=("frontier",), bnr=10000):
    cfg = {"backbone": "convmixer", "arch": {"dim": 64}, "dataset": "cifar10", "strategy": strategy, "seed": seed,
           "keep_ratio": keep, "budget_bits": budget, "compression": compression, "value_bits": 4,
           "bn_recalibration": bnr}
    rid = f"{strategy}-{keep}-{budget}-{compression}-s{seed}"
    return {"run_id": rid, "config": cfg, "final_test_acc": acc, "export": {"file_bytes": nbytes},
            "figures": list(figures), "kept_fraction": 0.1}


def records(pemn_acc=(0.50, 0.52), rival_acc=(0.40, 0.41)):
    return [rec("rp", s, a, 20000, keep=0.5) for s, a in enumerate(pemn_acc)] + \
           [rec("binary", s, a, 19500, budget=1.0) for s, a in enumerate(rival_acc)] + \
           [rec("erk_magnitude", s, 0.30, 19400, budget=1.0) for s in (0, 1)] + \
           [rec("dense", s, 0.6, 165000, figures=("fig3",), bnr=0) for s in (0, 1)]


def test_held_when_pemn_wins_by_more_than_the_seed_noise():
    v = frontier.verdicts(frontier.points(records(), "convmixer"))
    assert v["outcome"].tolist() == ["held"]
    row = v.iloc[0]
    assert row["competitor"] == "binary weights (sign x scale)"  # the strongest competitor, not the first
    assert row["margin"] == pytest.approx(0.51 - 0.405)
    # the claims engine's rule: each side's own seed variance, a Welch t interval (no floor, no fixed 2 sigma)
    va, vb = 0.0002 / 2, 0.00005 / 2  # sample variances of (0.50, 0.52) and (0.40, 0.41), over 2 seeds each
    df = (va + vb) ** 2 / (va ** 2 / 1 + vb ** 2 / 1)  # Welch-Satterthwaite: 1.47
    assert row["comparison"].df == pytest.approx(df) and df == pytest.approx(1.4706, abs=1e-4)
    assert row["noise"] == pytest.approx(stats.t.ppf(0.975, df) * (va + vb) ** 0.5, rel=1e-6)
    assert row["bytes_ratio"] == pytest.approx(19500 / 20000)
    d = frontier.verdict(v)
    assert d.outcome == "held" and "binary" in d.deciding.text and len(d.runs) == 4


def test_inconclusive_within_noise_and_not_held_below():
    v = frontier.verdicts(frontier.points(records(pemn_acc=(0.40, 0.43)), "convmixer"))
    assert v["outcome"].tolist() == ["inconclusive"]
    v = frontier.verdicts(frontier.points(records(pemn_acc=(0.30, 0.31)), "convmixer"))
    assert v["outcome"].tolist() == ["not held"]
    assert frontier.verdict(v).outcome == "not held"


def test_competitor_outside_the_byte_tolerance_is_not_compared():
    rs = [rec("rp", 0, 0.5, 20000), rec("binary", 0, 0.9, 25000, budget=1.3)]
    v = frontier.verdicts(frontier.points(rs, "convmixer"))
    assert v["outcome"].tolist() == ["not tested"]
    assert frontier.verdict(v).outcome == "not tested"


def test_paper_baselines_take_their_recalibrated_accuracy_and_say_so():
    rs = records() + [rec("random_sparse", 0, 0.10, 21000, compression=0.92, figures=("fig5",), bnr=0)]
    p = frontier.points(rs, "convmixer", recalibrated={"random_sparse-0.5-None-0.92-s0": {"test_acc": 0.36}})
    row = p[p["method"] == "random_sparse"].iloc[0]
    assert (row["test_acc"], row["as_trained_acc"], row["bn"]) == (0.36, 0.10, "recalibrated from the file")
    # paper's baselines are not the fair competitors of the verdict
    assert frontier.verdicts(p, tolerance=0.1)["competitor"].tolist() == ["binary weights (sign x scale)"]


def test_pareto_front_keeps_only_undominated_means():
    m = frontier.means(frontier.points(records(), "convmixer"))
    front = frontier.pareto(m)
    assert front["method"].tolist() == ["erk_magnitude", "binary", "rp"]  # by bytes, each better than the last
    m2 = frontier.means(frontier.points(records(rival_acc=(0.6, 0.6)), "convmixer"))
    assert frontier.pareto(m2)["method"].tolist() == ["erk_magnitude", "binary"]  # PEMN dominated


def test_landing_page_sentence_from_the_frontier_runs(tmp_path, monkeypatch):
    """The landing page's equal-bytes paragraph: the verdict and the margin ranges come from the runs."""
    import json
    from pemn.report.introduction import fair_sentence
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path))
    assert fair_sentence("smoke") == ""
    arch = {"dim": 16, "depth": 2, "kernel_size": 3, "patch_size": 4}
    for r in records():
        r["config"]["arch"] = arch
        r["status"] = "complete"
        (tmp_path / "smoke" / r["run_id"]).mkdir(parents=True)
        (tmp_path / "smoke" / r["run_id"] / "metrics.json").write_text(json.dumps(r))
    text = fair_sentence("smoke")
    assert "ConvMixer-16/2 (k3, p4) (1 file size, 2 seeds)" in text
    assert "*held* (PEMN minus it: +10.5 to +10.5 points)" in text  # 0.51 - 0.405
    assert "float32 sparse network alone +21.0 to +21.0 points" in text  # 0.51 - 0.30
