"""PEMN strategies: how the fixed random values are laid out across layers.

Each strategy is a pure function from the ordered layer shapes to a ``Plan``:
the prototypes (how many random values, drawn at which Kaiming scale) and, per
layer, which prototype it reads and how (its first values, or the prototype
tiled). ``apply_strategy`` turns a plan into real shared tensors in a model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .masking import MASKED_TYPES, WeightSource, fan_in_std, masked_layers, plain_layers

STRATEGIES = ("dense", "mask", "one_layer", "mp", "rp")


@dataclass(frozen=True)
class Prototype:
    """A block of random values: ``numel`` values drawn as for a layer of ``init_shape``.

    ``draw`` values are generated and the first ``numel`` kept, so RP's vector
    is exactly the first values of the largest layer (as in the official code).
    """
    numel: int
    init_shape: tuple[int, ...]

    @property
    def draw(self) -> int:
        return math.prod(self.init_shape)


@dataclass(frozen=True)
class LayerPlan:
    name: str
    shape: tuple[int, ...]
    prototype: int
    mode: str  # "slice": first numel values; "tile": prototype repeated

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Plan:
    strategy: str
    prototypes: tuple[Prototype, ...]
    layers: tuple[LayerPlan, ...]

    @property
    def unique_values(self) -> int:
        return sum(p.numel for p in self.prototypes)


def _check_shapes(shapes):
    shapes = [(str(n), tuple(int(d) for d in s)) for n, s in shapes]
    if not shapes:
        raise ValueError("the model has no masked conv/linear layers (build it with masked=True or pemn.Masked* layers)")
    return shapes


def plan_mask(shapes) -> Plan:
    """Every layer its own random values (edge-popup)."""
    shapes = _check_shapes(shapes)
    protos = tuple(Prototype(math.prod(s), s) for _, s in shapes)
    return Plan("mask", protos, tuple(LayerPlan(n, s, i, "slice") for i, (n, s) in enumerate(shapes)))


def plan_one_layer(shapes, kinds=None, share=("conv", "linear")) -> Plan:
    """Alg. 1: the first layer of each distinct shape is a prototype, later ones reuse it.

    ``kinds`` gives each layer's kind ("conv" or "linear"); only kinds in
    ``share`` are shared (the official code shares convs only).
    """
    shapes = _check_shapes(shapes)
    kinds = kinds or ["conv" if len(s) == 4 else "linear" for _, s in shapes]
    protos, layers, first_of_shape = [], [], {}
    for (name, shape), kind in zip(shapes, kinds):
        if kind in share and shape in first_of_shape:
            idx = first_of_shape[shape]
        else:
            idx = len(protos)
            protos.append(Prototype(math.prod(shape), shape))
            if kind in share:
                first_of_shape[shape] = idx
        layers.append(LayerPlan(name, shape, idx, "slice"))
    return Plan("one_layer", tuple(protos), tuple(layers))


def _largest(shapes):
    return max(shapes, key=lambda ns: math.prod(ns[1]))[1]  # first largest on ties


def plan_mp(shapes) -> Plan:
    """Alg. 2: the largest layer is the prototype; layer l takes its first d_l values."""
    shapes = _check_shapes(shapes)
    big = _largest(shapes)
    return Plan("mp", (Prototype(math.prod(big), big),), tuple(LayerPlan(n, s, 0, "slice") for n, s in shapes))


def rp_length(d_max: int, ratio: float) -> int:
    """Length of RP's random vector: ``int(ratio * d_max) + 1`` (official code)."""
    return int(ratio * d_max) + 1


def plan_rp(shapes, ratio: float) -> Plan:
    """Alg. 3: a vector of ``int(ratio * d_max) + 1`` values, tiled into every layer."""
    shapes = _check_shapes(shapes)
    ratio = check_ratio(ratio)
    big = _largest(shapes)
    d_v = min(rp_length(math.prod(big), ratio), math.prod(big))
    return Plan("rp", (Prototype(d_v, big),), tuple(LayerPlan(n, s, 0, "tile") for n, s in shapes))


