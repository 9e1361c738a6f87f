"""Backbones for 32x32 images: CIFAR ResNets, ConvMixer and a small ViT.

Every backbone takes a ``Layers`` builder that decides the conv/linear types,
so the same code builds the dense model and the masked one.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from .masking import MaskedConv2d, MaskedLinear, check_keep_ratio


@dataclass(frozen=True)
class Layers:
    """Which conv and linear layer types a backbone uses."""
    masked: bool = False
    keep_ratio: float = 0.5

    def conv(self, *args, **kwargs) -> nn.Module:
        if self.masked:
            return MaskedConv2d(*args, keep_ratio=self.keep_ratio, **kwargs)
        return nn.Conv2d(*args, **kwargs)

    def linear(self, *args, **kwargs) -> nn.Module:
        if self.masked:
            return MaskedLinear(*args, keep_ratio=self.keep_ratio, **kwargs)
        return nn.Linear(*args, **kwargs)


# --- CIFAR ResNet (He et al. 2016, Sec. 4.2; option A shortcuts) -------------

class BasicBlock(nn.Module):
    def __init__(self, layers: Layers, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = layers.conv(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = layers.conv(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.pad = stride, c_out - c_in

    def shortcut(self, x):
        """Parameter-free shortcut: subsample and zero-pad channels (option A)."""
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, layers: Layers, blocks_per_stage: int, num_classes: int = 10, widths=(16, 32, 64)):
        super().__init__()
        self.conv1 = layers.conv(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, c_in = [], widths[0]
        for i, w in enumerate(widths):
            for b in range(blocks_per_stage):
                stages.append(BasicBlock(layers, c_in, w, 2 if (i > 0 and b == 0) else 1))
                c_in = w
        self.blocks = nn.Sequential(*stages)
        self.fc = layers.linear(c_in, num_classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet(layers: Layers, depth: int = 32, num_classes: int = 10) -> CifarResNet:
    if (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, ...), got {depth}")
    return CifarResNet(layers, (depth - 2) // 6, num_classes)


# --- ConvMixer (Trockman & Kolter 2022, as in the official PEMN code) ---------

class Residual(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def convmixer(layers: Layers, dim: int = 256, depth: int = 8, kernel_size: int = 5, patch_size: int = 2,
              num_classes: int = 10) -> nn.Sequential:
    def act_bn():
        return [nn.GELU(), nn.BatchNorm2d(dim)]
    return nn.Sequential(
        layers.conv(3, dim, patch_size, stride=patch_size, bias=False), *act_bn(),
        *[nn.Sequential(
            Residual(nn.Sequential(layers.conv(dim, dim, kernel_size, groups=dim, padding="same", bias=False), *act_bn())),
            layers.conv(dim, dim, 1, bias=False), *act_bn())
          for _ in range(depth)],
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), layers.linear(dim, num_classes, bias=False))


# --- ViT for 32x32 inputs (pre-norm; attention built from our linear layers) --

class Attention(nn.Module):
    def __init__(self, layers: Layers, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = (layers.linear(dim, dim) for _ in range(3))
        self.proj = layers.linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = (f(x).view(b, n, self.heads, d // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, layers: Layers, dim: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(layers, dim, heads)
        self.mlp = nn.Sequential(layers.linear(dim, dim * mlp_ratio), nn.GELU(), layers.linear(dim * mlp_ratio, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, layers: Layers, dim=256, depth=6, heads=8, mlp_ratio=2, patch_size=4, num_classes=10,
                 image_size=32):
        super().__init__()
        if dim % heads:
            raise ValueError(f"vit dim ({dim}) must be divisible by heads ({heads})")
        if image_size % patch_size:
            raise ValueError(f"vit patch_size ({patch_size}) must divide the image size ({image_size})")
        self.patch_size = patch_size
        self.embed = layers.linear(3 * patch_size * patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, (image_size // patch_size) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(layers, dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = layers.linear(dim, num_classes)

    def forward(self, x):
        p = self.patch_size
        patches = F.unfold(x, p, stride=p).transpose(1, 2)  # (B, tokens, 3*p*p)
        x = self.embed(patches)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


BACKBONES = {
    "resnet32": partial(resnet, depth=32),
    "resnet56": partial(resnet, depth=56),
    "convmixer": convmixer,
    "vit": ViT,
}


def arch_options(name: str) -> dict:
    """The architecture keywords a backbone accepts, with their defaults."""
    sig = inspect.signature(BACKBONES[name])
    return {k: p.default for k, p in sig.parameters.items()
            if k not in ("layers", "num_classes", "depth") or (k == "depth" and name in ("convmixer", "vit"))}


def check_backbone(name: str, arch: dict | None = None) -> None:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")
    unknown = set(arch or {}) - set(arch_options(name))
    if unknown:
        raise ValueError(f"{name} got unknown architecture option(s) {sorted(unknown)}; valid: {sorted(arch_options(name))}")


def build_model(name: str, num_classes: int = 10, masked: bool = False, keep_ratio: float = 0.5, **arch) -> nn.Module:
    """Build backbone ``name`` with ordinary (``masked=False``) or masked conv/linear layers."""
    check_backbone(name, arch)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer > 1, got {num_classes!r}")
    layers = Layers(masked=masked, keep_ratio=check_keep_ratio(keep_ratio))
    return BACKBONES[name](layers, num_classes=num_classes, **arch)
