"""``pemn.bench`` measures the right things: reference masks, variants, profile arithmetic (no timings asserted)."""
import pytest
import torch

import os

import pemn
from pemn import bench as B
from pemn import train as T
from pemn.bench import estimate
from pemn.grids import grid


def test_sort_mask_is_the_official_rule_and_matches_ours():
    scores = torch.randn(64, 64, 3, 3, generator=torch.Generator().manual_seed(0))
    ref = B.sort_mask(scores, 0.5)
    assert ref.dtype == scores.dtype and set(ref.unique().tolist()) == {0.0, 1.0}
    assert int(ref.sum()) == pemn.kept_count(scores.numel(), 0.5)
    assert torch.equal(ref.bool(), pemn.topk_mask(scores, 0.5))
    assert torch.equal(B.topk_mask_former(scores, 0.3), pemn.topk_mask(scores, 0.3))
    cl = scores.contiguous(memory_format=torch.channels_last)
    assert torch.equal(B.sort_mask(cl, 0.5), ref)


def test_sort_variant_same_forward_and_gradient_as_ours():
    case = B.Case("convmixer", dict(dim=16, depth=1, kernel_size=3, patch_size=4), 8, ("masked", "masked_sort"))
    ours, _, fmt = B.build(case, "masked", torch.device("cpu"))
    ref, _, _ = B.build(case, "masked_sort", torch.device("cpu"))
    x = torch.randn(8, 3, 32, 32).contiguous(memory_format=fmt)
    a, b = ours(x), ref(x)
    assert torch.allclose(a, b, atol=1e-5)
    a.sum().backward()
    b.sum().backward()
    for (_, m1), (_, m2) in zip(pemn.masked_layers(ours), pemn.masked_layers(ref)):
        assert torch.allclose(m1.scores.grad, m2.scores.grad, atol=1e-4)


@pytest.mark.parametrize("variant", list(B.VARIANTS))
def test_every_variant_builds_and_steps(variant):
    case = B.Case("convmixer", dict(dim=16, depth=1, kernel_size=3, patch_size=4), 8, (variant,))
    xb, yb = B.batch_of(None, 8, torch.device("cpu"))
    threads = torch.get_num_threads()
    B.stepper(case, variant, torch.device("cpu"), xb, yb)()
    assert torch.get_num_threads() == threads


def test_interleave_pairs_rounds_and_respects_bounds():
    calls = []
    samples = B.interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, torch.device("cpu"),
                           budget_s=0.0, min_rounds=3, max_rounds=5, warmup=1)
    assert len(samples["a"]) == len(samples["b"]) == 3
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then alternating order


def test_choose_threads(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 2.0, 1.0))
    assert B.choose_threads(None)[0] == 1
    assert B.choose_threads(2) == (2, "--threads")
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert B.choose_threads(None)[0] == 2


def test_case_keys_match_run_ids():
    assert B.CPU_CASES[0].key == "convmixer-w64d6k5p4"
    assert B.SMOKE_CASES[2].key == "resnet32-b64"
    keys = [c.key for c in B.CPU_CASES + B.SMOKE_CASES]
    assert len(set(keys)) == len(keys)


def _fake_steps(cases, ms):
    return {c.key: {"backbone": c.backbone, "batch": c.batch,
                    "variants": {v: {"median": ms} for v in ("dense", "masked", "baseline")},
                    "ratio_vs_dense": {"baseline": {"median": 1.0}}} for c in cases}


