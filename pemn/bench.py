"""``make bench``: how fast the study trains, measured side by side in one process (issue 6).

Writes ``bench/results.json`` and prints a table. Sections, all on the device
training would use (CUDA with bf16 autocast when present, else the CPU):

- ``train_step``: median training step (forward, backward, optimizer) per
  backbone at its ``cpu``-profile size, batch 128, for dense, masked (ours) and
  masked with the official code's sort-based mask (reimplemented here only),
  plus the sparse baseline and before/after variants (NCHW instead of
  channels-last). Variants are interleaved step by step, the order alternating
  each round, and ratios are medians of per-round ratios, so slow drifts of a
  shared machine's load cancel.
- ``mask``: the mask computation alone on each backbone's largest layer: ours,
  the sort-based reference, and the former ``torch.topk`` version.
- ``loader``: images/second of ``pemn.data.batches`` with ``Augment`` (and the
  former augmentation), against what the fastest training step consumes.
- ``evaluation``: images/second of ``pemn.train.evaluate`` (inference mode),
  with ``no_grad`` and autograd-enabled forwards beside it.
- ``options``: other ecosystem switches on the ConvMixer (thread count, fused
  AdamW, RP's tiled weights).
- ``compile``: ``torch.compile`` of the masked ConvMixer in a child process with
  a fresh compiler cache (cold compile time, warm-cache compile time, step). A
  cold compile alone takes one to two minutes on 2 shared cores, so it is
  measured by ``python -m pemn.bench --compile-only`` into ``bench/compile.json``
  and ``make bench`` shows that stored measurement, labelled, beside its own.
- ``profiles``: time of each profile estimated from these measurements (smoke,
  cpu) and from FLOPs for ``paper`` on a GPU, next to measured run times in ``runs/``.

``--paper`` (``make bench-paper``, CUDA only) writes ``bench/paper.json`` instead: the
``paper`` grid's own models at their batch sizes, its augmentation, the profile's
GPU-hours from those rates, and one real epoch through ``pemn.train.train`` as a check.

Every section records ``os.getloadavg()`` and the torch thread count: timings on a
shared machine are noisy, ratios measured side by side much less so.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from . import data as data_mod
from . import train as T
from .grids import grid, run_id
from .masking import BatchedMasks, kept_count, masked_layers, topk_mask

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "results.json"
GOALS = {"masked_step_max_ratio": 1.10, "mask_min_speedup_vs_sort": 4.0, "loader_min_ratio": 10.0}
GOAL_BACKBONES = ("convmixer-w64d6k5p4", "resnet32")

# What a variant is: how the model is built and stepped.
VARIANTS = {
    "dense": dict(strategy="dense", label="dense (channels-last for convs)"),
    "masked": dict(strategy="mask", label="masked, ours (selection mask)"),
    "masked_sort": dict(strategy="mask", mask="sort", label="masked, sort-based mask (official code)"),
    "masked_batched": dict(strategy="mask", batched=True, label="masked, all layers' masks in one batched sort"),
    "baseline": dict(strategy="random_sparse", compression=0.9, label="sparse baseline (torch prune, 90%)"),
    "dense_nchw": dict(strategy="dense", layout="nchw", label="dense, NCHW (before)"),
    "masked_nchw": dict(strategy="mask", layout="nchw", label="masked, NCHW (before)"),
    "masked_fused": dict(strategy="mask", fused=True, label="masked, fused AdamW"),
    "masked_rp": dict(strategy="rp", ratio=1e-3, label="masked, RP 1e-3 (tiled weights)"),
}


@dataclass(frozen=True)
class Case:
    backbone: str
    arch: dict
    batch: int
    variants: tuple
    weight: float = 1.0  # share of its section's time (the goal backbones get more rounds)

    @property
    def key(self) -> str:
        """Run-id stem of the backbone and architecture, e.g. ``convmixer-w64d6k5p4`` (``-b64`` if batch is not 128)."""
        cfg = T.TrainConfig(backbone=self.backbone, arch=dict(self.arch), strategy="dense")
        return run_id(cfg).split("-c10-")[0] + (f"-b{self.batch}" if self.batch != 128 else "")


CM6 = dict(dim=64, depth=6, kernel_size=5, patch_size=4)
CM8 = dict(dim=64, depth=8, kernel_size=5, patch_size=4)
VIT = dict(dim=64, depth=6, heads=4, mlp_ratio=2, patch_size=4)
CPU_CASES = (
    Case("convmixer", CM6, 128, ("dense", "masked", "masked_sort", "baseline", "dense_nchw", "masked_nchw"), 1.5),
    Case("resnet32", {}, 128, ("dense", "masked", "masked_sort", "baseline", "dense_nchw"), 3.5),
    Case("vit", VIT, 128, ("dense", "masked", "masked_sort"), 0.8),
    Case("convmixer", CM8, 128, ("dense", "masked", "baseline"), 0.5),
    Case("resnet56", {}, 128, ("dense", "masked", "masked_sort"), 1.2),
)
OPTION_CASE = Case("convmixer", CM6, 128, ("masked", "masked_fused", "masked_other_threads", "masked_rp"))
SMOKE_CASES = (
    Case("convmixer", dict(dim=16, depth=2, kernel_size=3, patch_size=4), 64, ("dense", "masked", "baseline")),
    Case("vit", dict(dim=16, depth=1, heads=2, mlp_ratio=2, patch_size=8), 64, ("dense", "masked")),
    Case("resnet32", {}, 64, ("dense", "masked", "baseline")),
)
COMPILE_OUT = REPO / "bench" / "compile.json"
PAPER_OUT = REPO / "bench" / "paper.json"
STUDY_IDLE_CONVMIXER_MS = 68.0
# Section shares of the time budget; each section still takes its minimum number of rounds when the machine is
# slower than the budget assumes (the rest is setup and the FLOP count).
SHARES = {"mask": 0.03, "train_step": 0.64, "loader": 0.03, "evaluation": 0.06, "options": 0.07, "smoke": 0.03}


def choose_threads(requested: int | None) -> tuple[int, str]:
    """Thread count for the measurements, and why.

    On a busy machine (1-minute load average of 1 or more: another job already
    holds a core) torch's default of one thread per core makes every parallel
    region wait for a descheduled thread: measured here, a ConvMixer step took
    3x longer with 2 threads than with 1. The bench then uses 1 thread, as the
    runs sharing such a machine do, and still times the default beside it.
    """
    if requested:
        return requested, "--threads"
    default = torch.get_num_threads()
    load = os.getloadavg()[0]
    if default > 1 and load >= 1.0:
        return 1, f"machine busy (1-min load average {load:.2f} >= 1): 1 thread; {default} timed under options"
    return default, f"torch default ({default}); machine idle enough (1-min load average {load:.2f})"


# --- timing helpers --------------------------------------------------------------------------------------------

def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn, device) -> float:
    _sync(device)
    t = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t


def _stats(samples, scale=1e3) -> dict:
    s = sorted(samples)
    q = statistics.quantiles(s, n=4) if len(s) > 1 else [s[0]] * 3
    return {"median": statistics.median(s) * scale, "p25": q[0] * scale, "p75": q[2] * scale, "n": len(s)}


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def interleave(fns: dict, device, budget_s: float, min_rounds: int = 3, max_rounds: int = 30, warmup: int = 1):
    """Time each callable once per round, alternating the order each round, until the budget is used.

    Returns {name: [seconds per round]}: index i of every list comes from the same round.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    samples = {k: [] for k in fns}
    names = list(fns)
    t0 = time.perf_counter()
    rounds = 0
    while True:
        for k in (names if rounds % 2 == 0 else names[::-1]):
            samples[k].append(_timed(fns[k], device))
        rounds += 1
        spent = time.perf_counter() - t0
        if rounds >= max_rounds or (rounds >= min_rounds and spent + spent / rounds > budget_s):
            return samples


