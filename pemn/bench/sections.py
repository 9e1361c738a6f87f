"""The benchmark's sections: each measures one thing and returns a JSON-ready dict."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

from .. import data as data_mod
from .. import methods
from .. import train as T
from ..grids import grid
from ..masking import topk_mask
from ..paths import REPO
from .cases import (CM6, CPU_CASES, GOAL_BACKBONES, PAPER_CHECK, SMOKE_CASES, VARIANTS, Case, batch_of, build,
                    largest_layer_shape, paper_cases, stepper)
from .estimate import estimate_paper, estimate_profile, run_overhead_s
from .reference import augment_former, eval_with, sort_mask, topk_mask_former
from .timing import interleave, load_average, paired_ratio, stats, timed


def bench_train_steps(cases, device, data, budget_s, min_rounds=3, log=print, goal_pairs=False) -> dict:
    out = {}
    t_end = time.perf_counter() + budget_s
    for i, case in enumerate(cases):
        rest = sum(c.weight for c in cases[i:])
        slice_s = max(0.0, (t_end - time.perf_counter()) * case.weight / rest)
        xb, yb = batch_of(data, case.batch, device)
        fns = {v: stepper(case, v, device, xb, yb) for v in case.variants}
        load0 = load_average()
        t_case = time.perf_counter()
        goal = goal_pairs and case.key in GOAL_BACKBONES and len(fns) > 2
        samples = interleave(fns, device, slice_s * (0.45 if goal else 1.0), min_rounds=min_rounds)
        if goal:  # more rounds of the goal's pair alone: rounds stay paired, the other variants keep their own
            more = interleave({v: fns[v] for v in ("dense", "masked")}, device,
                              slice_s - (time.perf_counter() - t_case), min_rounds=3, max_rounds=60, warmup=0)
            for v in ("dense", "masked"):
                samples[v] += more[v]
        entry = {"backbone": case.backbone, "arch": case.arch, "batch": case.batch,
                 "memory_format": str(T.memory_format_for(case.backbone)).replace("torch.", ""),
                 "rounds": max(len(v) for v in samples.values()),
                 "rounds_all_variants": min(len(v) for v in samples.values()),
                 "load_average": [load0, load_average()],
                 "variants": {v: {**stats(s), "label": VARIANTS[v]["label"],
                                  "samples_ms": [round(t * 1e3, 2) for t in s]} for v, s in samples.items()},
                 "ratio_vs_dense": {v: paired_ratio(samples, v, "dense") for v in samples
                                    if v != "dense" and "dense" in samples}}
        if "masked_sort" in samples:
            entry["ratio_sort_vs_masked"] = paired_ratio(samples, "masked_sort", "masked")
        if "masked_nchw" in samples:
            entry["ratio_masked_vs_dense_nchw"] = paired_ratio(samples, "masked_nchw", "dense_nchw")
        out[case.key] = entry
        del fns
        log(f"  {case.key:22s} " + "  ".join(f"{v} {entry['variants'][v]['median']:.0f}" for v in samples)
            + f" ms  ({entry['rounds']} rounds, load {load0[0]})")
    return out


def bench_pranc(cases, device, data, budget_s, log=print) -> dict:
    """PRANC's training step against dense (paired rounds, at least two), with the size of its basis and whether
    it is kept in memory (``pemn.pranc.BASIS_MEMORY_BYTES``) or regenerated at every step."""
    from .. import pranc
    out = {}
    for case in cases:
        xb, yb = batch_of(data, case.batch, device)
        model, _, _ = build(case, "pranc", device)
        k = pranc.coefficients(model).numel()
        basis = pranc.basis_bytes(model, k)
        del model
        fns = {v: stepper(case, v, device, xb, yb) for v in case.variants}
        kept = basis <= pranc.BASIS_MEMORY_BYTES  # a regenerated basis's step is long: no warm-up round
        samples = interleave(fns, device, budget_s / len(cases), min_rounds=2, max_rounds=20, warmup=int(kept))
        out[case.key] = {"coefficients": k, "basis_bytes": basis, "basis_memory_budget_bytes": pranc.BASIS_MEMORY_BYTES,
                         "basis": "kept in memory" if kept else "regenerated every step",
                         "label": VARIANTS["pranc"]["label"], "rounds": len(samples["pranc"]),
                         "variants": {v: stats(s) for v, s in samples.items()},
                         "ratio_vs_dense": paired_ratio(samples, "pranc", "dense")}
        log(f"  {case.key:22s} dense {out[case.key]['variants']['dense']['median']:.0f} ms, PRANC "
            f"{out[case.key]['variants']['pranc']['median']:.0f} ms (k = {k:,}, basis {basis / 2**30:.2f} GiB, "
            f"{out[case.key]['basis']})")
        del fns
    return out


def bench_masks(device, budget_s) -> dict:
    shapes = {c.key: largest_layer_shape(c) for c in CPU_CASES}
    shapes["convmixer-w256d8k5p2 (paper)"] = (256, 256, 1, 1)
    shapes["convmixer-w512d8k5p2 (paper)"] = (512, 512, 1, 1)
    out = {}
    per = budget_s / len(shapes)
    for key, shape in shapes.items():
        g = torch.Generator().manual_seed(0)
        scores = (torch.rand(shape, generator=g) * 2 - 1).to(device)
        fns = {"ours": lambda: topk_mask(scores, 0.5), "sort": lambda: sort_mask(scores, 0.5),
               "topk_former": lambda: topk_mask_former(scores, 0.5)}
        samples = interleave(fns, device, per, min_rounds=20, max_rounds=400, warmup=3)
        assert torch.equal(topk_mask(scores, 0.5), sort_mask(scores, 0.5).bool())  # same mask without ties
        out[key] = {"shape": list(shape), "numel": math.prod(shape),
                    **{f"{k}_us": stats(v, 1e6)["median"] for k, v in samples.items()},
                    "speedup_vs_sort": paired_ratio(samples, "sort", "ours")["median"],
                    "speedup_vs_topk_former": paired_ratio(samples, "topk_former", "ours")["median"],
                    "rounds": len(samples["ours"])}
    return out


def bench_loader(device, data, budget_s, n: int = 10000, augments: dict | None = None,
                 label: str = "crop (reflect pad 4) + flip", batch: int = 128, warmup: int = 0) -> dict:
    """Images/second of ``batches`` with each augmentation (default: ours, the former one, none)."""
    if data is None:
        g = torch.Generator().manual_seed(0)
        x, y = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.randint(0, 10, (n,))
        mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
    else:
        x, y = data.x_train[:n], data.y_train[:n]
        mean, std = data.mean_std()
    if augments is None:
        aug = data_mod.Augment()
        augments = {"ours": aug, "former": augment_former(aug), "no_augment": None}

    def epoch(augment):
        def run():
            g = torch.Generator().manual_seed(0)
            for xb, _ in data_mod.batches(x, y, batch, mean, std, g, augment, shuffle=True, drop_last=True,
                                          device=device):
                pass
        return run
    samples = interleave({k: epoch(a) for k, a in augments.items()}, device, budget_s, min_rounds=2, max_rounds=10,
                         warmup=warmup)
    images = (n // batch) * batch
    return {k: {"images_per_s": images / statistics.median(v), "rounds": len(v)} for k, v in samples.items()} | {
        "images": images, "batch": batch, "augment": label, "load_average": load_average()}


def bench_eval(cases, device, data, budget_s) -> dict:
    out = {}
    per = budget_s / len(cases)
    for case in cases:
        n = 10000 if device.type == "cuda" else (256 if case.backbone.startswith("resnet") else 512)
        if data is None:
            x, y = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (n,))
            mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
        else:
            x, y = data.x_test[:n], data.y_test[:n]
            mean, std = data.mean_std()
        model, _, fmt = build(case, "masked", device)
        variants = {"inference_mode": T.evaluate}
        if case.key == GOAL_BACKBONES[0]:
            variants |= {"no_grad": eval_with(torch.no_grad), "autograd": eval_with(torch.enable_grad)}
        fns = {k: (lambda f=f: f(model, x, y, mean, std, device, memory_format=fmt)) for k, f in variants.items()}
        samples = interleave(fns, device, per, min_rounds=2, max_rounds=10, warmup=1)
        out[case.key] = {k: {"images_per_s": n / statistics.median(v), "rounds": len(v)} for k, v in samples.items()}
        out[case.key] |= {"images": n, "model": "masked", "load_average": load_average()}
    return out


def bench_compile(device, budget_s, threads: int) -> dict:
    """torch.compile of the masked ConvMixer in a child process with an empty compiler cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, TRITON_CACHE_DIR=os.path.join(cache, "triton"))
        cmd = [sys.executable, "-m", "pemn.bench", "--compile-child", "--threads", str(threads)]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=max(budget_s, 5), cwd=REPO)
            stdout, timed_out = proc.stdout, False
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            timed_out = True
    stages = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    result = {"limit_s": round(budget_s, 1), "timed_out": timed_out, "wall_s": time.perf_counter() - t0,
              "case": "convmixer-w64d6k5p4 masked, batch 128", "load_average": load_average()}
    for s in stages:
        result |= s
    if timed_out and "cold_compile_s" not in result:
        result["cold_compile_s_at_least"] = round(budget_s, 1)
    return result


