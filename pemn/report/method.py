"""Chapter 2 (the method): unique random values per strategy and the picture of a plan, from the library alone."""
from __future__ import annotations

import json

import pandas as pd

from . import display
from .labels import arch_label, method_label


UNIQUE_STRATEGIES = (("mask", None), ("one_layer", None), ("mp", None), ("rp", 1e-1), ("rp", 1e-2), ("rp", 1e-3),
                     ("rp", 1e-4), ("rp", 1e-5))


def profile_backbones(profile: str) -> list[tuple[str, dict]]:
    """The distinct (backbone, arch) pairs a profile trains, in figure order."""
    from ..grids import get_profile
    p = get_profile(profile)
    seen, out = set(), []
    for b, a in list(p.fig3) + [("convmixer", a) for a in p.fig5] + [(b, {}) for b, _ in p.fig4]:
        key = (b, json.dumps(a, sort_keys=True))
        if key not in seen:
            seen.add(key)
            out.append((b, dict(a)))
    return out


def unique_values_table(profile: str = "cpu") -> pd.DataFrame:
    """Unique random values per backbone and strategy, from ``pemn.strategies.make_plan`` on the real models."""
    import torch
    from ..backbones import build_model
    from ..strategies import make_plan
    rows = []
    for backbone, arch in profile_backbones(profile):
        with torch.device("meta"):
            model = build_model(backbone, masked=True, **arch)
        plans = {method_label({"strategy": s, "ratio": r}): make_plan(model, s, r) for s, r in UNIQUE_STRATEGIES}
        weights = plans["mask"].unique_values
        row = {"backbone": arch_label(backbone, arch), "masked layers": len(plans["mask"].layers),
               "weights (dense)": weights}
        for label, plan in plans.items():
            row[label] = plan.unique_values
        row["one-layer prototypes"] = len(plans["one-layer"].prototypes)
        rows.append(row)
    return pd.DataFrame(rows).set_index("backbone")


def _layer_kind(shape) -> str:
    if len(shape) == 2:
        return "linear"
    if shape[2:] == (1, 1):
        return "1×1 conv"
    return "depthwise conv" if shape[1] == 1 else "conv"


def show_unique_values(profile: str = "cpu"):
    """The unique-values table with thousands separators (the numbers are ``unique_values_table``'s).

    The dense weight count is the *mask* column (mask stores every weight), shown once to fit the page.
    """
    t = unique_values_table(profile).drop(columns="weights (dense)")
    display.show_table(t.rename(columns={"mask": "mask (all weights)"}).map(lambda v: f"{v:,}"))


def plan_figure(backbone: str = "convmixer", arch: dict | None = None,
                strategies=(("one_layer", None), ("mp", None), ("rp", 0.1))):
    """How the prototypes fill every layer: one row per layer, colour = which stored value a weight reads.

    Built from ``make_plan`` on the real model. Each row is a layer's
    flattened weight (length d_l, drawn to scale on a common axis up to the
    largest layer d_max). Colour encodes the position inside the prototype
    the weight copies: MP's rows are prefixes of one gradient, RP's rows
    repeat a short gradient, one-layer's rows with the same colour family
    share a prototype.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from matplotlib import colormaps
    from ..backbones import build_model
    from ..strategies import make_plan
    arch = arch if arch is not None else {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
    with torch.device("meta"):
        model = build_model(backbone, masked=True, **arch)
    plans = [make_plan(model, s, r) for s, r in strategies]
    layers = plans[0].layers
    d_max = max(lp.numel for lp in layers)
    width = 800
    cmaps = ["Blues", "Oranges", "Greens", "Purples", "Reds", "Greys", "YlOrBr", "BuGn", "RdPu", "PuBu"]
    from . import style
    ncols = min(2, len(plans))
    nrows = -(-len(plans) // ncols)
    fig, grid = style.figure(nrows, ncols, height=nrows * (0.2 * (len(layers) + 2) + 1.2), full=True)
    for extra in grid.flat[len(plans):]:
        fig.delaxes(extra)
    axes = grid.flat[:len(plans)]
    for ax, plan in zip(axes, plans):
        img = np.ones((len(layers) + 2, width, 4))
        pos = (np.arange(width) + 0.5) * d_max / width
        # top row: the stored values (prototype 0 for MP/RP; all prototypes side by side for one-layer)
        if len(plan.prototypes) > 1:  # one-layer: every prototype side by side
            total = sum(p.numel for p in plan.prototypes)
            start = 0
            for k, proto in enumerate(plan.prototypes):
                a, b = int(width * start / total), int(width * (start + proto.numel) / total)
                cm = colormaps[cmaps[k % len(cmaps)]]
                img[0, a:b] = cm(np.linspace(0.35, 0.95, max(b - a, 1)))
                start += proto.numel
        else:
            n = plan.prototypes[0].numel
            cm = colormaps["viridis"]
            img[0] = np.where((pos < n)[:, None], cm(np.clip(pos / n, 0, 1)), 1.0)
        for i, lp in enumerate(plan.layers):
            proto = plan.prototypes[lp.prototype]
            inside = pos < lp.numel
            idx = pos % proto.numel if lp.mode == "tile" else pos
            if len(plan.prototypes) > 1:
                cm = colormaps[cmaps[lp.prototype % len(cmaps)]]
                col = cm(0.35 + 0.6 * np.clip(idx / proto.numel, 0, 1))
            else:
                col = colormaps["viridis"](np.clip(idx / proto.numel, 0, 1))
            img[i + 2] = np.where(inside[:, None], col, 1.0)
        ax.imshow(img, aspect="auto", interpolation="nearest", extent=(0, d_max, len(layers) + 1.5, -0.5))
        ax.set_yticks([0] + [i + 2 for i in range(len(layers))])
        if list(axes).index(ax) % ncols == 0:
            ax.set_yticklabels(["stored values"] + [f"L{i + 1} {_layer_kind(lp.shape)} {'×'.join(map(str, lp.shape))}"
                                                     for i, lp in enumerate(layers)])
        else:
            ax.set_yticklabels([])
        name = method_label({"strategy": plan.strategy, "ratio": strategies[list(axes).index(ax)][1]})
        if len(plan.prototypes) > 1:
            name += f" ({len(plan.prototypes)} prototypes)"
        ax.set_title(f"{name}: {plan.unique_values:,} unique values")
        ax.set_xlabel("position in the flattened weight")
        ax.grid(False)
    return fig


def show_plan_figure(backbone: str = "convmixer", arch: dict | None = None):
    from ..grids import get_profile
    if arch is None:
        arch = dict(get_profile("cpu").fig3[0][1])
    fig = plan_figure(backbone, arch)
    display.show_fig(fig, f"How the stored random values fill the layers of {arch_label(backbone, arch)}, the `cpu` "
                     f"profile's ConvMixer, from `pemn.strategies.make_plan` on the real model (no training involved). "
                     f"Each row is one masked layer's flattened weight, drawn to scale; colour says which stored value "
                     f"a weight copies (light → dark along a prototype); the top row is what is stored (for one-layer, "
                     f"all its prototypes squeezed to the common width). One-layer: one prototype per distinct shape "
                     f"(one colour family each), reused by every later layer of that shape. MP: every layer is a prefix "
                     f"of the largest layer. RP 1e-1: a short vector repeated until each layer is full. The masks "
                     f"(not drawn) are learned separately for every layer.")
