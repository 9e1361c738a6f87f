"""What is measured: backbone cases at a batch size, the variants of each, built and stepped as training does."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import data as data_mod
from .. import train as T
from ..grids import grid, run_id
from ..masking import BatchedMasks, masked_layers
from .reference import use_sort_mask


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
    "pranc": dict(strategy="pranc", budget_bits=1.002, label="PRANC at PEMN keep 0.5's bytes (1.002 bits/weight)"),
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
    # the width axis of the cpu profile (ConvMixer depth 6 at widths 32, 128, 256; 64 is CM6)
    *(Case("convmixer", {**CM6, "dim": w}, 128, ("dense", "masked"), 0.4) for w in (32, 128, 256)),
    # the scale axis's other models: patch 2, and the paper's recipe at its batch of 512
    Case("convmixer", {**CM6, "patch_size": 2}, 128, ("dense", "masked"), 0.4),
    Case("convmixer", CM6, 512, ("dense", "masked"), 0.3),
)

# PRANC against dense, timed apart (``bench_pranc``): on ResNet32 its basis is past the memory budget and every step
# regenerates it, a step long enough to starve the other variants of the training-step section
PRANC_CASES = (Case("convmixer", CM6, 128, ("dense", "pranc")), Case("resnet32", {}, 128, ("dense", "pranc")))

OPTION_CASE = Case("convmixer", CM6, 128, ("masked", "masked_fused", "masked_other_threads", "masked_rp"))

SMOKE_CASES = (
    Case("convmixer", dict(dim=16, depth=2, kernel_size=3, patch_size=4), 64, ("dense", "masked", "baseline")),
    Case("vit", dict(dim=16, depth=1, heads=2, mlp_ratio=2, patch_size=8), 64, ("dense", "masked")),
    Case("resnet32", {}, 64, ("dense", "masked", "baseline")),
)

PAPER_CHECK = ("convmixer", dict(dim=256, depth=8, kernel_size=5, patch_size=2))


def case_config(case: Case, spec: dict) -> T.TrainConfig:
    return T.TrainConfig(backbone=case.backbone, arch=dict(case.arch), strategy=spec["strategy"],
                         ratio=spec.get("ratio"), compression=spec.get("compression"),
                         budget_bits=spec.get("budget_bits"), batch_size=case.batch)


def case_layout(case: Case, spec: dict):
    return torch.contiguous_format if spec.get("layout") == "nchw" else T.memory_format_for(case.backbone)


def build(case: Case, variant: str, device):
    """(model, optimizer, memory format) of one variant, built as ``train`` builds it."""
    spec = VARIANTS[variant]
    cfg = case_config(case, spec)
    torch.manual_seed(0)
    fmt = case_layout(case, spec)
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


def largest_layer_shape(case: Case) -> tuple:
    model = T.make_model(case_config(case, VARIANTS["masked"]), 10)
    return max((tuple(m.source.shape) for _, m in masked_layers(model)), key=math.prod)


def paper_cases(profile: str = "paper") -> tuple[Case, ...]:
    """One case per model of ``grid(profile)`` at its batch size: dense, masked and the sparse baseline."""
    cases = {}
    for run in grid(profile).values():
        c = run.config
        case = Case(c.backbone, c.arch, c.batch_size, ("dense", "masked", "baseline"))
        cases.setdefault(case.key, case)
    return tuple(cases.values())
