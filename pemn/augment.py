"""The ConvMixer recipe's augmentation on whole batches, on the device that holds the images, per-image random.

``torchvision.transforms.v2`` draws one random parameter per call, so a batch handed to it shares one operation
and one magnitude. Here every image draws its own RandAugment operations and signs, its own ColorJitter factors
and order and its own erasing box; the batch is then grouped by what was drawn and each group is one call of a
``torchvision.transforms.v2.functional`` operation (ColorJitter's blends take a factor per image directly).
All draws come from the run's CPU generator, so the images depend on the seed alone, on the CPU as on CUDA, and
a resumed run draws what an uninterrupted one would; on the device only the pixels are computed.

The recipe is the official code's (``yueb17/PEMN``, after ``locuslab/convmixer-cifar10``): ``RandomResizedCrop``
at scale 1.0 (no crop), horizontal flip, RandAugment(n=2, m=12), ColorJitter(0.2, 0.2, 0.2), then, after
normalisation, ``RandomErasing(p=0.2)`` with a random area and ratio, filled with 0 (the mean colour).
"""
from __future__ import annotations

import math

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

NUM_BINS = 31  # torchvision's RandAugment default: magnitudes index 31 bins
# RandAugment's operations in torchvision's order: (name, top of the magnitude range or None, signed)
OPERATIONS = (("Identity", None, False), ("ShearX", 0.3, True), ("ShearY", 0.3, True),
              ("TranslateX", 150.0 / 331.0, True), ("TranslateY", 150.0 / 331.0, True), ("Rotate", 30.0, True),
              ("Brightness", 0.9, True), ("Color", 0.9, True), ("Contrast", 0.9, True), ("Sharpness", 0.9, True),
              ("Posterize", None, False), ("Solarize", None, False), ("AutoContrast", None, False),
              ("Equalize", None, False))
NEAREST = InterpolationMode.NEAREST


def operation_magnitude(index: int, magnitude: int, size: int) -> float:
    """The unsigned magnitude of operation ``index`` at bin ``magnitude``, as torchvision's RandAugment computes it."""
    name, top, _ = OPERATIONS[index]
    if name == "Posterize":
        return float(int((8 - (torch.arange(NUM_BINS) / ((NUM_BINS - 1) / 4))).round().int()[magnitude]))
    if name == "Solarize":
        return float(torch.linspace(1.0, 0.0, NUM_BINS)[magnitude])
    if top is None:
        return 0.0
    return float(torch.linspace(0.0, top * (size if name.startswith("Translate") else 1), NUM_BINS)[magnitude])


def apply_operation(x: torch.Tensor, index: int, value: float) -> torch.Tensor:
    """RandAugment's operation ``index`` with signed magnitude ``value`` on a uint8 batch (one v2 call)."""
    name = OPERATIONS[index][0]
    if name == "Identity":
        return x
    if name in ("ShearX", "ShearY"):
        shear = math.degrees(math.atan(value))
        return F.affine(x, angle=0.0, translate=[0, 0], scale=1.0, interpolation=NEAREST, center=[0, 0],
                        shear=[shear, 0.0] if name == "ShearX" else [0.0, shear])
    if name in ("TranslateX", "TranslateY"):
        shift = [int(value), 0] if name == "TranslateX" else [0, int(value)]
        return F.affine(x, angle=0.0, translate=shift, scale=1.0, interpolation=NEAREST, shear=[0.0, 0.0])
    if name == "Rotate":
        return F.rotate(x, angle=value, interpolation=NEAREST)
    adjust = {"Brightness": F.adjust_brightness, "Color": F.adjust_saturation, "Contrast": F.adjust_contrast,
              "Sharpness": F.adjust_sharpness}
    if name in adjust:
        return adjust[name](x, 1.0 + value)
    if name == "Posterize":
        return F.posterize(x, bits=int(value))
    if name == "Solarize":
        return F.solarize(x, threshold=255.0 * value)
    return F.autocontrast(x) if name == "AutoContrast" else F.equalize(x)


def _groups(keys: torch.Tensor, count: int, device):
    """(key, indices on ``device``) for each key in ``range(count)`` that occurs in the CPU tensor ``keys``."""
    order = torch.argsort(keys, stable=True)
    start = 0
    for key, n in enumerate(torch.bincount(keys, minlength=count).tolist()):
        if n:
            yield key, order[start:start + n].to(device, non_blocking=True)
        start += n


