"""Size at equal budget (issue 19): the grid's width axis and seeds, and the size claims judged per axis."""
import json
from dataclasses import asdict

from pemn.grids import grid, run_id
from pemn.report import claims as C
from pemn.report.frame import records_frame
from pemn.report.size import budget_note, gap_points, size_series
from pemn.runs import RunRecord, current_records
from pemn.train import TrainConfig

from test_book import _result

CM = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}


def test_cpu_grid_has_the_width_axis_three_fig3_and_fig5_seeds_and_equal_resnet_budgets():
    g = grid("cpu")
    width = [r.config for r in g.values() if "width" in r.figures]
    assert len(width) == 4 * 6 * 2
    assert sorted({c.arch["dim"] for c in width}) == [32, 64, 128, 256]
    assert {(c.arch["depth"], c.arch["kernel_size"], c.arch["patch_size"], c.epochs, c.subset) for c in width} == \
        {(6, 5, 4, 10, 10000)}
    assert {(c.strategy, c.ratio) for c in width} == {("dense", None), ("mask", None), ("mp", None), ("rp", 0.1),
                                                      ("rp", 0.01), ("rp", 0.001)}
    # width 64 is the Fig. 3 ConvMixer: the same runs, not new ones
    assert "fig3" in g["convmixer-w64d6k5p4-c10-mask-s0"].figures and "width" in g["convmixer-w64d6k5p4-c10-mask-s0"].figures
    assert sorted({r.config.seed for r in g.values() if "fig3" in r.figures}) == [0, 1, 2]
    assert sorted({r.config.seed for r in g.values() if "fig5" in r.figures}) == [0, 1, 2]
    assert sorted({r.config.seed for r in g.values() if "fig4" in r.figures}) == [0, 1]
    before = [r for r in g.values()
              if not {"budget", "budget_probe", "lr_check", "lr_before", "scale"} & set(r.figures) and r.config.strategy != "pranc"]
    assert len(before) == 282  # 262 + Fig. 5's seed 2: 20 runs, the ConvMixer-64/6 PEMN and dense ones shared with Fig. 3
    epochs = {r.config.backbone: r.config.epochs for r in g.values() if r.config.backbone.startswith("resnet")}
    assert epochs == {"resnet32": 5, "resnet56": 5}
    assert not any("width" in r.figures for r in grid("cpu20k").values())


def _record(backbone, arch, strategy, seed, acc, ratio=None, epochs=10, figures=("width",), train_size=10000):
    d = _result(backbone, arch, strategy, seed, acc, ratio=ratio, figures=figures, epochs=epochs)
    d["train_size"] = train_size
    d["run_id"] = run_id(TrainConfig(backbone=backbone, arch=arch, strategy=strategy, ratio=ratio, seed=seed))
    return RunRecord.from_dict(d)


def _widths(gaps: dict, epochs: dict | None = None):
    """Dense at 0.60 + width/1000 and mask below it by ``gaps[width]``, two seeds each."""
    out = []
    for w, gap in gaps.items():
        arch = {**CM, "dim": w}
        for seed in (0, 1):
            e = (epochs or {}).get(w, 10)
            dense = 0.60 + w / 1000 + 0.002 * seed
            out += [_record("convmixer", arch, "dense", seed, dense, epochs=e),
                    _record("convmixer", arch, "mask", seed, dense - gap, epochs=e)]
    return records_frame(out)


