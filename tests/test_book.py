"""The book: report functions, the analysis notebooks, the Sphinx build (warnings are errors) and a real browser.

The notebooks' own cell-by-cell tests are nbval's (``make test`` passes the notebooks to pytest with
``--nbval-lax``: cells marked ``# NBVAL_CHECK_OUTPUT`` must reproduce their committed output exactly).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pemn import report

REPO = Path(__file__).resolve().parents[1]
from pemn.report.notebooks import BOOK_NOTEBOOKS, toc_pages  # noqa: E402

CHAPTERS = BOOK_NOTEBOOKS  # the analysis notebooks, as _toc.yml lists them (a chapter added there is tested too)
ANALYSIS_NOTEBOOKS = [REPO / "book" / f"{c}.ipynb" for c in CHAPTERS]
FIGURE_NOTEBOOKS = ("index", "02_method", "03_capacity", "04_compression")
SCREENSHOTS = REPO / "_build" / "screenshots"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", "/usr/bin/chromedriver"


# --- report on synthetic runs ------------------------------------------------------------

def _result(backbone, arch, strategy, seed, acc, *, ratio=None, compression=None, comp=None, figures=("fig3",),
            bitmap=None, dataset="cifar10", epochs=10, unique=1000):
    cfg = {"backbone": backbone, "arch": arch, "dataset": dataset, "strategy": strategy, "ratio": ratio,
           "keep_ratio": 0.5, "rescale": False, "compression": compression, "epochs": epochs, "subset": 10000,
           "seed": seed}
    head = "pemn" if strategy in ("mask", "one_layer", "mp", "rp") else ("dense" if strategy == "dense" else "csr")
    def terms(c):  # storage terms of one scheme; weights-only ratio as the paper's Eq. 10
        return {"weights": 1, "masks": 1, "other": 1, "total": 1, "compression": (c or 0.0) - 0.01,
                "compression_weights_only": c or 0.0}
    storage = {"dense": terms(0.0) | {"weights": 32000}, head: terms(comp)}
    if bitmap is not None:
        storage["bitmap"] = terms(bitmap)
    return {"config": cfg, "status": "complete", "final_test_acc": acc, "best_epoch_test_acc": acc + 0.01,
            "best_epoch": epochs - 1, "history": [], "unique_values": unique, "kept_fraction": 0.5,
            "storage": storage, "headline_scheme": head, "compression": comp or 0.0, "train_size": 10000,
            "test_size": 10000, "wall_time_s": 60.0, "device": "cpu",
            "data_source": {"kind": "jpeg-mirror", "path": "/x", "sha256": "ab" * 32},
            "hardware": {"processor": "test cpu", "cpu_count": 2, "torch_threads": 1, "gpu": None},
            "versions": {"python": "3", "torch": "2"}, "figures": list(figures)}


def _write(root: Path, profile: str, results):
    for r in results:
        from pemn.grids import run_id
        from pemn.train import TrainConfig
        c = r["config"]
        rid = run_id(TrainConfig(backbone=c["backbone"], arch=c["arch"], dataset=c["dataset"], strategy=c["strategy"],
                                 ratio=c["ratio"], compression=c["compression"], seed=c["seed"]))
        r.update(run_id=rid, profile=profile)
        d = root / profile / rid
        d.mkdir(parents=True, exist_ok=True)
        (d / "metrics.json").write_text(json.dumps(r))


CM = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
FIG3 = [("dense", None, 0.80), ("mask", None, 0.75), ("one_layer", None, 0.74), ("mp", None, 0.74),
        ("rp", 0.1, 0.735), ("rp", 0.01, 0.73), ("rp", 0.001, 0.725), ("rp", 1e-4, 0.60), ("rp", 1e-5, 0.50)]


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path))
    return tmp_path


@pytest.fixture
def said(monkeypatch):
    """What the show_* functions write as Markdown."""
    from pemn.report import display
    out = []
    monkeypatch.setattr(display, "md", lambda text: out.append(text))
    monkeypatch.setattr(display, "show_fig", lambda fig, text: out.append("FIGURE: " + text))
    monkeypatch.setattr(display, "show_svg", lambda fig, text: out.append("FIGURE: " + text))
    monkeypatch.setattr(display, "show_table", lambda df, text=None, **kw: out.append("TABLE: " + (text or "")))
    return out


def test_no_runs_say_so_in_words(runs_root, said):
    assert report.load("cpu").empty
    assert report.fig3_figure("cpu") is None and report.compression_figure("cpu", "fig4") is None
    report.show_fig3("cpu")
    report.show_compression("cpu", "fig4")
    report.show_answer("cpu")
    assert said[2] == "Profile `cpu` has no completed run yet."
    del said[2]
    assert len(said) == 3 and all(s.startswith("**No runs yet.**") for s in said)
    assert "ResNet32 / CIFAR-10 — not run: dense, MP, RP 1e-1, RP 1e-2, magnitude pruning 90/92/94/96%" in said[1]
    t = report.claims_table("cpu")
    assert len(t) == 11 and set(t["verdict"]) == {report.NOT_TESTED}
    status = report.run_status("cpu")
    assert len(status) == len(report.grid_runs("cpu")) and set(status["status"]) == {"not run"}


def test_fig3_claims_held_and_figure(runs_root, said):
    # seeds 0.1 point apart: RP 1e-3's 0.5-point margin on "within 3 points of mask" clears its 95 % interval
    # unique values of a model wide enough that RP 1e-3 keeps tens (4.2 (3) is judged in unique values)
    unique = (0, 37888, 9408, 4096, 4100, 410, 41, 5, 1)
    results = [_result("convmixer", CM, s, seed, acc + 0.001 * seed, ratio=r, unique=u)
               for (s, r, acc), u in zip(FIG3, unique) for seed in (0, 1)]
    _write(runs_root, "cpu", results)
    df = report.load("cpu")
    assert len(df) == 18 and set(df["method"]) == set(report.FIG3_ORDER)
    fig = report.fig3_figure("cpu")
    assert fig is not None and len(fig.axes) == 1
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == list(report.FIG3_ORDER)  # every point has a run: nothing marked "(no run)"
    t = report.claims_table("cpu").set_index("claim")["verdict"]
    assert t["4.2 (1)"] == "held" and t["4.2 (2)"] == "held" and t["4.2 (3)"] == "held"
    assert t["4.2 (4)"] == report.NOT_TESTED and t["4.3 Fig. 4 (1)"] == report.NOT_TESTED
    report.show_fig3("cpu")
    cap = said[0]
    assert cap.startswith("FIGURE:") and "Profile `cpu`" in cap and "10 epochs" in cap and "seeds 0, 1" in cap
    assert "JPEG mirror" in cap
    # ViT has no run: said in words
    assert any("ViT-64/6 (p4, 4 heads): no run at all yet" in s for s in said)


def test_scale_sentence_counts_seeds_per_configuration(runs_root):
    """A third seed for some configurations reads '2-3 seeds'; widths sort as numbers; each budget names its own
    networks and dense accuracies (a 50k-image run is never averaged into the 10k ones)."""
    from pemn.report.introduction import scale_sentence
    wide = CM | {"dim": 128}
    results = [_result("convmixer", CM, "dense", seed, 0.6) for seed in (0, 1, 2)]
    results += [_result("convmixer", wide, s, seed, 0.6) for s in ("dense", "mask") for seed in (0, 1)]
    big = _result("convmixer", CM, "dense", 0, 0.8, epochs=20)
    big.update(train_size=50000, run_id="convmixer-w64d6k5p4-c10-dense-n50ke20-s0", profile="cpu")
    _write(runs_root, "cpu", results)
    (runs_root / "cpu" / big["run_id"]).mkdir()
    (runs_root / "cpu" / big["run_id"] / "metrics.json").write_text(json.dumps(big))
    text = scale_sentence("cpu", report.load("cpu"))
    assert ("8 runs, 1-3 seeds per configuration" in text and "*10k images × 10 epochs*: ConvMixer-64/6, "
            "ConvMixer-128/6; dense ConvMixer-64/6 60.0%, ConvMixer-128/6 60.0%" in text), text
    assert "*50k images × 20 epochs*: ConvMixer-64/6; dense ConvMixer-64/6 80.0%" in text


def test_fig3_claim_not_held_when_masks_collapse(runs_root):
    results = [_result("convmixer", CM, s, seed, (acc if s == "dense" else 0.2) + 0.002 * seed, ratio=r)
               for s, r, acc in FIG3 for seed in (0, 1)]
    _write(runs_root, "cpu", results)
    t = report.claims_table("cpu").set_index("claim")
    assert t.loc["4.2 (1)", "verdict"] == "not held"
    assert "mask 20.1% vs 85% of dense 80.1%" in t.loc["4.2 (1)", "deciding comparison"]


def _fig4(pemn_acc, base_accs):
    out = []
    for b in ("resnet32", "resnet56"):
        bump = 0.02 if b == "resnet56" else 0.0
        for seed in (0, 1):
            out.append(_result(b, {}, "dense", seed, 0.85 + bump, figures=("fig4",), epochs=5))
            for (s, r), c, u in zip((("mp", None), ("rp", 0.1), ("rp", 0.01)), (0.88, 0.95, 0.958), (36864, 3687, 369)):
                out.append(_result(b, {}, s, seed, pemn_acc + bump, ratio=r, comp=c, figures=("fig4",), epochs=5,
                                   unique=u))
            for m in ("random_sparse", "magnitude_sparse"):
                for target, acc in zip((0.90, 0.92, 0.94, 0.96), base_accs):
                    out.append(_result(b, {}, m, seed, acc + bump, compression=target, comp=target,
                                       bitmap=target + 0.02, figures=("fig4",), epochs=5))
    return out


def test_fig4_claims(runs_root):
    _write(runs_root, "cpu", _fig4(0.80, (0.70, 0.65, 0.60, 0.55)))
    t = report.claims_table("cpu").set_index("claim")["verdict"]
    assert t["4.3 Fig. 4 (1)"] == "held" and t["4.3 Fig. 4 (2)"] == "held" and t["4.3 Fig. 4 (3)"] == "held"
    assert t["4.3 Fig. 4 (4)"] == "inconclusive"  # the same gap to dense for both depths: no difference
    fig = report.compression_figure("cpu", "fig4")
    assert len(fig.axes) == 4  # paper's accounting and bitmap, weights only and all parameters
    table = report.compression_table("cpu", "fig4")
    assert len(table) == 2 * (1 + 3 + 8)


def test_fig4_claims_not_held_when_baselines_win(runs_root):
    _write(runs_root, "cpu", _fig4(0.50, (0.70, 0.69, 0.68, 0.67)))
    t = report.claims_table("cpu").set_index("claim")
    assert t.loc["4.3 Fig. 4 (1)", "verdict"] == "not held"
    assert " vs " in t.loc["4.3 Fig. 4 (1)", "deciding comparison"] and t.loc["4.3 Fig. 4 (1)", "deciding runs"]


def test_scale_check_names_the_smallest_budget_that_clears_the_bar(runs_root, said):
    _write(runs_root, "cpu", [_result("convmixer", CM, "dense", 0, 0.611), _result("convmixer", CM, "dense", 1, 0.619),
                              _result("resnet32", {}, "dense", 0, 0.55, figures=("fig4",), epochs=5),
                              _result("convmixer", CM | {"depth": 8}, "dense", 0, 0.70, figures=("fig5",))])
    calibration = []
    for seed, images, acc in ((0, 20000, 0.64), (1, 50000, 0.72), (2, 30000, 0.66)):
        r = _result("convmixer", CM, "dense", seed, acc)
        calibration.append(r | {"train_size": images})
    _write(runs_root, "custom", calibration)
    t = report.scale_check("cpu").set_index(["runs of", "training budget"])
    assert len(t) == 6
    row = t.loc[("`cpu`", "10,000 images x 10 epochs")]
    cm = row[row["backbone"] == "ConvMixer-64/6 (k5, p4)"].iloc[0]
    assert cm["dense final accuracy"] == "61.5% (61.1%-61.9%)" and cm["verdict"] == "above 60 %, but not clearly"
    assert t.loc[("`cpu`", "10,000 images x 5 epochs"), "verdict"] == "below 60 %"
    report.show_scale_check("cpu")
    text = said[-1]
    assert "**ConvMixer-64/6 (k5, p4)**: 61.5% (61.1%-61.9%)" in text
    assert "smallest measured budget that clears the bar: 30,000 images x 10 epochs, 66.0%" in text
    assert "**ResNet32**: 55.0% with 10,000 images x 5 epochs (below 60 %). No calibration run" in text
    assert "depth 8" not in text and "ConvMixer-64/8" not in text  # 70 % clears the bar: not listed


def test_mask_recipe_check_compares_recipes_and_budgets(runs_root, said):
    vit = {"dim": 64, "depth": 6, "heads": 4, "mlp_ratio": 2, "patch_size": 4}
    _write(runs_root, "cpu", [_result("convmixer", CM, "dense", 0, 0.60), _result("convmixer", CM, "mask", 0, 0.36),
                              _result("convmixer", CM, "mask", 1, 0.38), _result("vit", vit, "mask", 0, 0.30)])
    faster, no_decay, longer = (_result("convmixer", CM, "mask", s, a) for s, a in ((0, 0.39), (1, 0.35), (2, 0.45)))
    faster["config"]["lr"], no_decay["config"]["weight_decay"] = 0.1, 0.0
    bigger = [r | {"train_size": 20000} for r in (longer, _result("convmixer", CM, "dense", 2, 0.70))]
    _write(runs_root, "custom", [faster, no_decay, *bigger, _result("resnet32", {}, "mask", 0, 0.2, epochs=5)])
    t = report.mask_recipe_check("cpu")
    assert len(t) == 5  # resnet32 has no mask run in the profile: its calibration run is left out
    own = t[(t["runs of"] == "`cpu`") & (t["backbone"] == "ConvMixer-64/6 (k5, p4)")].iloc[0]
    assert (own["lr"], own["weight decay"], own["seeds"], own["mask final accuracy"], own["dense, same budget"],
            own["mask / dense"]) == ("0.05", "0.0005", "0, 1", "37.0%", "60.0%", "62%")
    report.show_mask_recipe("cpu")
    text = said[-1]
    assert ("**ConvMixer-64/6 (k5, p4)**: 37.0% at the profile's budget and lr 0.05 (seeds 0, 1); the best of the 3 "
            "recipes tried at that budget: lr 0.1, weight decay 0.0005, 39.0% (seed 0). With 20,000 images x 10 "
            "epochs: 45.0% (64% of dense at that budget).") in text
    assert "**ViT-64/6 (p4, 4 heads)**: 30.0% at the profile's budget and lr 0.05 (seed 0); no other recipe" in text


def test_run_index_lists_grid_and_unlinked_runs(runs_root):
    # a run folder outside the repository (and without an executed notebook) gets no link
    _write(runs_root, "cpu", [_result("convmixer", CM, "dense", 0, 0.8)])
    md = report.run_index_md("cpu")
    assert "convmixer-w64d6k5p4-c10-dense-s0" in md and "| 80.00% |" in md and "not run" in md  # result: acc or status
    assert "](" not in md  # no executed notebook here, so no link


def test_bench_absent_and_present(tmp_path, said):
    report.show_bench(tmp_path / "results.json")
    assert "has not been run" in said[-1]
    (tmp_path / "results.json").write_text(json.dumps({"machine": "x", "results": [{"model": "a", "ms": 1.0}]}))
    t = report.bench_table(tmp_path / "results.json")
    assert list(t.columns) == ["model", "ms"]
    (tmp_path / "results.json").write_text(json.dumps({"train_step": {"convmixer-w64d6k5p4": {
        "variants": {"dense": {"median": 60.0}, "masked": {"median": 63.0}},
        "ratio_vs_dense": {"masked": {"median": 1.05}}, "rounds": 5}}}))
    t = report.bench_table(tmp_path / "results.json")
    assert t.loc["convmixer-w64d6k5p4", "masked ms"] == 63.0 and t.loc["convmixer-w64d6k5p4", "masked / dense"] == 1.05


# --- the run record and the claims engine (no files) -------------------------------------------

def _records(results):
    from pemn.runs import RunRecord
    return [RunRecord.from_dict(r | {"run_id": f"{r['config']['strategy']}-{r['config']['ratio']}-"
                                              f"{r['config']['compression']}-{r['config']['backbone']}-s"
                                              f"{r['config']['seed']}", "profile": "cpu"}) for r in results]


def test_run_record_keeps_unknown_fields_and_reads_old_records():
    from pemn.runs import RECORD_SCHEMA, RunRecord
    r = _result("convmixer", CM, "mask", 0, 0.5)
    old = RunRecord.from_dict(r)
    assert old.schema == RECORD_SCHEMA and old.extra == {} and old.final_test_acc == 0.5 and old.path is None
    new = RunRecord.from_dict(r | {"results_version": 3, "record_schema": RECORD_SCHEMA + 1, "new_thing": [1, 2]})
    assert new.schema == RECORD_SCHEMA + 1 and new.get("results_version") == 3 and new.extra["new_thing"] == [1, 2]
    row = report.frame.record_row(new)
    assert row["results_version"] == 3 and "new_thing" not in row  # scalars shown as they are, structures kept aside
    assert row["final_acc"] == 0.5 and row["method"] == "mask"


def test_claims_engine_is_pure_and_names_the_deciding_comparison():
    from pemn.report import claims as C
    results = [_result("convmixer", CM, s, seed, acc + 0.002 * seed, ratio=r, unique=u)
               for (s, r, acc), u in zip(FIG3, (0, 37888, 9408, 4096, 410, 41, 5, 1, 1)) for seed in (0, 1)]
    verdicts = C.evaluate(_records(results))
    assert len(verdicts) == len(C.CLAIMS)
    promising = verdicts[0]  # mask 75 % vs 85 % of dense 80 % = 68 %: held by 7 points, far beyond the noise
    assert promising.outcome == C.HELD and abs(promising.margin - (0.751 - 0.85 * 0.801)) < 1e-9
    assert set(promising.runs) == {"mask-None-None-convmixer-s0", "mask-None-None-convmixer-s1",
                                   "dense-None-None-convmixer-s0", "dense-None-None-convmixer-s1"}
    assert "mask 75.1% vs 85% of dense 80.1%" in promising.deciding.text
    assert verdicts[5].outcome == C.NOT_TESTED and "Fig. 4" in verdicts[5].evidence


def test_identical_networks_are_one_point():
    # RP 1e-4 and 1e-5 both leave one unique value and train the same: one point, counted once
    results = [_result("convmixer", CM, s, seed, acc + 0.002 * seed, ratio=r, unique=u)
               for (s, r, acc), u in zip(FIG3, (0, 37888, 9408, 4096, 410, 41, 5, 1, 1)) for seed in (0, 1)
               if s != "rp" or r != 1e-5]
    results += [_result("convmixer", CM, "rp", seed, 0.60 + 0.002 * seed, ratio=1e-5, unique=1) for seed in (0, 1)]
    p = report.points(report.frame.records_frame(_records(results)))
    merged = p[p["method"] == "RP 1e-4/1e-5"]
    assert len(p) == 8 and len(merged) == 1 and merged.iloc[0]["merged"] == ("RP 1e-4", "RP 1e-5")
    assert merged.iloc[0]["n"] == 2 and len(merged.iloc[0]["runs"].split(", ")) == 4


def test_a_margin_within_seed_noise_is_inconclusive():
    from pemn.report import claims as C
    # mask at 85.5 % of dense with a 2-point seed spread: the margin (0.4 pts) is within the noise
    results = [_result("convmixer", CM, "dense", s, a) for s, a in ((0, 0.78), (1, 0.82))]
    results += [_result("convmixer", CM, "mask", s, a) for s, a in ((0, 0.67), (1, 0.71))]
    v = C.claim_promising(report.points(report.frame.records_frame(_records(results))))
    assert v.outcome == C.INCONCLUSIVE and 0 < v.margin < v.noise
    results[2:] = [_result("convmixer", CM, "mask", s, a) for s, a in ((0, 0.40), (1, 0.44))]
    v = C.claim_promising(report.points(report.frame.records_frame(_records(results))))
    assert v.outcome == C.NOT_HELD and v.margin < -v.noise


def test_competitors_are_a_parameter_of_the_outperform_claim():
    from pemn.report import claims as C
    results = [_result("convmixer", CM, "rp", s, 0.50, ratio=0.1, comp=0.96, figures=("fig5",), unique=410)
               for s in (0, 1)]
    results += [_result("convmixer", CM, m, s, a, compression=0.9, comp=0.9, figures=("fig5",))
                for m, a in (("random_sparse", 0.40), ("magnitude_sparse", 0.55)) for s in (0, 1)]
    p = report.points(report.frame.records_frame(_records(results)))
    assert C.claim_outperforms(p, ("random pruning",), at_most_compression=False).outcome == C.HELD
    v = C.claim_outperforms(p, C.BASELINES, at_most_compression=False)
    assert v.outcome == C.NOT_HELD and "magnitude pruning 90%" in v.deciding.text


def test_each_question_gets_a_plain_answer():
    from pemn.report import claims as C
    from pemn.report.introduction import overall
    v = [C.Verdict(o, "") for o in (C.HELD, C.INCONCLUSIVE, C.NOT_HELD, C.NOT_TESTED)]
    assert overall([v[0], v[0], v[3]]) == "reproduced"
    assert overall([v[0], v[1]]) == "reproduced as far as seed noise allows"
    assert overall([v[0], v[2], v[1]]) == "partly reproduced"
    assert overall([v[2], v[1]]) == "not reproduced" and overall([v[3]]) == "not tested"


# --- numbers the library computes (no runs) -------------------------------------------------

def test_unique_values_table_cpu():
    t = report.unique_values_table("cpu")
    cm = t.loc["ConvMixer-64/6 (k5, p4)"]
    # patch 64*3*4*4 = 3072, depthwise 64*25 = 1600, pointwise 64*64 = 4096, head 640
    assert cm["weights (dense)"] == 3072 + 6 * (1600 + 4096) + 640 == cm["mask"]
    assert cm["one-layer"] == 3072 + 1600 + 4096 + 640 and cm["one-layer prototypes"] == 4
    assert cm["MP"] == 4096 and cm["RP 1e-1"] == 410 and cm["RP 1e-3"] == 5
    assert t.loc["ResNet32", "MP"] == 64 * 64 * 9 and t.loc["ResNet56", "RP 1e-2"] == 369


PAPER, BITMAP = report.STORAGE_GROUPS


def test_storage_table_accountings():
    t = report.storage_table("resnet32", {}, "cifar10", (("mp", None), ("rp", 0.1)), (0.90, 0.96))
    csr, bmp = t[(PAPER, "Eq. 10 %")], t[(BITMAP, "Eq. 10 %")]
    # the baselines hit their targets under the paper's Eq. 10 (the training code's own kept fraction)
    assert abs(csr["sparse 90%"] - 90) < 0.1 and abs(csr["sparse 96%"] - 96) < 0.1
    assert bmp["sparse 90%"] > csr["sparse 90%"]  # bitmap positions are cheaper here
    assert csr["MP"] == bmp["MP"] and csr["RP 1e-1"] < csr["RP 1e-1 (seed)"]
    every = t[(PAPER, "all params %")]
    assert (every.drop("dense") < csr.drop("dense")).all()  # counting the other floats lowers every ratio
    row = t.loc["sparse 90%"]
    total = row[(PAPER, "values")] + row[(PAPER, "masks")] + row[(PAPER, "other")]
    assert abs(total - row[(PAPER, "total")]) < 0.02
    assert t.loc["dense", (PAPER, "masks")] == 0 and t.loc["dense", (PAPER, "Eq. 10 %")] == 0


def test_plan_figure_is_drawn_from_the_real_plan():
    from pemn import build_model, make_plan
    fig = report.plan_figure("convmixer", {"dim": 16, "depth": 2, "kernel_size": 3, "patch_size": 4})
    assert len(fig.axes) == 3
    plan = make_plan(build_model("convmixer", masked=True, dim=16, depth=2, kernel_size=3, patch_size=4), "mp")
    img = fig.axes[1].get_images()[0].get_array()
    assert img.shape[0] == len(plan.layers) + 2
    assert f"{plan.unique_values:,} unique values" in fig.axes[1].get_title()


# --- the committed runs ----------------------------------------------------------------------

def _smoke_present():
    return bool(list((REPO / "runs" / "smoke").glob("*/metrics.json")))


@pytest.mark.skipif(not _smoke_present(), reason="no committed smoke runs")
def test_report_on_committed_smoke_runs(monkeypatch):
    monkeypatch.delenv("PEMN_RUNS", raising=False)
    df = report.load("smoke")
    assert not df.empty and df["notebook"].notna().all()
    assert report.fig3_figure("smoke") is not None
    check = report.storage_check("smoke")
    pemn_runs = check[~check["run_id"].str.contains("_sparse")]
    assert len(pemn_runs) and pemn_runs["agree"].all(), pemn_runs[~pemn_runs["agree"]]
    md = report.run_index_md("smoke")
    for nb in df["notebook"]:
        assert f"](../{nb})" in md


@pytest.mark.skipif(not _smoke_present(), reason="no committed smoke runs")
@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_runs_on_smoke_profile(name, tmp_path):
    """Each analysis notebook with ``profile = "smoke"``: no error, and a real figure where it draws one."""
    import papermill
    out = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(str(REPO / "book" / f"{name}.ipynb"), str(out), parameters={"profile": "smoke"},
                               cwd=str(REPO / "book"), progress_bar=False, kernel_name="python3")
    nb = json.loads(out.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    if name in FIGURE_NOTEBOOKS:
        assert any({"image/png", "image/svg+xml"} & set(o.get("data", {})) for o in outputs)


# --- the book ---------------------------------------------------------------------------------

import book_fixtures  # noqa: E402
from book_fixtures import REQUIRE_BROWSER, require_browser  # noqa: E402  (the fixtures themselves are in conftest.py)


def test_book_builds_without_warnings(built_book):
    code, log, html, started = built_book
    warnings = [x for x in log.splitlines() if re.search(r"WARNING|ERROR", x) and "IPKernelApp" not in x]
    assert code == 0 and not warnings, "\n".join(warnings[:30]) or log[-3000:]
    for chapter in CHAPTERS:
        assert (html / "book" / f"{chapter}.html").is_file()
    for nb in (REPO / "runs").glob("*/*/train.ipynb"):
        done = [f for f in (nb.parent / "metrics.json", nb.parent / "error.json") if f.is_file()]
        if done and min(f.stat().st_mtime for f in done) < started:  # finished before the build began
            rel = nb.relative_to(REPO).with_suffix(".html")
            assert (html / rel).is_file(), f"{rel} missing from the book"


def test_browser_checks_skip_without_chromium_unless_required(monkeypatch):
    monkeypatch.setattr(book_fixtures, "CHROMIUM", "/nowhere/chromium")
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no headless Chromium here"):
        require_browser()
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="PEMN_REQUIRE_BROWSER=1 but no headless Chromium"):
        require_browser()


def test_paper_bench_absent_and_present(tmp_path, said):
    report.show_paper_bench(tmp_path / "paper.json")
    assert "has not been timed on a GPU" in said[-1]
    key = "resnet32-b256"
    (tmp_path / "paper.json").write_text(json.dumps({
        "created": "2026-11-25", "environment": {"device_name": "GPU X", "versions": {"torch": "2"}, "cpu_count": 16},
        "train_step": {key: {"variants": {"dense": {"median": 20.0}, "masked": {"median": 40.0}}}},
        "profile": {"runs": 72, "estimate_h": 36.0, "loader_share": 0.5,
                    "by_backbone": {key: {"runs": 72, "estimate_s": 36 * 3600.0}}},
        "loader": {"workers": 15, "paper": {"images_per_s": 7000.0}, "serial": {"images_per_s": 1400.0}},
        "epoch_check": {"run_id": "r", "measured_epoch_s": 9.0, "estimated_epoch_s": 10.0,
                        "measured_over_estimated": 0.9}}))
    t = report.paper_bench_table(tmp_path / "paper.json")
    assert t.loc[key, "GPU hours"] == 36.0 and t.loc[key, "masked step ms"] == 40.0 and "baseline step ms" not in t
    report.show_paper_bench(tmp_path / "paper.json")
    text = said[-2]  # the sentence, then the table
    assert "**36 GPU-hours**, 50% of it" in text and "x0.90" in text and "7,000 images/s" in text


# Measures, in the browser, what a reader would see as broken: content wider than the main column (the document
# scrolls sideways, or a table needs its own scroll bar), returned as short descriptions.
