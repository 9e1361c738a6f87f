"""How long a profile takes: measured rates summed over its runs, and the paper profile from FLOPs."""
from __future__ import annotations

import statistics

import torch

from .. import methods
from .. import train as T
from ..grids import grid
from ..runs import current_records, notebook_duration_s
from .cases import Case


STUDY_IDLE_CONVMIXER_MS = 68.0


def step_kind(strategy: str) -> str:
    """The measured step variant a method's runs cost (the method says which)."""
    return methods.get(strategy).step_kind


def _step_s(steps: dict, cfg: T.TrainConfig) -> tuple[float, str]:
    """Measured step (s) of a config's backbone, batch and kind; with how it was obtained."""
    key = Case(cfg.backbone, cfg.arch, cfg.batch_size, ()).key
    entry = steps.get(key)
    if entry is None or entry["batch"] != cfg.batch_size:
        raise KeyError(key)
    kind = step_kind(cfg.strategy)
    v = entry["variants"]
    if kind in v:
        return v[kind]["median"] / 1e3, "measured"
    # not measured at this size: the dense step times that kind's ratio to dense on the nearest backbone
    ref = next((e for e in steps.values() if e["backbone"][:6] == cfg.backbone[:6] and kind in e["variants"]), None)
    factor = ref["ratio_vs_dense"][kind]["median"] if ref else v["masked"]["median"] / v["dense"]["median"]
    return v["dense"]["median"] / 1e3 * factor, f"dense x {kind} ratio of " + (ref["backbone"] if ref else "masked")


def measured_runs(profile: str) -> dict:
    """Wall time of the committed runs of a profile: notebook duration (papermill) and training time."""
    out = {}
    for rec in current_records(profile):
        duration = notebook_duration_s(rec.path)
        if duration is None:
            continue
        train_s = rec.wall_time_s
        # a resumed run's notebook covers only its last part; its recorded training time covers all of it
        out[rec.run_id] = {"measured_s": max(duration, train_s or 0.0), "notebook_s": duration, "train_s": train_s,
                           "load_average_1min": rec.hardware.get("load_average_1min"),
                           "torch_threads": rec.hardware.get("torch_threads")}
    return out