def compile_child(device) -> None:
    """Child of ``bench_compile``: prints one JSON line per finished stage."""
    case = Case("convmixer", CM6, 128, ("masked",))
    xb, yb = batch_of(None, 128, device)
    model, opt, fmt = build(case, "masked", device)
    x, y = xb.to(device).contiguous(memory_format=fmt), yb.to(device)

    def make_step(m):
        def step():
            with T._autocast(device):
                loss = F.cross_entropy(m(x).float(), y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
        return step
    eager = make_step(model)
    eager()
    eager_s = statistics.median(timed(eager, device) for _ in range(3))
    compiled = make_step(torch.compile(model))
    first = timed(compiled, device)
    print(json.dumps({"cold_compile_s": first - eager_s, "first_step_s": first}), flush=True)
    samples = interleave({"eager": eager, "compiled": compiled}, device, 20.0, min_rounds=5, max_rounds=20)
    print(json.dumps({"eager_ms": stats(samples["eager"])["median"],
                      "compiled_ms": stats(samples["compiled"])["median"],
                      "ratio_compiled_vs_eager": paired_ratio(samples, "compiled", "eager")["median"]}), flush=True)
    torch._dynamo.reset()
    again = make_step(torch.compile(model))
    print(json.dumps({"warm_compile_s": timed(again, device) - eager_s}), flush=True)


def bench_smoke(device, budget_s) -> dict:
    return bench_train_steps(SMOKE_CASES, device, None, budget_s, min_rounds=3, log=lambda *a: None)


def paper_epoch_check(device, data, estimate: dict) -> dict:
    """One real epoch of a paper run through ``pemn.train.train``, against the estimate of the same epoch.

    The estimate adds step, loader and evaluation rates measured apart; this epoch runs them as training
    does (the augmentation between steps), so the two agreeing checks that the rates add up
    as the estimate assumes. The first epoch includes warm-up (cuDNN, allocator).
    """
    backbone, arch = PAPER_CHECK
    run = next(r for r in grid("paper").values()
               if r.config.backbone == backbone and r.config.arch == arch and methods.get(r.config.strategy).reference)
    cfg = dataclasses.replace(run.config, epochs=1)
    result = T.train(cfg, progress=False, data=data)
    per_run = estimate["per_run"][run.run_id]
    est_epoch = (per_run["estimate_s"] - estimate["per_run_overhead_s"]) / run.config.epochs
    measured = result["history"][0]["seconds"]
    return {"run_id": run.run_id, "epochs_run": 1, "measured_epoch_s": measured, "estimated_epoch_s": est_epoch,
            "measured_over_estimated": measured / est_epoch, "test_acc_after_1_epoch": result["final_test_acc"]}


def bench_paper(device, data, budget_s, log=print) -> dict:
    """Rates of the paper profile's own models, batch sizes and augmentation, and what they make of its 408 runs."""
    cases = paper_cases()
    cfg = next(iter(grid("paper").values())).config
    res = {"train_step": bench_train_steps(cases, device, data, budget_s * 0.75, log=log)}
    log("evaluation ...")
    res["evaluation"] = bench_eval(cases, device, data, budget_s * 0.1)
    log("loader (the paper's augmentation, batched on the device) ...")
    resident = dataclasses.replace(data, x_train=data.x_train.to(device), y_train=data.y_train.to(device))
    res["loader"] = bench_loader(device, resident, budget_s * 0.15, n=8192, augments={"paper": T._augment(cfg)},
                                 batch=cfg.batch_size, warmup=1,
                                 label=f"augment={cfg.augment!r}: flip, RandAugment(2, 12), ColorJitter, erasing, "
                                       "batched with per-image draws on the device that holds the images")
    overhead, _ = run_overhead_s()
    est = estimate_profile("paper", res["train_step"], res["evaluation"], res["loader"]["paper"]["images_per_s"],
                           overhead)
    est["method"] += "; ResNets timed with AdamW (the paper's SGD step differs only in the optimizer update)"
    est["loader_share"] = est["loader_s"] / est["estimate_s"]
    log("one real epoch ...")
    res["epoch_check"] = paper_epoch_check(device, data, est)
    res["profile"] = est
    res["from_flops"] = estimate_paper()
    return res
