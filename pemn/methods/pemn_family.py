"""PEMN (Bai et al. 2022): fixed random weights, shared by a strategy, under learned masks (mask, one-layer, MP,
RP); the layouts themselves are ``pemn.strategies``' plans."""
from __future__ import annotations

from ..strategies import apply_strategy, check_ratio
from .base import Method, register, short_float


class Pemn(Method):
    family = "PEMN"
    colour, marker = "#0072B2", "*"
    masked = True
    step_kind = "masked"
    lr = 0.05  # masks' scores need a larger rate than weights
    encoding = "pemn"
    schemes = ("dense", "pemn", "pemn_seed")
    headline = "pemn"

    def __init__(self, name: str, label: str, placement: str | None = None):
        self.name, self._label, self.placement = name, label, placement

    def label(self, cfg) -> str:
        ratio = cfg.get(self.placement) if self.placement else None
        return f"{self._label} {short_float(ratio)}" if ratio is not None else self._label

    def title_of(self, cfg) -> str:
        return f"PEMN ({self.label({'ratio': 1e-2, **cfg})})" if self.placement else f"PEMN ({self.label(cfg)})"

    def id_part(self, cfg) -> str:
        return self.name + (short_float(cfg.ratio) if self.placement else "")

    def check_placement(self, value) -> None:
        check_ratio(value)

    def prepare(self, model, cfg) -> None:
        apply_strategy(model, self.name, cfg.ratio, seed=cfg.seed, rescale=cfg.rescale)


for _name, _label, _placement in (("mask", "mask", None), ("one_layer", "one-layer", None), ("mp", "MP", None),
                                  ("rp", "RP", "ratio")):
    register(Pemn(_name, _label, _placement))