def paired_ratio(samples: dict, name: str, base: str) -> dict:
    """Median (and quartiles) of the per-round ratios, plus the ratio of the two fastest steps.

    On a shared machine contention only ever adds time, so the ratio of minima is a second, lower-envelope
    view of the same cost; both are recorded.
    """
    r = [a / b for a, b in zip(samples[name], samples[base])]
    return _stats(r, scale=1.0) | {"min_ratio": min(samples[name]) / min(samples[base])}


# --- the official code's sort-based mask (reference only) ---------------------------------------------------------

def sort_mask(scores: torch.Tensor, keep_ratio: float) -> torch.Tensor:
    """The official PEMN ``GetSubnet``: sort ``|scores|``, zero the bottom ``int((1 - k) n)``, one the rest."""
    out = torch.empty_like(scores, memory_format=torch.contiguous_format)
    _, idx = scores.detach().abs().flatten().sort()
    j = int((1 - keep_ratio) * scores.numel())
    flat = out.view(-1)
    flat[idx[:j]] = 0
    flat[idx[j:]] = 1
    return out


class _SortSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, scores, keep_ratio):
        return sort_mask(scores, keep_ratio)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def use_sort_mask(model: torch.nn.Module) -> None:
    """Make every masked layer of ``model`` use the sort-based mask (instance attribute, library untouched)."""
    for _, m in masked_layers(model):
        m.masked_weight = types.MethodType(lambda self: self.weight * _SortSTE.apply(self.scores.abs(), self.keep_ratio), m)


