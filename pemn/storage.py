"""Storage accounting (paper Eq. 10: C = C_w + C_m), in bits, plus the other learned parameters.

Every assumption is a named argument. Terms:

- ``weights``: values of the conv/linear weights that must be stored;
- ``masks``: positions of the kept weights (bitmap, or CSR/CSC indices);
- ``masks`` for PEMN: per layer the smaller of a bitmap (1 bit per weight) and the entropy-coded mask
  (:mod:`pemn.codec`; smaller whenever the keep ratio is not 0.5);
- ``other``: every other learned float (normalization affine, biases, ViT
  embeddings) and, by default, BatchNorm running statistics, which inference
  needs; stored as float32.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.nn.utils import parametrize

from .codec import coded_mask_bits, packed_code_bits
from .masking import MASKED_TYPES, WeightSource
from .strategies import has_masked_layers, unique_weight_count

SCHEMES = ("dense", "pemn", "pemn_seed", "csr", "bitmap", "coded")
SPARSE_SCHEMES = ("csr", "bitmap")


@dataclass(frozen=True)
class Counts:
    """How many numbers of each kind a model holds."""
    weights: int   # conv/linear weights (dense count)
    kept: int      # weights kept by masks or pruning (== weights when unpruned)
    other: int     # other stored floats
    unique: int    # distinct random values (== weights for unshared layers)
    scaled_layers: int  # layers with a per-layer rescale factor
    mask_bits: int = 0  # PEMN: per layer min(bitmap, entropy-coded mask); pruned: entropy-coded positions
    layers: tuple = ()  # (weights, kept) per conv/linear layer


def count(model: nn.Module, include_running_stats: bool = True) -> Counts:
    weights = kept = other = scaled = mask_bits = 0
    layers = []
    # a parametrized weight (PRANC's combination) is counted as the weight it gives; its machinery is not stored
    derived = {id(d) for m in model.modules() if isinstance(m, parametrize.ParametrizationList) for d in m.modules()}
    for m in model.modules():
        if id(m) in derived:
            continue
        if isinstance(m, MASKED_TYPES):
            n = m.source.numel
            k = int(m.mask().sum())
            weights += n
            kept += k
            layers.append((n, k))
            mask_bits += min(n, coded_mask_bits(n, k))
            scaled += m.source.scale != 1.0
            if m.bias is not None:
                other += m.bias.numel()
            continue
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            mask = getattr(m, "weight_mask", None)  # torch.nn.utils.prune
            n = m.weight.numel()
            k = int(mask.sum()) if mask is not None else n
            weights += n
            kept += k
            layers.append((n, k))
            mask_bits += coded_mask_bits(n, k)
            if m.bias is not None:
                other += m.bias.numel()
            continue
        if isinstance(m, WeightSource):  # frozen random values, counted as weights above
            continue
        other += sum(p.numel() for p in m.parameters(recurse=False))
        if include_running_stats and isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            other += m.running_mean.numel() + m.running_var.numel()
    return Counts(weights, kept, other, unique_weight_count(model), int(scaled), mask_bits, tuple(layers))


def _check_scheme(scheme):
    if scheme not in SCHEMES:
        raise ValueError(f"unknown storage scheme {scheme!r}; valid: {', '.join(SCHEMES)}")


def bits_from_counts(c: Counts, scheme: str, value_bits: int = 32, index_bits: int = 32, seed_bits: int = 64,
                     masked: bool = True) -> dict:
    """The Eq. 10 terms for ``scheme`` given a model's counts."""
    _check_scheme(scheme)
    if scheme in ("pemn", "pemn_seed") and not masked:
        raise ValueError(f"scheme {scheme!r} needs a masked model; an ordinary model uses 'dense', 'csr' or 'bitmap'")
    if scheme == "dense":
        w, m = value_bits * c.weights, 0
    elif scheme == "pemn":
        w, m = value_bits * (c.unique + c.scaled_layers), c.mask_bits
    elif scheme == "pemn_seed":
        w, m = seed_bits + value_bits * c.scaled_layers, c.mask_bits
    elif scheme == "coded":  # storage-aware baselines: entropy-coded positions, value_bits per kept value, scales
        w = (sum(32 * k for _, k in c.layers) if value_bits == 32
             else sum(packed_code_bits(k, value_bits) + 32 for _, k in c.layers))
        m = c.mask_bits
    elif scheme == "csr":
        w, m = value_bits * c.kept, 2 * index_bits * c.kept
    else:  # bitmap
        w, m = value_bits * c.kept, c.weights
    o = 32 * c.other if scheme == "coded" else value_bits * c.other
    dense_total = (32 if scheme == "coded" else value_bits) * (c.weights + c.other)
    total = w + m + o
    return {"scheme": scheme, "weights": w, "masks": m, "other": o, "total": total,
            "dense_total": dense_total, "compression": 1.0 - total / dense_total,
            # the paper's Eq. 10 counts only conv/linear weights (C_w + C_m), not the other parameters
            "compression_weights_only": 1.0 - (w + m) / ((32 if scheme == "coded" else value_bits) * c.weights)}


def storage_bits(model: nn.Module, scheme: str, *, value_bits: int = 32, index_bits: int = 32, seed_bits: int = 64,
                 include_running_stats: bool = True) -> dict:
    """Storage cost of ``model`` under ``scheme`` in bits: weights, masks, other, total, compression.

    Schemes: ``dense`` (all floats), ``pemn`` (unique random values + 1-bit
    masks), ``pemn_seed`` (a PRNG seed instead of the values), ``csr`` (the
    paper's sparse accounting: kept values + 2 indices per kept weight) and
    ``bitmap`` (kept values + 1 bit per weight); ``coded`` (the storage-aware baselines: entropy-coded
    positions, ``value_bits`` per kept value and, below 32 bits, one float32 scale per layer).
    """
    _check_scheme(scheme)
    return bits_from_counts(count(model, include_running_stats), scheme, value_bits, index_bits, seed_bits,
                            has_masked_layers(model))


def keep_fraction_for(model: nn.Module, target_compression: float, scheme: str = "csr", *, value_bits: int = 32,
                      index_bits: int = 32, include_running_stats: bool = True, include_other: bool = True) -> float:
    """Fraction of conv/linear weights a sparse baseline keeps to reach ``target_compression``.

    Inverts the ``csr`` or ``bitmap`` accounting; raises if no sparsity can
    reach the target (the other parameters alone cost too much). With
    ``include_other=False`` the target is under the paper's Eq. 10, which
    counts only the conv/linear weights.
    """
    if scheme not in SPARSE_SCHEMES:
        raise ValueError(f"baseline scheme must be one of {SPARSE_SCHEMES}, got {scheme!r}")
    if not 0.0 < target_compression < 1.0:
        raise ValueError(f"target compression must be in (0, 1), got {target_compression!r}")
    c = count(model, include_running_stats)
    if not include_other:
        c = Counts(c.weights, c.kept, 0, c.unique, c.scaled_layers)
    budget = (1.0 - target_compression) * value_bits * (c.weights + c.other) - value_bits * c.other
    if scheme == "csr":
        frac = budget / ((value_bits + 2 * index_bits) * c.weights)
    else:
        frac = (budget - c.weights) / (value_bits * c.weights)
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"compression {target_compression:.1%} is out of reach under {scheme!r} for this model "
                         f"(would need keep fraction {frac:.4f})")
    return frac