def estimate_profile(profile: str, steps: dict, evals: dict, loader_ips: float, overhead_s: float) -> dict:
    runs = grid(profile)
    measured = measured_runs(profile)
    total, loader_total, by_backbone, per_run, notes = 0.0, 0.0, {}, {}, set()
    for rid, run in runs.items():
        cfg = run.config
        step_s, how = _step_s(steps, cfg)
        if how != "measured":
            notes.add(f"{cfg.backbone} {step_kind(cfg.strategy)}: {how}")
        n_train, n_test = cfg.subset or 50000, cfg.test_subset or 10000
        n_steps = cfg.epochs * (n_train // cfg.batch_size or 1)
        key = Case(cfg.backbone, cfg.arch, cfg.batch_size, ()).key
        ips = evals.get(key, {}).get("inference_mode", {}).get("images_per_s")
        if ips is None:  # a forward pass is about a third of a training step
            ips = 3 * cfg.batch_size / step_s
        loader_s = cfg.epochs * n_train / loader_ips
        t = n_steps * step_s + cfg.epochs * n_test / ips + loader_s + overhead_s
        loader_total += loader_s
        per_run[rid] = {"steps": n_steps, "step_ms": step_s * 1e3, "estimate_s": t}
        if rid in measured:
            per_run[rid]["measured_s"] = measured[rid]["measured_s"]
        total += t
        b = by_backbone.setdefault(key, {"runs": 0, "estimate_s": 0.0})
        b["runs"] += 1
        b["estimate_s"] += t
    both = [r for r in per_run.values() if "measured_s" in r]
    return {"runs": len(runs), "estimate_s": total, "estimate_h": total / 3600, "by_backbone": by_backbone,
            "per_run_overhead_s": overhead_s, "notes": sorted(notes), "per_run": per_run, "loader_s": loader_total,
            "measured": {"complete_runs": len(measured),
                         "sum_s": sum(m["measured_s"] for m in measured.values()),
                         "estimate_of_those_s": sum(r["estimate_s"] for r in both),
                         "runs": measured},
            "method": "sum over the profile's runs of epochs x (train images // batch) x measured step + epochs x "
                      "test images / measured evaluation rate + epochs x train images / loader rate + per-run "
                      "overhead (papermill kernel, imports, data, export: median over committed runs), "
                      "one run at a time under the load recorded in this file"}


def run_overhead_s() -> tuple[float, int]:
    """Median (notebook duration - training time) over committed runs: kernel start, imports, data, export."""
    diffs = [m["notebook_s"] - m["train_s"] for p in ("smoke", "cpu") for m in measured_runs(p).values()
             if m.get("train_s") is not None and m["notebook_s"] > m["train_s"]]
    return (statistics.median(diffs), len(diffs)) if diffs else (12.0, 0)

# Calibration of the GPU estimate: ConvMixer-256/8 (kernel 5, patch 2) on CIFAR-10 trains at 21.3 s per epoch of
# 50,000 images plus 10,000 test images on a V100 (LuxDL/Lux.jl examples/ConvMixer/README.md, adapted from
# locuslab/convmixer-cifar10; epochs after the first). That fixes an effective V100 rate in FLOP/s for these
# small, memory-bound CIFAR models; an A100 or H100 with bf16 autocast and channels-last is assumed 2x to 4x
# faster (their memory bandwidth is 1.7x and 3.7x a V100's; these models are bound by it, not by matmul peak).
GPU_REFERENCE = {"model": ("convmixer", dict(dim=256, depth=8, kernel_size=5, patch_size=2)),
                 "seconds_per_epoch": 21.3, "train_images": 50000, "test_images": 10000, "gpu": "V100",
                 "source": "LuxDL/Lux.jl examples/ConvMixer/README.md (V100 32GB, epochs 2+)",
                 "speedup_assumed": (2.0, 4.0)}


def train_flops_per_image(backbone: str, arch: dict) -> tuple[float, float]:
    """(training, forward) FLOPs per image of the dense model; training = 3 x forward.

    The forward is counted by ``torch.utils.flop_counter`` on meta tensors (nothing is computed; matmul and
    convolution only). The backward is taken as twice the forward, the usual rule: the counter's own backward
    formula treats a depthwise (grouped) convolution as a full one and overcounts ConvMixer's by 10x or more.
    """
    from torch.utils.flop_counter import FlopCounterMode
    from ..backbones import build_model
    with torch.device("meta"):
        model = build_model(backbone, **arch)
        x = torch.empty(2, 3, 32, 32)
    with FlopCounterMode(display=False) as fwd, torch.no_grad():
        model(x)
    f = fwd.get_total_flops() / 2
    return 3 * f, f


def estimate_paper(measured_gpu: dict | None = None) -> dict:
    """GPU time of the paper profile from per-image FLOPs and an effective rate (see GPU_REFERENCE)."""
    ref_b, ref_a = GPU_REFERENCE["model"]
    tr, fw = train_flops_per_image(ref_b, ref_a)
    ref_rate = (tr * GPU_REFERENCE["train_images"] + fw * GPU_REFERENCE["test_images"]) / GPU_REFERENCE["seconds_per_epoch"]
    cache, total, by_backbone = {}, 0.0, {}
    for run in grid("paper").values():
        cfg = run.config
        key = Case(cfg.backbone, cfg.arch, cfg.batch_size, ()).key
        if key not in cache:
            cache[key] = train_flops_per_image(cfg.backbone, cfg.arch)
        tr_i, fw_i = cache[key]
        flops = cfg.epochs * ((cfg.subset or 50000) * tr_i + (cfg.test_subset or 10000) * fw_i)
        total += flops
        b = by_backbone.setdefault(key, {"runs": 0, "flops": 0.0})
        b["runs"] += 1
        b["flops"] += flops
    lo, hi = GPU_REFERENCE["speedup_assumed"]
    v100_h = total / ref_rate / 3600
    out = {"runs": len(grid("paper")), "total_flops": total, "flops_per_image_train": {k: v[0] for k, v in cache.items()},
           "v100_effective_tflops": ref_rate / 1e12, "estimate_gpu_h_v100": v100_h,
           "estimate_gpu_h_a100_h100": [v100_h / hi, v100_h / lo],
           "by_backbone_gpu_h_v100": {k: {"runs": b["runs"], "gpu_h": b["flops"] / ref_rate / 3600}
                                      for k, b in by_backbone.items()},
           "reference": {k: v for k, v in GPU_REFERENCE.items() if k != "model"} | {"model": "convmixer-w256d8k5p2"},
           "method": "ESTIMATE, not measured: per-image training FLOPs (3 x the forward counted by "
                     "torch.utils.flop_counter on meta tensors; matmul/conv only) x images x epochs for every run of grid('paper'), divided by "
                     "the effective FLOP/s that the V100 reference run achieves on ConvMixer-256/8; A100/H100 range "
                     "assumes a 2x-4x faster GPU. Masks add elementwise work only (the masked/dense step ratio "
                     "measured here). One GPU, runs one after another, no data-loading stalls."}
    if measured_gpu:
        out["measured_gpu"] = measured_gpu
    return out