def check_ratio(ratio) -> float:
    if ratio is None or isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 < float(ratio) <= 1.0:
        raise ValueError(f"rp needs a ratio in (0, 1] (unique values relative to MP), got {ratio!r}")
    return float(ratio)


def check_strategy(name: str, ratio=None) -> None:
    """Validate a strategy name and its ratio before any work is done."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")
    if name == "rp":
        check_ratio(ratio)
    elif ratio is not None:
        raise ValueError(f"strategy {name!r} takes no ratio (only 'rp' does), got ratio={ratio!r}")


def make_plan(model_or_shapes, name: str, ratio=None, share=("conv", "linear")) -> Plan:
    """The plan of strategy ``name`` for a model (or an ordered list of (name, shape))."""
    check_strategy(name, ratio)
    if name == "dense":
        raise ValueError("strategy 'dense' has no plan: it trains ordinary layers (build_model(masked=False))")
    if isinstance(model_or_shapes, nn.Module):
        layers = masked_layers(model_or_shapes)
        shapes = [(n, tuple(m.source.shape)) for n, m in layers]
        kinds = ["conv" if len(s) == 4 else "linear" for _, s in shapes]
    else:
        shapes, kinds = list(model_or_shapes), None
    if name == "mask":
        return plan_mask(shapes)
    if name == "one_layer":
        return plan_one_layer(shapes, kinds, share)
    if name == "mp":
        return plan_mp(shapes)
    return plan_rp(shapes, ratio)


def prototype_values(plan: Plan, seed: int) -> list[torch.Tensor]:
    """The prototypes' random values, regenerated exactly from ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    return [(torch.randn(p.draw, generator=gen) * fan_in_std(p.init_shape))[:p.numel].clone() for p in plan.prototypes]


def apply_strategy(model: nn.Module, name: str, ratio=None, seed: int = 0, rescale: bool = False,
                   share=("conv", "linear")) -> nn.Module:
    """Fill ``model``'s masked layers with the random values of strategy ``name``.

    The prototypes are frozen parameters shared by reference, so each random
    value is stored once. ``rescale`` multiplies each layer by the ratio of its
    own Kaiming scale to the prototype's (one float per layer; off as in the
    paper). Returns the model (modified in place).
    """
    check_strategy(name, ratio)
    if name == "dense":
        if masked_layers(model):
            raise ValueError("strategy 'dense' needs ordinary layers: build the model with masked=False")
        return model
    plan = make_plan(model, name, ratio, share)
    layers = dict(masked_layers(model))
    ref = next(iter(layers.values())).scores
    protos = [nn.Parameter(v.to(device=ref.device, dtype=ref.dtype), requires_grad=False)
              for v in prototype_values(plan, seed)]
    for lp in plan.layers:
        proto = plan.prototypes[lp.prototype]
        scale = fan_in_std(lp.shape) / fan_in_std(proto.init_shape) if rescale else 1.0
        layers[lp.name].source = WeightSource(protos[lp.prototype], torch.Size(lp.shape), lp.mode, scale)
    model.pemn_strategy = {"name": name, "ratio": ratio, "seed": int(seed), "rescale": bool(rescale),
                           "share": list(share)}
    return model


def unique_weight_count(model: nn.Module) -> int:
    """Distinct random values stored for the conv/linear weights.

    Masked layers count each shared prototype once; ordinary layers count
    every weight.
    """
    protos = {id(m.source.values): m.source.values.numel() for _, m in masked_layers(model)}
    return sum(protos.values()) + sum(m.weight.numel() for _, m in plain_layers(model))


def has_masked_layers(model: nn.Module) -> bool:
    """Whether the model holds masked layers (a PEMN model), as opposed to a strategy test (``train.is_masked``)."""
    return any(isinstance(m, MASKED_TYPES) for m in model.modules())
