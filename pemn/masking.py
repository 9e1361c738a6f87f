"""Masked layers: fixed random weights, learnable scores, top-k binary masks.

A masked layer never updates its weight. It learns a score per weight and
uses ``weight * mask(|score|)`` where the mask keeps the top ``keep_ratio``
fraction of the layer (edge-popup). The weight comes from a ``WeightSource``,
which may share one prototype tensor with many other layers: that is how the
PEMN strategies (one-layer, MP, RP) store few unique values.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def check_keep_ratio(keep_ratio: float) -> float:
    """Reject keep ratios outside (0, 1] with a message that says why."""
    if isinstance(keep_ratio, bool) or not isinstance(keep_ratio, (int, float)) or not 0.0 < float(keep_ratio) <= 1.0:
        raise ValueError(f"keep_ratio must be a number in (0, 1] (fraction of weights kept), got {keep_ratio!r}")
    return float(keep_ratio)


def kept_count(numel: int, keep_ratio: float) -> int:
    """Number of weights a layer keeps: the official rule ``n - int((1 - k) * n)``."""
    return numel - int((1.0 - keep_ratio) * numel)


def _kth_smallest(flat: torch.Tensor, j: int) -> torch.Tensor:
    """The ``j``-th smallest value (1-based) of a 1-D tensor.

    On the CPU NumPy's introselect (``np.partition`` on a copy) is used: measured
    by ``make bench`` it is several times faster than ``torch.topk`` or
    ``torch.kthvalue``, which select (value, index) pairs. On CUDA a sort: there
    ``torch.kthvalue`` works on one slice in one thread block, measured on an H100
    at 2.8 ms for the 786,432 scores of ViT-512's largest layer against 0.1 ms for
    the sort (and 0.7 ms against 0.07 ms at 262,144). Elsewhere (``torch.compile``
    on the CPU, other devices) ``torch.kthvalue``. All three give the same value.
    """
    if (flat.device.type == "cpu" and flat.dtype in (torch.float32, torch.float64)
            and not torch.compiler.is_compiling()):
        return torch.as_tensor(np.partition(flat.numpy(), j - 1)[j - 1])
    if flat.device.type == "cuda":
        return _kth_by_sort(flat, j)
    return flat.kthvalue(j).values


def _kth_by_sort(flat: torch.Tensor, j: int) -> torch.Tensor:
    return flat.sort().values[j - 1]


def topk_mask(scores: torch.Tensor, keep_ratio: float) -> torch.Tensor:
    """Boolean mask keeping the ``kept_count`` largest ``|scores|``.

    No sort: the threshold is the ``j = n - kept_count``-th smallest ``|score|``
    (a selection, ``_kth_smallest``), the mask is ``|score| > threshold``, and
    when values tie at the threshold the lowest flat indices among them are kept
    until the count is exact. The mask is a function of the scores alone (same
    scores, same mask, on any device). A sort, as in the official code, gives the
    same set whenever the kept values and the dropped ones do not tie.
    """
    flat = scores.detach().abs().flatten()
    n = flat.numel()
    k = kept_count(n, keep_ratio)
    if k == n:
        return torch.ones_like(scores, dtype=torch.bool)
    threshold = _kth_smallest(flat, n - k)
    mask = flat > threshold
    if flat.device.type == "cpu" and not torch.compiler.is_compiling():
        short = k - int(mask.sum())
        if short:  # ties at the threshold (or NaN scores): fill in index order, exactly
            tied = (flat == threshold).nonzero().flatten()
            if len(tied) < short:  # NaN scores: fall back to topk, which ranks NaN highest
                mask = torch.zeros_like(mask)
                mask[torch.topk(flat, k, sorted=False).indices] = True
            else:
                mask[tied[:short]] = True
    else:  # the same rule without a host synchronisation
        tied = flat == threshold
        mask |= tied & (tied.cumsum(0) <= k - mask.sum())
    return mask.view_as(scores)


class _StraightThroughMask(torch.autograd.Function):
    """Forward: the binary top-k mask of its input. Backward: identity to that input.

    The input is ``|scores|`` as a differentiable op (edge-popup and the official code's ``scores.abs()``),
    so the scores get ``grad * sign(score)``: a step that favours keeping a weight grows ``|score|`` whatever
    its sign. Handing the raw scores to this function instead would push every negative score the wrong way.
    """

    @staticmethod
    def forward(ctx, scores, keep_ratio_or_mask):
        """``keep_ratio_or_mask``: the keep ratio, or the mask itself when ``BatchedMasks`` made it already."""
        mask = keep_ratio_or_mask
        if not isinstance(mask, torch.Tensor):
            mask = topk_mask(scores, keep_ratio_or_mask)
        return mask.to(scores.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class WeightSource(nn.Module):
    """Where a layer's fixed weight comes from.

    ``values`` is a frozen ``nn.Parameter`` that may be the very same object in
    many sources (a parameter, unlike a buffer, stays shared through ``.to()``
    and ``deepcopy``). ``mode`` says how the layer reads it: ``"slice"`` takes
    the first ``numel`` values (independent layers, one-layer, MP), ``"tile"``
    repeats the vector until ``numel`` is reached (RP). ``scale`` is the
    optional per-layer rescaling of the scale caveat (1.0 by default).
    """

    def __init__(self, values: nn.Parameter, shape: torch.Size, mode: str = "slice", scale: float = 1.0):
        super().__init__()
        if mode not in ("slice", "tile"):
            raise ValueError(f"unknown source mode {mode!r}; valid: 'slice', 'tile'")
        self.values = values
        self.shape = torch.Size(shape)
        self.mode = mode
        self.scale = float(scale)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def forward(self) -> torch.Tensor:
        n, v = self.numel, self.values
        if self.mode == "slice":
            w = v[:n]
        else:
            w = v.repeat(-(-n // v.numel()))[:n]
        w = w.view(self.shape)
        if self.scale != 1.0:
            w = w * self.scale
        return w

    def extra_repr(self) -> str:
        return f"mode={self.mode}, shape={tuple(self.shape)}, prototype={self.values.numel()}, scale={self.scale:g}"


def fan_in_std(shape) -> float:
    """Kaiming-normal standard deviation (fan_in, ReLU gain) of a weight of ``shape``."""
    return math.sqrt(2.0 / (math.prod(shape[1:]) if len(shape) > 1 else shape[0]))


def kaiming_normal_values(shape: torch.Size, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flat Kaiming-normal values (fan_in, ReLU gain) for a weight of ``shape``."""
    return torch.randn(math.prod(shape), generator=generator) * fan_in_std(shape)


class _MaskedMixin:
    """Shared state and behaviour of the masked layers."""

    def _init_masked(self, weight_shape, keep_ratio, device, dtype):
        self.keep_ratio = check_keep_ratio(keep_ratio)
        values = nn.Parameter(kaiming_normal_values(torch.Size(weight_shape)).to(device=device, dtype=dtype or torch.float32),
                              requires_grad=False)
        self.source = WeightSource(values, weight_shape)
        self.scores = nn.Parameter(torch.empty(weight_shape, device=device, dtype=dtype))
        nn.init.kaiming_uniform_(self.scores, a=math.sqrt(5))
        # A stored mask (e.g. loaded from a pemn.export file) that replaces the top-k of the scores.
        self.register_buffer("fixed_mask", None, persistent=False)

    @property
    def weight(self) -> torch.Tensor:
        """The fixed random weight (before masking)."""
        return self.source()

    def mask(self) -> torch.Tensor:
        """The current boolean mask (top ``keep_ratio`` of ``|scores|``, or the fixed mask when one is set)."""
        fixed = getattr(self, "fixed_mask", None)
        if fixed is not None:
            return fixed
        return topk_mask(self.scores, self.keep_ratio)

    def fix_mask(self, mask: torch.Tensor | None = None) -> None:
        """Freeze the mask to ``mask`` (bool, the weight's shape), or to the current top-k when ``mask`` is None.

        The scores are then no longer used (nor trained): forward and ``mask()`` use the stored mask.
        """
        mask = topk_mask(self.scores, self.keep_ratio) if mask is None else mask
        if tuple(mask.shape) != tuple(self.source.shape):
            raise ValueError(f"fixed mask of shape {tuple(mask.shape)} does not fit weight {tuple(self.source.shape)}")
        self.fixed_mask = mask.detach().to(device=self.scores.device, dtype=torch.bool).clone()

    def masked_weight(self) -> torch.Tensor:
        fixed = getattr(self, "fixed_mask", None)
        if fixed is not None:
            return self.weight * fixed.to(self.scores.dtype)
        batched = self.__dict__.get("batched_mask")  # set by BatchedMasks for the forward pass under way
        return self.weight * _StraightThroughMask.apply(self.scores.abs(),
                                                        self.keep_ratio if batched is None else batched)


class MaskedLinear(_MaskedMixin, nn.Module):
    """``nn.Linear`` with a fixed random weight and a learned top-k mask."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None, *, keep_ratio=0.5):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_masked(torch.Size((out_features, in_features)), keep_ratio, device, dtype)
        self.bias = nn.Parameter(torch.zeros(out_features, device=device, dtype=dtype)) if bias else None

    def forward(self, x):
        return F.linear(x, self.masked_weight(), self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, keep_ratio={self.keep_ratio}"


class MaskedConv2d(_MaskedMixin, nn.Module):
    """``nn.Conv2d`` (zero padding) with a fixed random weight and a learned top-k mask."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, *, keep_ratio=0.5):
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f"MaskedConv2d supports padding_mode='zeros' only, got {padding_mode!r}")
        pair = nn.modules.utils._pair
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = pair(kernel_size), pair(stride), pair(dilation)
        self.padding = padding if isinstance(padding, str) else pair(padding)
        self.groups = groups
        shape = torch.Size((out_channels, in_channels // groups, *self.kernel_size))
        self._init_masked(shape, keep_ratio, device, dtype)
        self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype)) if bias else None

    def forward(self, x):
        w = self.masked_weight()
        if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
            # channels-last input: give the convolution a channels-last weight too (as a converted nn.Conv2d has);
            # a contiguous one makes the CPU convolution reorder it on every call (measured by ``make bench``)
            w = w.contiguous(memory_format=torch.channels_last)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}, keep_ratio={self.keep_ratio}")


