"""Sparse and quantized baselines, built with ``torch.nn.utils.prune`` and ``torch.ao``'s fake quantization.

The paper's (Sec. 4.3.2): ``random_sparse`` (a random mask fixed at initialization) and
``magnitude_sparse`` (gradual magnitude pruning, Zhu & Gupta's cubic schedule), both with the same
kept fraction in every layer, chosen so that the paper's storage accounting reaches a target
compression ratio.

Storage-aware competitors (``FAIR_METHODS``), sized to a budget of bits per conv/linear weight
(``budget_bits``) under the file's real encoding (entropy-coded positions, ``value_bits`` per kept
value, one float32 scale per quantized layer):

- ``erk_random`` / ``erk_magnitude``: float32 values, per-layer density by ERK (Evci et al., RigL
  2020), so that small layers are not starved;
- ``quantized``: ``erk_magnitude`` with kept values quantized to ``value_bits`` (uniform, symmetric,
  one scale per layer; quantization-aware training through ``torch.fake_quantize_per_tensor_affine``);
- ``binary``: ``erk_magnitude`` with each kept value ``sign(w) * a`` (``a`` the layer's mean ``|w|``,
  BinaryConnect/XNOR style, straight-through gradient); dense when the budget pays 1 bit per weight.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import prune

from .codec import coded_mask_bits, packed_code_bits
from .masking import plain_layers

SCALE_BITS = 32  # one float32 scale per quantized layer


def prunable(model: nn.Module) -> list[nn.Module]:
    """The layers sparse training prunes: every ordinary conv and linear layer."""
    return [m for _, m in plain_layers(model)]


def erk_scale(shape) -> float:
    """ERK's per-layer factor (sum of dimensions over their product): larger for small layers."""
    return sum(shape) / math.prod(shape)


def layer_bits(n: int, k: int, value_bits: int) -> int:
    """File bits of one layer keeping ``k`` of ``n`` weights: coded positions, values, and a scale below 32 bits."""
    values = 32 * k if value_bits == 32 else packed_code_bits(k, value_bits) + SCALE_BITS
    return coded_mask_bits(n, k) + values


def densities_for_budget(shapes, budget_bits: float, value_bits: int) -> list[float]:
    """ERK densities whose file bits (entropy-coded positions, values, scales) come to ``budget_bits`` per weight.

    Every layer dense when the budget pays for that; otherwise density ``min(cap, eps * erk_scale)``
    with the largest ``eps`` (bisection) that stays within the budget, ``cap`` where a denser layer
    would cost less (the positions' entropy falls faster than the values grow).
    """
    sizes = [math.prod(s) for s in shapes]
    budget = budget_bits * sum(sizes)
    if sum(layer_bits(n, n, value_bits) for n in sizes) <= budget:
        return [1.0] * len(shapes)
    scales = [erk_scale(s) for s in shapes]
    cap = 2.0 ** value_bits / (2.0 ** value_bits + 1.0)

    def counts(eps):
        return [max(1, round(min(cap, eps * s) * n)) for n, s in zip(sizes, scales)]

    def cost(eps):
        return sum(layer_bits(n, k, value_bits) for n, k in zip(sizes, counts(eps)))

    lo, hi = 0.0, cap / min(scales)
    if cost(lo) > budget:
        raise ValueError(f"a budget of {budget_bits:g} bits per weight cannot keep one weight per layer")
    if cost(hi) <= budget:
        raise ValueError(f"a budget of {budget_bits:g} bits per weight is more than {value_bits}-bit values can use")
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid)
    return [k / n for k, n in zip(counts(lo), sizes)]


def kept_counts(model: nn.Module, densities) -> list[int]:
    """Weights each prunable layer keeps at ``densities`` (at least one)."""
    return [max(1, round(d * m.weight.numel())) for m, d in zip(prunable(model), densities)]  # d = k / n: exact


def prune_random(model: nn.Module, keep) -> None:
    """Random unstructured pruning (global RNG): a fraction kept in every layer, or a count per layer."""
    for i, m in enumerate(prunable(model)):
        amount = 1.0 - keep if isinstance(keep, float) else m.weight.numel() - keep[i]
        prune.random_unstructured(m, "weight", amount=amount)


def start_magnitude(model: nn.Module) -> None:
    """Attach all-ones masks so that later magnitude steps update them in place."""
    for m in prunable(model):
        prune.identity(m, "weight")


def magnitude_step(model: nn.Module, keep) -> None:
    """Prune to ``keep`` by magnitude (a fraction for every layer, or a count per layer); pruned weights stay pruned.

    Masks are updated in place so the optimizer keeps its state.
    """
    for i, m in enumerate(prunable(model)):
        amount = 1.0 - keep if isinstance(keep, float) else m.weight.numel() - keep[i]
        current = m.weight_mask
        # contiguous: torch's L1Unstructured views the tensor flat, which a channels-last weight refuses
        new = prune.L1Unstructured(amount=amount).compute_mask((m.weight_orig.detach() * current).contiguous(),
                                                               default_mask=current)
        current.copy_(new)


