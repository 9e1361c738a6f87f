"""Names of methods, backbones and data sets as the book writes them, and the strategy orders."""
from __future__ import annotations

import math

from .. import methods


# Order of the strategies on the x axis of Fig. 3 (left to right: fewer unique values).
FIG3_ORDER = ("dense", "mask", "one-layer", "MP", "RP 1e-1", "RP 1e-2", "RP 1e-3", "RP 1e-4", "RP 1e-5")

SPARSE_ORDER = FIG3_ORDER[1:]

STABLE_SET = ("one-layer", "MP", "RP 1e-1", "RP 1e-2", "RP 1e-3")

EXTREME_SET = ("RP 1e-4", "RP 1e-5")

# the paper's sparse baselines' families, and the methods of PEMN, as the registry defines them
PAPER_BASELINES = tuple(methods.get(n).family for n in methods.where(paper_baseline=True))

PEMN_METHODS = methods.where(family="PEMN")

REFERENCE = next(m.label({}) for m in methods.REGISTRY.values() if m.reference)  # "dense", as the book labels it

MASK = methods.get("mask").label({})  # the paper's first claim is about masks over independent random weights

# The four storage accountings of the compression figures: (column, title). "paper" is Eq. 10 as the paper
# computes it (conv/linear weights only; sparse positions as CSR, 2 indices per kept weight); the others change
# one assumption each: a 1-bit-per-weight bitmap for the positions, and/or counting every stored parameter.
# PEMN's masks are bitmaps in every accounting.
ACCOUNTINGS = {
    "paper": ("c_paper", "Eq. 10, weights only, CSR (paper)"),
    "wo_bitmap": ("c_wo_bitmap", "weights only, bitmap"),
    "all_csr": ("c_all_csr", "all parameters, CSR"),
    "all_bitmap": ("c_all_bitmap", "all parameters, bitmap"),
}

ACCOUNT_COLUMNS = tuple(col for col, _ in ACCOUNTINGS.values())

ACCOUNTING_SHORT = ("paper", "bitmap", "paper, all params", "bitmap, all params")


def method_label(cfg: dict) -> str:
    """Readable method name: dense, mask, one-layer, MP, RP 1e-2, random pruning 90%, ..."""
    return methods.get(cfg["strategy"]).label(cfg)


def method_family(strategy: str) -> str:
    return methods.get(strategy).family


def full_arch(backbone: str, arch: dict) -> dict:
    from ..backbones import arch_options
    return {**arch_options(backbone), **(arch or {})}


def arch_label(backbone: str, arch: dict | None = None) -> str:
    """``ConvMixer-64/6 (k5, p4)``, ``ViT-64/6 (p4, 4 heads)``, ``ResNet32``."""
    a = full_arch(backbone, arch or {})
    if backbone == "convmixer":
        return f"ConvMixer-{a['dim']}/{a['depth']} (k{a['kernel_size']}, p{a['patch_size']})"
    if backbone == "vit":
        return f"ViT-{a['dim']}/{a['depth']} (p{a['patch_size']}, {a['heads']} heads)"
    return {"resnet32": "ResNet32", "resnet56": "ResNet56"}.get(backbone, backbone)


def dataset_label(name: str) -> str:
    return {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}.get(name, name)


def pct(x, digits=1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"