def topk_mask_former(scores: torch.Tensor, keep_ratio: float) -> torch.Tensor:
    """The library's mask before issue 6: ``torch.topk`` (unsorted) indices scattered into a bool mask."""
    flat = scores.detach().abs().flatten()
    k = kept_count(flat.numel(), keep_ratio)
    mask = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    mask[torch.topk(flat, k, sorted=False).indices] = True
    return mask.view_as(scores)


def augment_former(aug: data_mod.Augment):
    """The augmentation before issue 6 (pad floats, index every pixel, flip), same draws and pixels.

    Also the reference the tests hold ``Augment`` to, bit for bit."""
    def call(x, gen):
        n, _, h, w = x.shape
        x = x.float()
        if aug.crop_pad:
            p = aug.crop_pad
            padded = F.pad(x, (p, p, p, p), mode="reflect")
            dy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
            dx = torch.randint(0, 2 * p + 1, (n,), generator=gen)
            rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
            cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
            x = padded[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
        if aug.flip:
            flip = torch.rand(n, generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        if aug.erase_prob > 0:
            x = aug._erase(x, gen)
        return x
    return call


# --- building what is measured -----------------------------------------------------------------------------------

def _config(case: Case, spec: dict) -> T.TrainConfig:
    return T.TrainConfig(backbone=case.backbone, arch=dict(case.arch), strategy=spec["strategy"],
                         ratio=spec.get("ratio"), compression=spec.get("compression"), batch_size=case.batch)


def _layout(case: Case, spec: dict):
    return torch.contiguous_format if spec.get("layout") == "nchw" else T.memory_format_for(case.backbone)


def build(case: Case, variant: str, device):
    """(model, optimizer, memory format) of one variant, built as ``train`` builds it."""
    spec = VARIANTS[variant]
    cfg = _config(case, spec)
    torch.manual_seed(0)
    fmt = _layout(case, spec)
    model = T.make_model(cfg, 10).to(device, memory_format=fmt)
    if spec.get("mask") == "sort":
        use_sort_mask(model)
    if spec.get("batched"):
        BatchedMasks(model)
    if spec.get("fused"):
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=True)
    else:
        opt = T.make_optimizer(cfg, model)
    return model, opt, fmt


def stepper(case: Case, variant: str, device, xb, yb):
    """One training step of ``variant`` as ``pemn.train.train`` runs it (autocast, label smoothing, AdamW)."""
    model, opt, fmt = build(case, variant, device)
    model.train()
    x = xb.to(device).contiguous(memory_format=fmt)
    y = yb.to(device)
    threads = VARIANTS[variant].get("threads")

    def step():
        before = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        with T._autocast(device):
            out = model(x)
            loss = F.cross_entropy(out.float(), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if threads:
            torch.set_num_threads(before)
    return step


def batch_of(data, n: int, device):
    """A normalized real training batch (random images when the data set is missing)."""
    if data is None:
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
    mean, std = data.mean_std()
    return next(data_mod.batches(data.x_train[:n], data.y_train[:n], n, mean, std))


# --- sections ------------------------------------------------------------------------------------------------------

def bench_train_steps(cases, device, data, budget_s, min_rounds=3, log=print, goal_pairs=False) -> dict:
    out = {}
    t_end = time.perf_counter() + budget_s
    for i, case in enumerate(cases):
        rest = sum(c.weight for c in cases[i:])
        slice_s = max(0.0, (t_end - time.perf_counter()) * case.weight / rest)
        xb, yb = batch_of(data, case.batch, device)
        fns = {v: stepper(case, v, device, xb, yb) for v in case.variants}
        load0 = _load()
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
                 "load_average": [load0, _load()],
                 "variants": {v: {**_stats(s), "label": VARIANTS[v]["label"],
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


def largest_layer_shape(case: Case) -> tuple:
    model = T.make_model(_config(case, VARIANTS["masked"]), 10)
    return max((tuple(m.source.shape) for _, m in masked_layers(model)), key=math.prod)


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
                    **{f"{k}_us": _stats(v, 1e6)["median"] for k, v in samples.items()},
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
        "images": images, "batch": batch, "augment": label, "load_average": _load()}


def _eval_with(ctx_factory):
    """``pemn.train.evaluate``'s loop under another autograd context (the 'before' variants)."""
    def evaluate(model, x, y, mean, std, device, batch_size=1000, memory_format=torch.contiguous_format):
        with ctx_factory():
            model.eval()
            correct = 0
            for xb, yb in data_mod.batches(x, y, batch_size, mean, std, device=device):
                with T._autocast(device):
                    out = model(xb.contiguous(memory_format=memory_format))
                correct += (out.argmax(1) == yb).sum().item()
            return correct / len(y), None
    return evaluate


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
            variants |= {"no_grad": _eval_with(torch.no_grad), "autograd": _eval_with(torch.enable_grad)}
        fns = {k: (lambda f=f: f(model, x, y, mean, std, device, memory_format=fmt)) for k, f in variants.items()}
        samples = interleave(fns, device, per, min_rounds=2, max_rounds=10, warmup=1)
        out[case.key] = {k: {"images_per_s": n / statistics.median(v), "rounds": len(v)} for k, v in samples.items()}
        out[case.key] |= {"images": n, "model": "masked", "load_average": _load()}
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
              "case": "convmixer-w64d6k5p4 masked, batch 128", "load_average": _load()}
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
    eager_s = statistics.median(_timed(eager, device) for _ in range(3))
    compiled = make_step(torch.compile(model))
    first = _timed(compiled, device)
    print(json.dumps({"cold_compile_s": first - eager_s, "first_step_s": first}), flush=True)
    samples = interleave({"eager": eager, "compiled": compiled}, device, 20.0, min_rounds=5, max_rounds=20)
    print(json.dumps({"eager_ms": _stats(samples["eager"])["median"],
                      "compiled_ms": _stats(samples["compiled"])["median"],
                      "ratio_compiled_vs_eager": paired_ratio(samples, "compiled", "eager")["median"]}), flush=True)
    torch._dynamo.reset()
    again = make_step(torch.compile(model))
    print(json.dumps({"warm_compile_s": _timed(again, device) - eager_s}), flush=True)


def bench_smoke(device, budget_s) -> dict:
    return bench_train_steps(SMOKE_CASES, device, None, budget_s, min_rounds=3, log=lambda *a: None)


# --- profiles: estimated and measured time ---------------------------------------------------------------------------

def _kind(strategy: str) -> str:
    if strategy == "dense":
        return "dense"
    return "baseline" if strategy in ("random_sparse", "magnitude_sparse") else "masked"


def _step_s(steps: dict, cfg: T.TrainConfig) -> tuple[float, str]:
    """Measured step (s) of a config's backbone, batch and kind; with how it was obtained."""
    key = Case(cfg.backbone, cfg.arch, cfg.batch_size, ()).key
    entry = steps.get(key)
    if entry is None or entry["batch"] != cfg.batch_size:
        raise KeyError(key)
    kind = _kind(cfg.strategy)
    v = entry["variants"]
    if kind in v:
        return v[kind]["median"] / 1e3, "measured"
    # baseline not measured at this size: the dense step times the baseline/dense ratio of the nearest backbone
    ref = next((e for e in steps.values() if e["backbone"][:6] == cfg.backbone[:6] and "baseline" in e["variants"]),
               None)
    factor = ref["ratio_vs_dense"]["baseline"]["median"] if ref else v["masked"]["median"] / v["dense"]["median"]
    return v["dense"]["median"] / 1e3 * factor, "dense x baseline ratio of " + (ref["backbone"] if ref else "masked")


def measured_runs(profile: str) -> dict:
    """Wall time of the committed runs of a profile: notebook duration (papermill) and training time."""
    from .runs import runs_root
    out = {}
    for nb in sorted((runs_root() / profile).glob("*/train.ipynb")):
        metrics = nb.parent / "metrics.json"
        try:
            duration = json.loads(nb.read_text())["metadata"]["papermill"]["duration"]
            m = json.loads(metrics.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if duration is None or m.get("status") != "complete":
            continue
        hw = m.get("hardware", {})
        train_s = m.get("wall_time_s")
        # a resumed run's notebook covers only its last part; its recorded training time covers all of it
        out[nb.parent.name] = {"measured_s": max(duration, train_s or 0.0), "notebook_s": duration,
                               "train_s": train_s,
                               "load_average_1min": hw.get("load_average_1min"), "torch_threads": hw.get("torch_threads")}
    return out


def estimate_profile(profile: str, steps: dict, evals: dict, loader_ips: float, overhead_s: float) -> dict:
    runs = grid(profile)
    measured = measured_runs(profile)
    total, loader_total, by_backbone, per_run, notes = 0.0, 0.0, {}, {}, set()
    for rid, run in runs.items():
        cfg = run.config
        step_s, how = _step_s(steps, cfg)
        if how != "measured":
            notes.add(f"{cfg.backbone} {_kind(cfg.strategy)}: {how}")
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


def paper_cases(profile: str = "paper") -> tuple[Case, ...]:
    """One case per model of ``grid(profile)`` at its batch size: dense, masked and the sparse baseline."""
    cases = {}
    for run in grid(profile).values():
        c = run.config
        case = Case(c.backbone, c.arch, c.batch_size, ("dense", "masked", "baseline"))
        cases.setdefault(case.key, case)
    return tuple(cases.values())


PAPER_CHECK = ("convmixer", dict(dim=256, depth=8, kernel_size=5, patch_size=2))


def paper_epoch_check(device, data, estimate: dict) -> dict:
    """One real epoch of a paper run through ``pemn.train.train``, against the estimate of the same epoch.

    The estimate adds step, loader and evaluation rates measured apart; this epoch runs them as training
    does (the augmentation between steps), so the two agreeing checks that the rates add up
    as the estimate assumes. The first epoch includes warm-up (cuDNN, allocator).
    """
    backbone, arch = PAPER_CHECK
    run = next(r for r in grid("paper").values()
               if r.config.backbone == backbone and r.config.arch == arch and r.config.strategy == "dense")
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


def paper_table(res: dict) -> str:
    p, chk, ld = res["profile"], res["epoch_check"], res["loader"]
    lines = [f"pemn bench --paper on {res['environment']['device_name']} ({res['device']}, autocast "
             f"{res['environment']['autocast']}), torch {torch.__version__}, {res['elapsed_s']:.0f} s",
             "", "training step at the paper's batch sizes, median ms (dense / masked / sparse baseline)"]
    for key, e in res["train_step"].items():
        lines.append(f"  {key:28s} " + " / ".join(f"{e['variants'][v]['median']:.1f}" for v in e["variants"])
                     + f"  ({e['rounds']} rounds)")
    lines += [f"loader with the paper's augmentation, batched on the device: {ld['paper']['images_per_s']:.0f} img/s",
              "", f"paper profile, {p['runs']} runs one after another on this device: {p['estimate_h']:.0f} h "
              f"({p['loader_share']:.0%} of it the augmentation)"]
    for key, b in p["by_backbone"].items():
        lines.append(f"  {key:28s} {b['runs']:3d} runs  {b['estimate_s'] / 3600:6.1f} h")
    lines.append(f"one real epoch of {chk['run_id']}: {chk['measured_epoch_s']:.1f} s, estimated "
                 f"{chk['estimated_epoch_s']:.1f} s (x{chk['measured_over_estimated']:.2f})")
    f = res["from_flops"]
    lines.append(f"the FLOP-based estimate for comparison: {f['estimate_gpu_h_a100_h100'][0]:.0f}-"
                 f"{f['estimate_gpu_h_a100_h100'][1]:.0f} A100/H100-hours")
    return "\n".join(lines)


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
    from .backbones import build_model
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


# --- the goals and the printed table ------------------------------------------------------------------------------

def goals(res: dict) -> dict:
    g = {}
    for key in GOAL_BACKBONES:
        e = res["train_step"].get(key)
        if e:
            q = e["ratio_vs_dense"]["masked"]
            thr = GOALS["masked_step_max_ratio"]
            g[f"masked_vs_dense_{key}"] = {"value": q["median"], "goal": f"<= {thr}", "met": q["median"] <= thr,
                                           "p25": q["p25"], "p75": q["p75"], "min_ratio": q["min_ratio"],
                                           "rounds": e["rounds"],
                                           "resolved": not (q["p25"] <= thr <= q["p75"])}
    biggest = max((v for k, v in res["mask"].items() if "paper" not in k), key=lambda v: v["numel"])
    s = biggest["speedup_vs_sort"]
    g["mask_speedup_vs_sort_largest_layer"] = {"value": s, "shape": biggest["shape"],
                                               "goal": f">= {GOALS['mask_min_speedup_vs_sort']}",
                                               "met": s >= GOALS["mask_min_speedup_vs_sort"]}
    fastest = min(res["train_step"].values(), key=lambda e: e["variants"]["masked"]["median"])
    consumed = fastest["batch"] / (fastest["variants"]["masked"]["median"] / 1e3)
    ratio = res["loader"]["ours"]["images_per_s"] / consumed
    g["loader_vs_training"] = {"value": ratio, "training_images_per_s": consumed,
                               "consumer": f"{fastest['backbone']} masked step",
                               "goal": f">= {GOALS['loader_min_ratio']}", "met": ratio >= GOALS["loader_min_ratio"]}
    return g


def table(res: dict) -> str:
    lines = [f"pemn bench on {res['environment']['device_name']} ({res['device']}), torch {torch.__version__}, "
             f"{res['environment']['torch_threads']} thread(s) [{res['environment']['threads_reason']}], "
             f"load average {res['load_average']['start']} -> {res['load_average']['end']}, {res['elapsed_s']:.0f} s",
             "", "training step, batch 128, median ms [paired ratio to dense: median (p25-p75; ratio of fastest steps)]"]
    for key, e in res["train_step"].items():
        parts = []
        for v, s in e["variants"].items():
            r = e["ratio_vs_dense"].get(v)
            parts.append(f"{v} {s['median']:.0f}" + (f" [{r['median']:.2f} ({r['p25']:.2f}-{r['p75']:.2f}; "
                                                     f"min {r['min_ratio']:.2f})]" if r else ""))
        rounds = (f"{e['rounds']} rounds" if e["rounds"] == e.get("rounds_all_variants", e["rounds"]) else
                  f"{e['rounds']} rounds of dense and masked, {e['rounds_all_variants']} of all")
        lines.append(f"  {key:22s} {', '.join(parts)}  ({rounds})")
    lines += ["", "mask alone, largest layer, median us (ours / sort-based official / former topk)"]
    for key, m in res["mask"].items():
        lines.append(f"  {key:30s} {str(tuple(m['shape'])):18s} {m['ours_us']:8.0f} {m['sort_us']:9.0f} "
                     f"{m['topk_former_us']:8.0f}   sort/ours {m['speedup_vs_sort']:.1f}x, "
                     f"topk/ours {m['speedup_vs_topk_former']:.1f}x")
    ld = res["loader"]
    lines += ["", f"loader (batches + Augment, {ld['images']} images): ours {ld['ours']['images_per_s']:.0f} img/s, "
                  f"former {ld['former']['images_per_s']:.0f}, no augmentation {ld['no_augment']['images_per_s']:.0f}"]
    lines.append("evaluation, masked, img/s: " + "; ".join(
        f"{k} " + ", ".join(f"{v} {e[v]['images_per_s']:.0f}" for v in ("inference_mode", "no_grad", "autograd")
                            if v in e) for k, e in res["evaluation"].items()))
    o = res.get("options")
    if o:
        v = o["variants"]
        lines += ["", f"options on {o['case']}, median ms [paired ratio to the default]: " + ", ".join(
            f"{v[k]['label']} {v[k]['median']:.0f} [{o['ratios'][k]['median']:.2f} "
            f"({o['ratios'][k]['p25']:.2f}-{o['ratios'][k]['p75']:.2f}) vs {o['ratios'][k]['vs']}]"
            for k in v if k in o["ratios"])]
    c = res.get("compile")
    if c:
        when = c.get("measured_separately", {}).get("created")
        lines.append(_compile_line(c) + (f" [measured separately, {when}, --compile-only]" if when else ""))
    lines += ["", "goals:"]
    for k, gl in res["goals"].items():
        extra = ""
        if "resolved" in gl:
            extra = (f"  [p25-p75 {gl['p25']:.2f}-{gl['p75']:.2f}, fastest steps {gl['min_ratio']:.2f}, "
                     f"{gl['rounds']} rounds" + ("" if gl["resolved"] else "; the threshold lies within the noise")
                     + "]")
        lines.append(f"  {k:45s} {gl['value']:.2f} (goal {gl['goal']})  {'MET' if gl['met'] else 'NOT MET'}{extra}")
    p = res.get("profiles", {})
    if p:
        lines += ["", "profiles (one run at a time, under this run's load):"]
        for k in ("smoke", "cpu"):
            v = p[k]
            lines.append(f"  {k:5s} {v['estimate_h']:.2f} h estimated for {v['runs']} runs"
                         + (f" ({v['uncontended_estimate_h']:.2f} h scaled to an idle machine)"
                            if "uncontended_estimate_h" in v else "")
                         + f"; measured so far {v['measured']['complete_runs']} runs: "
                         f"{v['measured']['sum_s'] / 3600:.2f} h, estimated {v['measured']['estimate_of_those_s'] / 3600:.2f} h")
        if "paper" in p:
            pp = p["paper"]
            lines.append(f"  paper ESTIMATE from FLOPs: {pp['estimate_gpu_h_v100']:.0f} V100-hours, "
                         f"{pp['estimate_gpu_h_a100_h100'][0]:.0f}-{pp['estimate_gpu_h_a100_h100'][1]:.0f} "
                         f"A100/H100-hours for {pp['runs']} runs")
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------------------------------

def _compile_line(c: dict) -> str:
    if "compiled_ms" in c:
        return (f"torch.compile (masked convmixer): cold compile {c.get('cold_compile_s', float('nan')):.0f} s, "
                f"warm-cache compile {c.get('warm_compile_s', float('nan')):.0f} s, step {c['eager_ms']:.0f} -> "
                f"{c['compiled_ms']:.0f} ms ({c['ratio_compiled_vs_eager']:.2f}x); break-even after "
                f"{c.get('break_even_steps', float('nan')):.0f} steps (warm cache "
                f"{c.get('break_even_steps_warm_cache') or float('nan'):.0f}), a cpu-profile ConvMixer run has "
                f"{c.get('steps_per_cpu_run', 0)}: {c.get('verdict', '')}")
    return f"torch.compile: not finished within {c['limit_s']} s ({c.get('verdict', '')})"


def environment(device) -> dict:
    env = T.environment()
    return {"device_name": env["hardware"]["gpu"] or env["hardware"]["processor"],
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "versions": env["versions"], "git_commit": env["git_commit"], "git_dirty": env["git_dirty"],
            "mkldnn": torch.backends.mkldnn.is_available(),
            "autocast": "bf16" if device.type == "cuda" else "off (float32)"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pemn.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=190.0, help="seconds to spend measuring (default 190)")
    ap.add_argument("--out", default=str(OUT), help=f"JSON output (default {OUT.relative_to(REPO)})")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's, or 1 when the machine is busy; see choose_threads)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--compile-only", action="store_true",
                    help=f"measure torch.compile only, into {COMPILE_OUT.relative_to(REPO)} (a few minutes)")
    ap.add_argument("--compile-limit", type=float, default=480.0, help="seconds allowed to --compile-only")
    ap.add_argument("--compile-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--paper", action="store_true",
                    help=f"time the paper profile's models on a GPU, into {PAPER_OUT.relative_to(REPO)}")
    args = ap.parse_args(argv)
    device = T.pick_device(args.device)
    if args.compile_child:
        if args.threads:
            torch.set_num_threads(args.threads)
        compile_child(device)
        return 0
    threads, why = ((torch.get_num_threads(), "torch default, as training uses") if args.paper else
                    choose_threads(args.threads if device.type == "cpu" else None))
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    alt = default_threads if threads == 1 else 1
    VARIANTS["masked_other_threads"] = dict(strategy="mask", threads=alt, label=f"masked, {alt} thread(s)")
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    command = "python -m pemn.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    head = {"schema": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command.strip(),
            "device": device.type, "environment": environment(device) | {"threads_reason": why},
            "load_average": {"start": _load()}}
    t0 = time.perf_counter()
    if args.compile_only:
        log(f"torch.compile: child process, limit {args.compile_limit:.0f} s, {threads} thread(s), load {_load()}")
        res = head | {"compile": _compile_verdict(bench_compile(device, args.compile_limit, threads))}
        res["load_average"]["end"] = _load()
        res["elapsed_s"] = time.perf_counter() - t0
        _write(res, COMPILE_OUT)
        log(_compile_line(res["compile"]))
        log(f"wrote {COMPILE_OUT}")
        return 0

    budget = args.budget
    if args.paper:
        return main_paper(device, head, budget, log, t0, PAPER_OUT if args.out == str(OUT) else Path(args.out))
    res = head | {"budget_s": budget, "goals_set": GOALS}
    log(f"pemn bench: {device.type}, {threads} thread(s) [{why}], load {_load()}, budget {budget:.0f} s")
    try:
        data = data_mod.load("cifar10", allow_download=False)
        res["data"] = data.source["kind"]
    except data_mod.DataError as e:
        data, res["data"] = None, f"random tensors (CIFAR-10 not found: {str(e).splitlines()[0][:120]})"

    log("mask computation ...")
    res["mask"] = bench_masks(device, budget * SHARES["mask"])
    log("training steps ...")
    res["train_step"] = bench_train_steps(CPU_CASES, device, data, budget * SHARES["train_step"], log=log,
                                          goal_pairs=True)
    log("loader ...")
    res["loader"] = bench_loader(device, data, budget * SHARES["loader"])
    log("evaluation ...")
    res["evaluation"] = bench_eval(CPU_CASES, device, data, budget * SHARES["evaluation"])
    log("options ...")
    case = OPTION_CASE if device.type == "cpu" else Case(OPTION_CASE.backbone, OPTION_CASE.arch, OPTION_CASE.batch,
                                                         tuple(v for v in OPTION_CASE.variants if v != "masked_other_threads"))
    opt = bench_train_steps((case,), device, data, budget * SHARES["options"], log=log)[case.key]
    smp = _samples(opt)
    pairs = {"masked_fused": "masked", "masked_other_threads": "masked", "masked_rp": "masked"}
    res["options"] = {"case": case.key, "variants": opt["variants"], "rounds": opt["rounds"],
                      "load_average": opt["load_average"], "threads": threads,
                      "ratios": {k: paired_ratio(smp, k, b) | {"vs": b} for k, b in pairs.items() if k in smp}}
    log("smoke-size steps ...")
    res["smoke_steps"] = bench_smoke(device, budget * SHARES["smoke"])
    if COMPILE_OUT.is_file() and device.type == "cpu":
        stored = json.loads(COMPILE_OUT.read_text())
        res["compile"] = stored["compile"] | {"measured_separately": {
            k: stored.get(k) for k in ("created", "command", "load_average", "environment")}}
    res["goals"] = goals(res)
    log("profiles ...")
    overhead, n_overhead = run_overhead_s()
    steps = res["train_step"] | res["smoke_steps"]
    loader_ips = res["loader"]["ours"]["images_per_s"]
    res["profiles"] = {p: estimate_profile(p, steps, res["evaluation"], loader_ips, overhead) for p in ("smoke", "cpu")}
    ref = res["train_step"].get("convmixer-w64d6k5p4")
    for p in ("smoke", "cpu"):
        pr = res["profiles"][p]
        pr["conditions"] = f"{threads} thread(s), load average {res['train_step'][CPU_CASES[0].key]['load_average']}"
        if ref and device.type == "cpu":
            # STUDY.md section 5: the ConvMixer-64/6/p4 step took 68 ms on an idle machine with 2 threads
            f = STUDY_IDLE_CONVMIXER_MS / ref["variants"]["dense"]["median"]
            pr["uncontended_estimate_h"] = pr["estimate_h"] * f
            pr["uncontended_note"] = (f"this estimate x {f:.2f} = idle-machine ConvMixer step in STUDY.md "
                                      f"({STUDY_IDLE_CONVMIXER_MS} ms) / the one measured here; approximate: "
                                      "every backbone and the per-run overhead scaled alike")
    res["profiles"]["overhead_runs_used"] = n_overhead
    res["profiles"]["paper"] = estimate_paper()
    res["load_average"]["end"] = _load()
    res["elapsed_s"] = time.perf_counter() - t0
    _write(res, Path(args.out))
    log("")
    log(table(res))
    log(f"\nwrote {args.out}")
    return 0


def main_paper(device, head: dict, budget: float, log, t0: float, out: Path) -> int:
    if device.type != "cuda":
        print("python -m pemn.bench --paper times the paper's models at their batch sizes (ConvMixer-512/8 at "
              "batch 512 among them): a single step takes minutes on a CPU. Run it where CUDA is available.",
              file=sys.stderr)
        return 2
    data = data_mod.load("cifar10", allow_download=False)
    log(f"pemn bench --paper: {head['environment']['device_name']}, budget {budget:.0f} s")
    res = head | {"budget_s": budget, "data": data.source["kind"]} | bench_paper(device, data, budget, log=log)
    res["load_average"]["end"] = _load()
    res["elapsed_s"] = time.perf_counter() - t0
    _write(res, out)
    log("")
    log(paper_table(res))
    log(f"\nwrote {out}")
    return 0


def _write(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def _samples(entry: dict) -> dict:
    return {v: s["samples_ms"] for v, s in entry["variants"].items()}


def _compile_verdict(c: dict) -> dict:
    cpu_run = next(r.config for r in grid("cpu").values() if r.config.backbone == "convmixer")
    steps = cpu_run.epochs * ((cpu_run.subset or 50000) // cpu_run.batch_size)
    c["steps_per_cpu_run"] = steps
    if "compiled_ms" in c and "cold_compile_s" in c:
        saved = (c["eager_ms"] - c["compiled_ms"]) / 1e3
        c["break_even_steps"] = c["cold_compile_s"] / saved if saved > 0 else float("inf")
        warm = c.get("warm_compile_s")
        c["break_even_steps_warm_cache"] = warm / saved if (warm is not None and saved > 0) else None
        c["saved_per_cpu_run_s"] = saved * steps
        worth = c["break_even_steps"] < steps
        c["verdict"] = ("worth it" if worth else "not worth it") + " for one cpu-profile ConvMixer run"
    else:
        c["verdict"] = ("the cold compile alone took longer than the limit, more than a cpu-profile ConvMixer run "
                        "could save") if c.get("timed_out") else "failed"
    return c


if __name__ == "__main__":
    sys.exit(main())
