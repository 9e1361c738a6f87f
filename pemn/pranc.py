"""PRANC (Nooralinejad et al., ICCV 2023): every conv/linear weight is a linear combination of k random networks.

Basis network ``i`` is the network's own default initialisation (PyTorch's ``kaiming_uniform_(a=sqrt(5))`` for
conv and linear weights: uniform within +-1/sqrt(fan_in)) drawn from a seed; the weights are
``sum_i alpha_i * basis_i`` with ``alpha_0 = 1`` and the other coefficients 0 at the start, so training starts
from an ordinary initialisation. Only the k coefficients train (with the normalisation layers and biases, stored
as float32 beside them); a file holds the seed, the coefficients and those floats.

How ours differs from the authors' code (UCDvision/PRANC): each layer's slice of basis network ``i`` has its own
seeded generator (seed, i, layer), so that any slice can be regenerated alone; and the basis is held in memory
only up to ``BASIS_MEMORY_BYTES``, beyond which every step regenerates it chunk by chunk (their code keeps the
whole k x P basis on the GPU).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from .masking import plain_layers

BASIS_MEMORY_BYTES = 4 * 2**30  # the whole basis (k x P float32) is kept in memory up to this size
CHUNK = 256                     # basis networks regenerated at a time past that size
SEED_BITS = 64


def fan_in(shape) -> int:
    return math.prod(shape[1:]) if len(shape) > 1 else shape[0]


def basis_slice(shape, seed: int, layer: int, start: int, stop: int) -> torch.Tensor:
    """Layer ``layer``'s weights in basis networks ``start`` to ``stop - 1``: ``(stop - start, numel)``, each row
    a default initialisation drawn from its own generator."""
    bound = 1.0 / math.sqrt(fan_in(shape))
    n = math.prod(shape)
    out = torch.empty(stop - start, n)
    for row, i in enumerate(range(start, stop)):
        g = torch.Generator().manual_seed(((seed * 1_000_003 + i) * 1_009 + layer) % 2**63)
        out[row].uniform_(-bound, bound, generator=g)
    return out


class _Regenerated(torch.autograd.Function):
    """``alpha @ basis`` for a basis too large to keep: regenerated in chunks forward and backward."""

    @staticmethod
    def forward(ctx, alpha, weight):
        ctx.weight = weight
        ctx.save_for_backward(alpha)
        out = torch.zeros(weight.numel, dtype=alpha.dtype, device=alpha.device)
        for start, chunk in weight.chunks(alpha.device):
            out += alpha[start:start + len(chunk)] @ chunk
        return out

    @staticmethod
    def backward(ctx, grad):
        (alpha,) = ctx.saved_tensors
        g = torch.empty_like(alpha)
        for start, chunk in ctx.weight.chunks(alpha.device):
            g[start:start + len(chunk)] = chunk @ grad
        return g, None


class CombinedWeight(nn.Module):
    """The parametrization of one layer's weight: ``alpha @ basis`` (the coefficients are shared by all layers)."""

    def __init__(self, alpha: nn.Parameter, shape, seed: int, layer: int, keep_basis: bool):
        super().__init__()
        self.alpha = alpha
        self.shape, self.seed, self.layer = torch.Size(shape), seed, layer
        self.numel = math.prod(shape)
        basis = basis_slice(shape, seed, layer, 0, alpha.numel()) if keep_basis else None
        self.register_buffer("basis", basis, persistent=False)  # regenerated from the seed, never stored

    def chunks(self, device):
        k = self.alpha.numel()
        for start in range(0, k, CHUNK):
            yield start, basis_slice(self.shape, self.seed, self.layer, start, min(k, start + CHUNK)).to(device)

    def forward(self, original: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha.to(original.dtype)
        flat = alpha @ self.basis if self.basis is not None else _Regenerated.apply(alpha, self)
        return flat.view(self.shape)


def basis_bytes(model: nn.Module, k: int) -> int:
    return 4 * k * sum(m.weight.numel() for _, m in plain_layers(model))


def attach(model: nn.Module, k: int, seed: int, alpha: torch.Tensor | None = None) -> nn.Parameter:
    """Make every conv/linear weight of ``model`` the combination of ``k`` basis networks; returns the shared
    coefficients (``alpha``, or 1, 0, 0, ... for a new model). The original weights no longer train."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"PRANC needs a positive number of coefficients, got {k!r}")
    start = torch.zeros(k)
    start[0] = 1.0
    coefficients = nn.Parameter(start if alpha is None else alpha.detach().clone().float())
    keep = basis_bytes(model, k) <= BASIS_MEMORY_BYTES
    for index, (_, layer) in enumerate(plain_layers(model)):
        layer.weight.requires_grad_(False)
        parametrize.register_parametrization(
            layer, "weight", CombinedWeight(coefficients, layer.weight.shape, seed, index, keep), unsafe=True)
    return coefficients


def coefficients(model: nn.Module) -> nn.Parameter | None:
    """The shared coefficients of a PRANC model, or None for any other model."""
    return next((m.alpha for m in model.modules() if isinstance(m, CombinedWeight)), None)


def coefficients_for_budget(model: nn.Module, budget_bits: float) -> int:
    """How many float32 coefficients (with the 64-bit seed) a budget of ``budget_bits`` per conv/linear weight
    pays for: the equal-bytes point against a PEMN file."""
    weights = sum(m.weight.numel() for _, m in plain_layers(model))
    return max(1, int((budget_bits * weights - SEED_BITS) // 32))
