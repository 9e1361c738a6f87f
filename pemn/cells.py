"""Experiment cells: the grid as data.

A cell is one model trained under one budget and recipe by several methods at several seeds: (figure, backbone,
arch, dataset, settings, points, seeds). A profile's grid is the runs of its cells, in order (``pemn.grids``); a
new axis of the study is a few more cells, and nothing else is edited. A point places one method: its ratio or
compression, its keep ratio, an equal-bytes competitor's file size (``at_bytes_of``), a peak rate of its own.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterator, Mapping

from .train import TrainConfig

SEED_BITS = 64  # a PEMN file stores the seed of its random values (pemn.storage's pemn_seed)
ALL_WEIGHTS = "all weights"  # at_bytes_of: the binary network that keeps every weight (the dense binary network)


@dataclass(frozen=True)
class Point:
    """One method of a cell. ``at_bytes_of``: an equal-bytes method's size, the file bytes of PEMN RP 1e-2 at this
    keep ratio (or ``ALL_WEIGHTS``: 1 bit and a per-layer scale for every weight)."""
    strategy: str
    ratio: float | None = None
    compression: float | None = None
    keep_ratio: float = 0.5
    at_bytes_of: float | str | None = None
    lr: float | None = None


def points(*pairs) -> tuple[Point, ...]:
    """Points from ``(strategy, ratio)`` pairs, as the module constants list methods."""
    return tuple(Point(s, r) for s, r in pairs)


@dataclass(frozen=True)
class Cell:
    """One experiment: ``points`` x ``seeds`` runs of ``backbone``/``arch`` on ``dataset``, with ``settings`` (any
    TrainConfig fields: subset, epochs, recipe, ...) over the profile's. ``tag`` names the budget or recipe in the
    run id, before the seed (``n50ke20``), where another cell trains the same model otherwise."""
    figure: str
    backbone: str
    arch: Mapping = field(default_factory=dict)
    points: tuple[Point, ...] = ()
    seeds: tuple[int, ...] = (0,)
    dataset: str = "cifar10"
    settings: Mapping = field(default_factory=dict)
    tag: str | None = None


@lru_cache(maxsize=None)
def budget_for_keep(backbone: str, arch_json: str, keep: float) -> float:
    """Mask bits per conv/linear weight of a PEMN file at ``keep`` (entropy-coded below 0.5): the competitors' budget."""
    from .storage import count
    from .train import make_model
    cfg = TrainConfig(backbone=backbone, arch=json.loads(arch_json), strategy="mask", keep_ratio=keep)
    c = count(make_model(cfg, 10))
    return round((c.mask_bits + SEED_BITS) / c.weights, 4)


@lru_cache(maxsize=None)
def dense_binary_budget(backbone: str, arch_json: str) -> float:
    """Bits per weight of a binary network that keeps every weight (1 bit each + one float32 scale per layer)."""
    from .baselines import layer_bits, prunable
    from .train import make_model
    model = make_model(TrainConfig(backbone=backbone, arch=json.loads(arch_json), strategy="dense"), 10)
    sizes = [m.weight.numel() for m in prunable(model)]
    return math.ceil(sum(layer_bits(n, n, 1) for n in sizes) / sum(sizes) * 1e4) / 1e4


def bytes_budget(backbone: str, arch: Mapping, at_bytes_of: float | str) -> float:
    """The ``budget_bits`` of an equal-bytes point of a model."""
    arch_json = json.dumps(dict(arch), sort_keys=True)
    if at_bytes_of == ALL_WEIGHTS:
        return dense_binary_budget(backbone, arch_json)
    return budget_for_keep(backbone, arch_json, at_bytes_of)


def cell_configs(cell: Cell, defaults: Callable[[str], dict]) -> Iterator[TrainConfig]:
    """The configs of a cell, seed by seed, point by point; ``defaults(backbone)`` gives the profile's fields."""
    for seed in cell.seeds:
        for pt in cell.points:
            extra = dict(cell.settings)
            if pt.lr is not None:
                extra["lr"] = pt.lr
            if pt.keep_ratio != 0.5:
                extra["keep_ratio"] = pt.keep_ratio
            if pt.at_bytes_of is not None:
                extra["budget_bits"] = bytes_budget(cell.backbone, cell.arch, pt.at_bytes_of)
            fields = {**defaults(cell.backbone), **extra}
            yield TrainConfig(backbone=cell.backbone, arch=dict(cell.arch), dataset=cell.dataset,
                              strategy=pt.strategy, ratio=pt.ratio, compression=pt.compression, seed=seed, **fields)
