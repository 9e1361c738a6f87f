"""Device measurements for a profile's runs (``scripts/gpu_run.py --bench``), against the goals of issue 15.

- ``train_step``: dense, masked and sparse-baseline steps of every model of the profile at its batch size;
- ``augment``: images/s of the profile's augmentation, batched on the device that holds the images;
- ``goals``: the augmentation against the rate at which each model's step consumes images (goal: 10x), and
  the masked step against the dense one (goal: at most 1.2x);
- ``slots``: several training processes on one GPU at once (``--slots N``), each a real training loop (device
  augmentation, step), aggregate images/s against one process alone.

Written to ``bench/gpu.json``, which ``pemn.bench.gpu_estimate`` reads.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import data as data_mod, train as T
from .cases import Case, build, paper_cases
from .cli import environment
from .sections import bench_loader, bench_train_steps
from .timing import sync
from ..grids import grid
from ..paths import REPO

GOALS = {"augment_min_ratio": 10.0, "masked_max_ratio": 1.2}
PROBE_MODELS = ("resnet32", "convmixer")  # slots are measured on the first model of each of these backbones


def _first_config(profile: str, backbone: str | None = None) -> T.TrainConfig:
    return next(r.config for r in grid(profile).values() if backbone in (None, r.config.backbone))


def goals(res: dict) -> dict:
    """Each model's augmentation ratio and masked/dense ratio, and whether the goals hold for all of them."""
    ips = res["augment"]["images_per_s"]
    per_model = {}
    for key, e in res["train_step"].items():
        consumed = e["batch"] / (e["variants"]["dense"]["median"] / 1e3)
        ratios = e["ratio_vs_dense"]
        per_model[key] = {"images_per_s_consumed": consumed, "augment_ratio": ips / consumed,
                          # what training uses on CUDA: the batched masks (the per-layer ones beside them)
                          "masked_over_dense": ratios.get("masked_batched", ratios["masked"])["median"],
                          "masked_per_layer_over_dense": ratios["masked"]["median"]}
    return {"set": GOALS, "per_model": per_model,
            "augment_held": all(m["augment_ratio"] >= GOALS["augment_min_ratio"] for m in per_model.values()),
            "masked_held": all(m["masked_over_dense"] <= GOALS["masked_max_ratio"] for m in per_model.values())}


def probe(profile: str, seconds: float, device) -> dict:
    """Images/s of a real dense training loop (device augmentation, step) of each probe model, ``seconds`` each."""
    data = data_mod.load("cifar10", allow_download=False)
    x, y = data.x_train.to(device), data.y_train.to(device)
    mean, std = data.mean_std()
    out = {}
    for backbone in PROBE_MODELS:
        cfg = _first_config(profile, backbone)
        case = Case(cfg.backbone, cfg.arch, cfg.batch_size, ("dense",))
        model, opt, fmt = build(case, "dense", device)
        model.train()
        augment, gen = T._augment(cfg), torch.Generator().manual_seed(0)
        images, start, t0 = 0, 5, None  # the first steps warm up (cuDNN, allocator)
        while t0 is None or time.perf_counter() - t0 < seconds:
            for xb, yb in data_mod.batches(x, y, cfg.batch_size, mean, std, gen, augment, shuffle=True,
                                           drop_last=True, device=device):
                with T._autocast(device):
                    loss = F.cross_entropy(model(xb.contiguous(memory_format=fmt)).float(), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                start -= 1
                if start == 0:
                    sync(device)
                    t0 = time.perf_counter()
                elif start < 0:
                    images += len(yb)
                if t0 is not None and time.perf_counter() - t0 >= seconds:
                    break
        sync(device)
        out[case.key] = images / (time.perf_counter() - t0)
    return out


def slots(profile: str, n: int, seconds: float) -> dict:
    """Aggregate images/s of ``n`` training processes at once against one alone, per probe model."""
    def together(k: int) -> list[dict]:
        cmd = [sys.executable, "-m", "pemn.bench.gpu", "--probe", str(seconds), "--profile", profile]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(k)]
        return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    alone, several = together(1)[0], together(n)
    per_model = {key: {"one_images_per_s": alone[key], "together_images_per_s": sum(r[key] for r in several),
                       "aggregate_speedup": sum(r[key] for r in several) / alone[key]} for key in alone}
    return {str(n): {"processes": n, "seconds_each": seconds, "per_model": per_model,
                     "aggregate_speedup": min(m["aggregate_speedup"] for m in per_model.values())}}


def measure(profile: str, budget_s: float, n_slots: int = 1, log=print) -> dict:
    """Everything of this module's docstring, in about ``budget_s`` seconds."""
    device = T.pick_device("auto")
    data = data_mod.load("cifar10", allow_download=False)
    res = {"profile": profile, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "budget_s": budget_s,
           "environment": environment(device)}
    log("training steps ...")
    share = 0.5 if n_slots > 1 else 0.8
    cases = tuple(Case(c.backbone, c.arch, c.batch, ("dense", "masked", "masked_batched", "baseline"))
                  for c in paper_cases(profile))
    res["train_step"] = bench_train_steps(cases, device, data, budget_s * share, log=log)
    log("augmentation on the device ...")
    cfg = _first_config(profile)
    resident = dataclasses.replace(data, x_train=data.x_train.to(device), y_train=data.y_train.to(device))
    loader = bench_loader(device, resident, budget_s * 0.2, n=8192, augments={"recipe": T._augment(cfg)},
                                batch=cfg.batch_size, warmup=1, label=f"augment={cfg.augment!r}, batched on the device")
    res["augment"] = loader.pop("recipe") | loader
    res["goals"] = goals(res)
    if n_slots > 1:
        log(f"{n_slots} training processes at once ...")
        res["slots"] = slots(profile, n_slots, max(5.0, budget_s * 0.3 / (2 * len(PROBE_MODELS)) - 5))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pemn.bench.gpu", description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="gpu")
    ap.add_argument("--budget", type=float, default=90.0, help="seconds to spend measuring")
    ap.add_argument("--slots", type=int, default=2, help="training processes at once to measure (1: none)")
    ap.add_argument("--out", default=str(REPO / "bench" / "gpu.json"))
    ap.add_argument("--probe", type=float, default=None, help=argparse.SUPPRESS)  # one process of ``slots``
    args = ap.parse_args(argv)
    if args.probe is not None:
        print(json.dumps(probe(args.profile, args.probe, T.pick_device("auto"))))
        return 0
    res = measure(args.profile, args.budget, args.slots, log=lambda *a: print(*a, flush=True))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1, default=str) + "\n")
    g = res["goals"]
    for key, m in g["per_model"].items():
        print(f"  {key:28s} augmentation {m['augment_ratio']:6.1f}x the step's need, masked/dense "
              f"{m['masked_over_dense']:.2f}")
    for n, s in res.get("slots", {}).items():
        print(f"  {n} processes at once: aggregate x{s['aggregate_speedup']:.2f} (the lowest of the probe models)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
