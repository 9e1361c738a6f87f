"""Sparse-training baselines (paper Sec. 4.3.2) with ``torch.nn.utils.prune``.

``random``: a random mask fixed at initialization. ``magnitude``: gradual
magnitude pruning (Zhu & Gupta's cubic schedule) from dense to the target
during training. Both prune every conv/linear weight, with the same kept
fraction in each layer, chosen so that the storage accounting reaches the
target compression ratio.
"""
from __future__ import annotations

from torch import nn
from torch.nn.utils import prune

from .masking import plain_layers

BASELINES = ("random_sparse", "magnitude_sparse")


def prunable(model: nn.Module) -> list[nn.Module]:
    """The layers sparse training prunes: every ordinary conv and linear layer."""
    return [m for _, m in plain_layers(model)]


def prune_random(model: nn.Module, keep_fraction: float) -> None:
    """Random unstructured pruning of every layer to ``keep_fraction`` (uses the global RNG)."""
    for m in prunable(model):
        prune.random_unstructured(m, "weight", amount=1.0 - keep_fraction)


def start_magnitude(model: nn.Module) -> None:
    """Attach all-ones masks so that later magnitude steps update them in place."""
    for m in prunable(model):
        prune.identity(m, "weight")


def magnitude_step(model: nn.Module, keep_fraction: float) -> None:
    """Prune each layer to ``keep_fraction`` by magnitude; pruned weights stay pruned.

    Masks are updated in place so the optimizer keeps its state.
    """
    method = prune.L1Unstructured(amount=1.0 - keep_fraction)
    for m in prunable(model):
        current = m.weight_mask
        # contiguous: torch's L1Unstructured views the tensor flat, which a channels-last weight refuses
        new = method.compute_mask((m.weight_orig.detach() * current).contiguous(), default_mask=current)
        current.copy_(new)


def cubic_keep(step: int, total: int, final_keep: float, start: float = 0.0, end: float = 0.6) -> float:
    """Zhu & Gupta (2017): sparsity rises as ``s_f (1 - (1 - t)^3)`` between ``start`` and ``end`` of training."""
    t = min(max((step / max(total, 1) - start) / (end - start), 0.0), 1.0)
    if t == 1.0:
        return final_keep
    return 1.0 - (1.0 - final_keep) * (1.0 - (1.0 - t) ** 3)


def kept_fraction(model: nn.Module) -> float:
    masks = [m.weight_mask for m in prunable(model) if hasattr(m, "weight_mask")]
    return float(sum(int(k.sum()) for k in masks) / sum(k.numel() for k in masks))
