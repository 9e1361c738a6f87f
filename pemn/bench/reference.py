"""Implementations the library no longer uses, kept here only as what the benchmark compares against.

The official code's sort-based mask, the library's former ``torch.topk`` mask, its former augmentation
(also the bit-for-bit reference of ``pemn.data.Augment`` in the tests) and evaluation loops under other
autograd contexts.
"""
from __future__ import annotations

import types

import torch
import torch.nn.functional as F

from .. import data as data_mod
from .. import train as T
from ..masking import kept_count, masked_layers


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


def eval_with(ctx_factory):
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