MASKED_TYPES = (MaskedLinear, MaskedConv2d)


def masked_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The masked layers of ``model`` in definition order, with their names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, MASKED_TYPES)]


def plain_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ordinary (trained, or pruned) conv and linear layers of ``model`` in definition order, with their names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


class BatchedMasks:
    """Every masked layer's top-k mask in one batched computation per forward pass of ``model``.

    A GPU step of a masked model is bound by kernel launches, and each layer's own threshold costs several.
    Here all ``|scores|`` are sorted at once, as int64 keys ``(layer << 32) | float bits`` (non-negative floats
    order as their bit patterns, so the sort is exact and stays within each layer), and the threshold, the
    comparison and the tie rule of ``topk_mask`` are applied to all layers together, without a host
    synchronisation: the same masks, bit for bit. Installed as forward hooks on ``model``; a layer with a fixed
    mask keeps it. ``remove()`` uninstalls it.
    """

    def __init__(self, model: nn.Module):
        self.layers = [m for _, m in masked_layers(model)]
        self._meta = None
        self._hooks = [model.register_forward_pre_hook(lambda mod, args: self._set()),
                       model.register_forward_hook(lambda mod, args, out: self._clear())]

    def remove(self) -> None:
        self._clear()
        for h in self._hooks:
            h.remove()

    def _clear(self) -> None:
        for m in self.layers:
            m.__dict__.pop("batched_mask", None)

    def _layout(self, layers, device):
        """Per-element layer index and per-layer offsets, made once for a set of layers and a device."""
        key = (tuple(id(m) for m in layers), device)
        if self._meta is None or self._meta[0] != key:
            sizes = [m.scores.numel() for m in layers]
            keep = [kept_count(n, m.keep_ratio) for n, m in zip(sizes, layers)]
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            as_t = lambda v: torch.as_tensor(np.asarray(v, dtype=np.int64), device=device)  # noqa: E731
            self._meta = (key, sizes, torch.repeat_interleave(torch.arange(len(sizes), device=device), as_t(sizes)),
                          as_t(keep), as_t(starts + np.maximum(np.asarray(sizes) - keep - 1, 0)),
                          as_t(np.asarray(keep) == np.asarray(sizes)), as_t(starts))
        return self._meta[1:]

    def masks(self, layers=None) -> list[torch.Tensor]:
        """The boolean masks of ``layers`` (default: this model's), equal to ``topk_mask`` of each."""
        layers = self.layers if layers is None else layers
        flat = torch.cat([m.scores.detach().abs().flatten().float() for m in layers])
        sizes, layer_of, keep, kth_at, keep_all, starts = self._layout(layers, flat.device)
        keys = (layer_of << 32) | flat.view(torch.int32).to(torch.int64)
        ordered = (keys.sort().values & 0xFFFFFFFF).to(torch.int32).view(torch.float32)
        threshold = ordered[kth_at][layer_of]
        above = flat > threshold
        tied = flat == threshold
        short = keep - torch.zeros(len(sizes), dtype=torch.int64, device=flat.device).index_add_(
            0, layer_of, above.to(torch.int64))
        tied_rank = tied.cumsum(0)
        before = torch.where(starts > 0, tied_rank[(starts - 1).clamp(min=0)], 0)  # ties in earlier layers
        mask = above | (tied & (tied_rank - before[layer_of] <= short[layer_of])) | keep_all[layer_of].bool()
        return [part.view_as(m.scores) for part, m in zip(mask.split(sizes), layers)]

    def _set(self) -> None:
        live = [m for m in self.layers if getattr(m, "fixed_mask", None) is None]
        if live:
            for m, mask in zip(live, self.masks(live)):
                m.__dict__["batched_mask"] = mask