def test_profile_estimate_arithmetic(monkeypatch):
    monkeypatch.setattr(estimate, "measured_runs", lambda profile: {})
    steps = _fake_steps(B.SMOKE_CASES, 100.0)
    est = B.estimate_profile("smoke", steps, {}, loader_ips=1e9, overhead_s=10.0)
    runs = grid("smoke")
    expected = 0.0
    for run in runs.values():
        c = run.config
        n_steps = c.epochs * ((c.subset or 50000) // c.batch_size or 1)
        expected += n_steps * 0.1 + c.epochs * (c.test_subset or 10000) / (3 * c.batch_size / 0.1) + 10.0
    assert est["runs"] == len(runs)
    assert est["estimate_s"] == pytest.approx(expected, rel=1e-6)
    cpu = B.estimate_profile("cpu", _fake_steps(B.CPU_CASES, 100.0), {}, 1e9, 0.0)
    assert cpu["runs"] == len(grid("cpu"))


def test_flops_training_is_three_forwards_and_paper_estimate_is_labelled():
    tr, fw = B.train_flops_per_image("resnet32", {})
    assert tr == 3 * fw and 130e6 < fw < 145e6  # ResNet32: about 69 M multiply-adds = 138 MFLOPs per image
    paper = B.estimate_paper()
    assert "ESTIMATE" in paper["method"] and paper["runs"] == len(grid("paper"))
    lo, hi = paper["estimate_gpu_h_a100_h100"]
    assert 0 < lo < hi < paper["estimate_gpu_h_v100"]


def test_paper_cases_cover_every_paper_run_once():
    cases = B.paper_cases()
    keys = [c.key for c in cases]
    assert len(set(keys)) == len(keys) == 10  # ConvMixer and ViT at 256/512 x 6/8, ResNet32, ResNet56
    assert "convmixer-w256d8k5p2-b512" in keys and "resnet56-b256" in keys
    est = B.estimate_profile("paper", _fake_steps(cases, 50.0), {}, loader_ips=1000.0, overhead_s=0.0)
    assert est["runs"] == len(grid("paper")) == len(est["per_run"])
    assert sum(b["runs"] for b in est["by_backbone"].values()) == est["runs"]
    assert not est["notes"]  # every run's step was measured, none borrowed from another backbone


def test_paper_bench_refuses_the_cpu(capsys):
    assert B.main(["--paper", "--device", "cpu"]) == 2
    assert "CUDA" in capsys.readouterr().err


def test_paper_epoch_check_compares_one_epoch_with_its_share_of_the_estimate(monkeypatch):
    rid = "convmixer-w256d8k5p2-c10-dense-s0"
    epochs = grid("paper")[rid].config.epochs
    seen = []

    def fake_train(cfg, progress, data):
        seen.append(cfg)
        return {"history": [{"seconds": 12.0}], "final_test_acc": 0.5}
    monkeypatch.setattr(T, "train", fake_train)
    est = {"per_run": {rid: {"estimate_s": 10.0 * epochs + 15.0}}, "per_run_overhead_s": 15.0}
    chk = B.paper_epoch_check(torch.device("cpu"), None, est)
    assert seen[0].epochs == 1 and seen[0].batch_size == 512 and seen[0].augment == "convmixer"
    assert chk["run_id"] == rid and chk["estimated_epoch_s"] == pytest.approx(10.0)
    assert chk["measured_over_estimated"] == pytest.approx(1.2)


def test_the_pranc_section_times_pranc_against_dense_and_reports_its_basis(monkeypatch):
    from pemn import pranc
    from pemn.bench.sections import bench_pranc
    case = B.Case("convmixer", dict(dim=16, depth=1, kernel_size=3, patch_size=4), 8, ("dense", "pranc"))
    r = bench_pranc((case,), torch.device("cpu"), None, budget_s=0.0, log=lambda *a: None)[case.key]
    model, _, _ = B.build(case, "pranc", torch.device("cpu"))
    k = pranc.coefficients_for_budget(model, B.VARIANTS["pranc"]["budget_bits"])
    assert r["coefficients"] == k and r["basis_bytes"] == pranc.basis_bytes(model, k)
    assert r["basis"] == "kept in memory" and r["rounds"] == 2 and set(r["variants"]) == {"dense", "pranc"}
    monkeypatch.setattr(pranc, "BASIS_MEMORY_BYTES", r["basis_bytes"] - 1)  # past the budget: regenerated
    r = bench_pranc((case,), torch.device("cpu"), None, budget_s=0.0, log=lambda *a: None)[case.key]
    assert r["basis"] == "regenerated every step" and r["ratio_vs_dense"]["median"] > 0