PRUNE_EVERY = 10  # steps between gradual magnitude-pruning updates


def magnitude_schedule(model: nn.Module, final):
    """The per-step hook of gradual magnitude pruning towards ``final`` (a fraction, or per-layer (count, size)
    pairs): every ``PRUNE_EVERY`` steps and at the last one."""
    def hook(step: int, total: int) -> None:
        if step % PRUNE_EVERY == 0 or step == total - 1:
            magnitude_step(model, scheduled_keep(step, total, final))
    return hook


def cubic_keep(step: int, total: int, final_keep: float, start: float = 0.0, end: float = 0.6) -> float:
    """Zhu & Gupta (2017): sparsity rises as ``s_f (1 - (1 - t)^3)`` between ``start`` and ``end`` of training."""
    t = min(max((step / max(total, 1) - start) / (end - start), 0.0), 1.0)
    if t == 1.0:
        return final_keep
    return 1.0 - (1.0 - final_keep) * (1.0 - (1.0 - t) ** 3)


def scheduled_keep(step: int, total: int, final):
    """The magnitude schedule at ``step``: a fraction, or per-layer counts following each layer's cubic curve."""
    if isinstance(final, float):
        return final if step >= total - 1 else cubic_keep(step, total, final)
    return [n if step >= total - 1 else round(cubic_keep(step, total, n / size) * size)
            for n, size in final]


# --- sizing a baseline from its TrainConfig --------------------------------------------------

def fair_kept_counts(model: nn.Module, budget_bits: float, value_bits: int) -> list[int]:
    """Per-layer kept counts of a storage-aware baseline: ERK densities that spend ``budget_bits`` per weight."""
    shapes = [tuple(m.weight.shape) for m in prunable(model)]
    return kept_counts(model, densities_for_budget(shapes, budget_bits, value_bits))


def baseline_keep(model: nn.Module, cfg) -> float:
    """Kept fraction that gives the target compression under the paper's accounting (weights only)."""
    from .storage import keep_fraction_for  # storage reads this module's method lists
    return keep_fraction_for(model, cfg.compression, cfg.sparse_scheme, include_other=False)


def kept_fraction(model: nn.Module) -> float:
    masks = [m.weight_mask for m in prunable(model) if hasattr(m, "weight_mask")]
    return float(sum(int(k.sum()) for k in masks) / sum(k.numel() for k in masks))


# --- quantized values ------------------------------------------------------------------------

class _SignTimesScale(torch.autograd.Function):
    """``where(w >= 0, a, -a)`` forward, identity backward (straight-through, BinaryConnect)."""

    @staticmethod
    def forward(ctx, w, scale):
        return torch.where(w >= 0, scale, -scale)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def layer_scale(weight: torch.Tensor, mask: torch.Tensor, bits: int) -> torch.Tensor:
    """The layer's float32 scale: mean |kept w| for binary, max |kept w| / (2^(bits-1) - 1) for uniform."""
    w = (weight.detach() * mask).abs().float()
    if bits == 1:
        s = w.sum() / mask.sum().clamp(min=1)
    else:
        s = w.amax() / (2 ** (bits - 1) - 1)
    return torch.where(s > 0, s, torch.ones_like(s))


def quantize(weight: torch.Tensor, mask: torch.Tensor, bits: int) -> torch.Tensor:
    """The weight a quantized layer computes with (pruned positions zero); gradients pass straight through."""
    scale = layer_scale(weight, mask, bits)
    if bits == 1:
        return _SignTimesScale.apply(weight, scale.to(weight.dtype)) * mask
    q = 2 ** (bits - 1) - 1
    return torch.fake_quantize_per_tensor_affine(weight.float(), float(scale), 0, -q, q).to(weight.dtype) * mask


def codes_of(weight: torch.Tensor, mask: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(unsigned codes of the kept values in row-major order, float32 scale) of a quantized layer."""
    scale = layer_scale(weight, mask, bits)
    keep = mask.bool()
    if bits == 1:
        return (weight.detach()[keep] >= 0).to(torch.uint8), scale
    q = 2 ** (bits - 1) - 1
    wq = quantize(weight.detach(), mask, bits)[keep]
    return (torch.round(wq / scale) + q).to(torch.uint8), scale


def values_from_codes(codes: torch.Tensor, scale: torch.Tensor, bits: int) -> torch.Tensor:
    """Inverse of :func:`codes_of`: the kept values, bit-identical to what the layer computes with."""
    if bits == 1:
        return torch.where(codes.bool(), scale, -scale)
    return (codes.float() - (2 ** (bits - 1) - 1)) * scale


class QuantizeWeight:
    """Forward pre-hook, registered after pruning's: the layer computes with :func:`quantize`."""

    def __init__(self, bits: int):
        self.bits = bits

    def __call__(self, module, inputs):
        module.weight = quantize(module.weight_orig, module.weight_mask, self.bits)


def attach_quantizers(model: nn.Module, bits: int) -> None:
    for m in prunable(model):
        m.register_forward_pre_hook(QuantizeWeight(bits))
        m.pemn_value_bits = bits