def test_width_series_gaps_and_the_claim_per_axis():
    df = _widths({32: 0.12, 64: 0.09, 128: 0.06, 256: 0.03})
    (title, s), = size_series(df, "width")
    assert title == "ConvMixer depth 6: width" and sorted(s["size"].unique()) == [32, 64, 128, 256]
    assert size_series(df, "depth") == []
    p = gap_points(s)
    mask = p[p["method"] == "mask"].set_index("size")["gap"]
    assert [round(mask[w], 6) for w in (32, 64, 128, 256)] == [0.12, 0.09, 0.06, 0.03]
    v = C.claim_larger_is_better(df, ("width",))
    assert v.outcome == C.HELD and len(v.comparisons) == 3  # dense rises, masked rises, the gap shrinks
    assert C.claim_larger_is_better(df, ("depth",)).outcome == C.NOT_TESTED
    # the gap widening with width fails the claim
    assert C.claim_larger_is_better(_widths({32: 0.03, 256: 0.12}), ("width",)).outcome == C.NOT_HELD


def test_unequal_budgets_are_not_compared():
    df = _widths({32: 0.12, 256: 0.03}, epochs={256: 3})
    (_, s), = size_series(df, "width")
    note = budget_note(s)
    assert note.startswith("unequal training budgets") and "3 epochs" in note and "10 epochs" in note
    v = C.claim_larger_is_better(df, ("width",))
    assert v.outcome == C.NOT_TESTED and "unequal training budgets" in v.evidence
    assert budget_note(_widths({32: 0.1, 256: 0.1})) is None


def test_resnet_depth_needs_one_budget():
    recs = []
    for b, e in (("resnet32", 5), ("resnet56", 3)):
        for seed in (0, 1):
            recs += [_record(b, {}, "dense", seed, 0.62, epochs=e, figures=("fig4",)),
                     _record(b, {}, "mp", seed, 0.50, epochs=e, figures=("fig4",))]
    df = records_frame(recs)
    sizes = dict((axis, v) for claim, axis, v in C.evaluate_sizes(df) if claim == "4.3 Fig. 4 (4)")
    assert sizes["depth"].outcome == C.NOT_TESTED and "ResNet56 3 epochs" in sizes["depth"].evidence
    same = records_frame([RunRecord.from_dict({**r.as_dict(), "config": {**r.config, "epochs": 5}}) for r in recs])
    sizes = dict((axis, v) for claim, axis, v in C.evaluate_sizes(same) if claim == "4.3 Fig. 4 (4)")
    assert sizes["depth"].outcome == C.INCONCLUSIVE  # equal gaps: no difference either way
    assert "ResNet32 12.0 pts vs ResNet56 12.0 pts" in sizes["depth"].deciding.text


def test_current_records_leave_out_runs_of_an_older_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path))
    g = grid("cpu")
    for rid, epochs in (("resnet56-c10-dense-s0", 3), ("resnet56-c10-dense-s1", 5),
                        ("convmixer-w64d6k5p4-c10-mask-s0", 10)):
        cfg = json.loads(json.dumps(asdict(g[rid].config)))
        cfg["epochs"] = epochs
        folder = tmp_path / "cpu" / rid
        folder.mkdir(parents=True)
        rec = {"config": cfg, "status": "complete", "final_test_acc": 0.5, "figures": ["fig3"], "run_id": rid}
        (folder / "metrics.json").write_text(json.dumps(rec))
    got = {r.run_id: r for r in current_records("cpu")}
    assert sorted(got) == ["convmixer-w64d6k5p4-c10-mask-s0", "resnet56-c10-dense-s1"]
    # figures as the grid gives them now: the width axis adopts the Fig. 3 run
    assert set(got["convmixer-w64d6k5p4-c10-mask-s0"].figures) == {"fig3", "width"}
    from pemn.report.frame import run_status
    s = run_status("cpu").set_index("run_id")
    assert s.loc["resnet56-c10-dense-s0", "status"] == "not run"
    assert "older configuration" in s.loc["resnet56-c10-dense-s0", "detail"]
    assert s.loc["resnet56-c10-dense-s1", "status"] == "complete"
    from pemn.runs import run_dir, why_pending
    assert why_pending(run_dir("cpu", "resnet56-c10-dense-s0"), g["resnet56-c10-dense-s0"].config) == \
        "its recorded configuration differs from the grid's (epochs: 3 -> 5)"
