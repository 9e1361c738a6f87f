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


NA = "n/a"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def percent(x, digits: int = 1) -> str:
    """The book's one rounding of an accuracy (a fraction) to percent, without the sign: every printed accuracy,
    in tables, captions, figures and glued prose, goes through it, so one mean reads the same everywhere. The
    value is first rounded to 9 decimals, so that binary noise (0.7675 stored as 0.76749999...) cannot round a
    displayed digit differently in two places."""
    return NA if _missing(x) else f"{round(100 * float(x), 9):.{digits}f}"


def pct(x, digits: int = 1) -> str:
    """An accuracy as ``76.8%`` (:func:`percent` and the sign)."""
    return NA if _missing(x) else f"{percent(x, digits)}%"


def signed(x, digits: int = 1, sign: bool = True) -> str:
    """A difference of accuracies in points (``+1.3``), never ``-0.0``: a difference that rounds to zero is ``0.0``
    (``sign=False``: no plus sign, for gaps that are positive by construction)."""
    if _missing(x):
        return NA
    v = round(100 * float(x), 9)
    if round(v, digits) == 0:
        return f"{0.0:.{digits}f}"
    return f"{v:{'+' if sign else ''}.{digits}f}"


def budget_key(train_size, epochs) -> tuple:
    """``(training images, epochs)``: what a run was trained on, a key no mean of the book crosses (``None`` for a
    field its record does not give)."""
    def whole(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
    return whole(train_size), whole(epochs)


def budget_label(key: tuple) -> str:
    """``10k images × 10 epochs`` for a budget key."""
    images, epochs = key
    head = "? images" if images is None else f"{images // 1000}k images" if images % 1000 == 0 else f"{images:,} images"
    return f"{head} × {'?' if epochs is None else epochs} epochs"