def rand_augment(x: torch.Tensor, gen: torch.Generator, num_ops: int = 2, magnitude: int = 12) -> torch.Tensor:
    """RandAugment on uint8 images ``x`` (N, C, H, W), each image with its own operations and signs."""
    n, size = len(x), x.shape[-1]
    for _ in range(num_ops):
        op = torch.randint(len(OPERATIONS), (n,), generator=gen)
        negative = torch.rand(n, generator=gen) <= 0.5  # torchvision flips a signed magnitude when rand <= 0.5
        out = x.clone()
        for key, idx in _groups(op * 2 + negative, 2 * len(OPERATIONS), x.device):
            index, sign = key // 2, -1.0 if key % 2 and OPERATIONS[key // 2][2] else 1.0
            if OPERATIONS[index][0] != "Identity":
                out.index_copy_(0, idx, apply_operation(x.index_select(0, idx), index,
                                                        sign * operation_magnitude(index, magnitude, size)))
        x = out
    return x


def _blend(x: torch.Tensor, other, factor: torch.Tensor) -> torch.Tensor:
    """``factor * x + (1 - factor) * other`` per image, clamped and truncated to uint8 as torchvision's blend does."""
    return (x * factor + other * (1.0 - factor)).clamp_(0, 255).to(torch.uint8)


def _brightness(x, f):
    return _blend(x, 0.0, f)


def _contrast(x, f):
    return _blend(x, F.rgb_to_grayscale(x).float().mean(dim=(-3, -2, -1), keepdim=True), f)


def _saturation(x, f):
    return _blend(x, F.rgb_to_grayscale(x).float(), f)


JITTERS = (_brightness, _contrast, _saturation)  # ColorJitter's order of functions (hue 0 is skipped)


def color_jitter(x: torch.Tensor, gen: torch.Generator, strength: float = 0.2) -> torch.Tensor:
    """ColorJitter(strength, strength, strength) on uint8 images: per image three factors and their order."""
    n = len(x)
    factors = 1.0 + strength * (2 * torch.rand(n, len(JITTERS), generator=gen) - 1)
    order = torch.argsort(torch.rand(n, len(JITTERS), generator=gen), dim=1)
    factors = factors.to(x.device, non_blocking=True)
    for position in range(len(JITTERS)):
        out = x.clone()
        for fn, idx in _groups(order[:, position].contiguous(), len(JITTERS), x.device):
            f = factors.index_select(0, idx)[:, fn].view(-1, 1, 1, 1)
            out.index_copy_(0, idx, JITTERS[fn](x.index_select(0, idx), f))
        x = out
    return x


def erase_boxes(n: int, h: int, w: int, gen: torch.Generator, p: float, scale=(0.02, 0.33), ratio=(0.3, 3.3),
                attempts: int = 10) -> torch.Tensor:
    """Boolean (n, h, w) boxes of torchvision's ``RandomErasing`` rule, drawn per image; empty where not erased.

    Each image tries ``attempts`` (area, aspect) draws and keeps the first box that fits, as torchvision does.
    """
    area = h * w * (scale[0] + (scale[1] - scale[0]) * torch.rand(n, attempts, generator=gen, dtype=torch.float64))
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(lo + (hi - lo) * torch.rand(n, attempts, generator=gen, dtype=torch.float64))
    bh, bw = (area * aspect).sqrt().round().long(), (area / aspect).sqrt().round().long()
    fits = (bh < h) & (bw < w)
    first = torch.where(fits.any(1), fits.int().argmax(1), 0)
    pick = lambda t: t.gather(1, first[:, None]).squeeze(1)  # noqa: E731
    bh, bw = pick(bh), pick(bw)
    top = (torch.rand(n, generator=gen, dtype=torch.float64) * (h - bh + 1)).long()
    left = (torch.rand(n, generator=gen, dtype=torch.float64) * (w - bw + 1)).long()
    chosen = (torch.rand(n, generator=gen) < p) & fits.any(1)
    rows, cols = torch.arange(h), torch.arange(w)
    inside_r = (rows[None] >= top[:, None]) & (rows[None] < (top + bh)[:, None])
    inside_c = (cols[None] >= left[:, None]) & (cols[None] < (left + bw)[:, None])
    return inside_r[:, :, None] & inside_c[:, None, :] & chosen[:, None, None]


class ConvMixerRecipe:
    """The official ConvMixer training augmentation on batches (see the module's docstring).

    Called on uint8 images, it returns float images (0-255) for ``pemn.data.batches`` to normalise;
    ``after_normalize`` then erases, filling with 0, the mean colour.
    """

    def __init__(self, num_ops: int = 2, magnitude: int = 12, jitter: float = 0.2, erase_prob: float = 0.2):
        self.num_ops, self.magnitude, self.jitter, self.erase_prob = num_ops, magnitude, jitter, erase_prob

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        flip = (torch.rand(len(x), generator=gen) < 0.5).to(x.device, non_blocking=True)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        x = rand_augment(x, gen, self.num_ops, self.magnitude)
        return color_jitter(x, gen, self.jitter).float()

    def after_normalize(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        boxes = erase_boxes(len(x), x.shape[-2], x.shape[-1], gen, self.erase_prob).to(x.device, non_blocking=True)
        return x.masked_fill(boxes[:, None], 0.0)
