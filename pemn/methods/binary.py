"""Binary weights (sign x the layer's mean |w|, BinaryConnect/XNOR style, straight-through gradient) on ERK
magnitude pruning at a PEMN file's bytes; at 1 bit per weight every weight is kept (the dense binary network,
PEMN keep 0.5's direct competitor)."""
from __future__ import annotations

from .. import baselines
from .base import register
from .erk import EqualBytes


class Binary(EqualBytes):
    name = family = "binary"
    title = "binary weights (sign x scale)"
    colour, marker = "#CC79A7", "p"
    every_weight_point = True

    def value_bits(self, cfg) -> int:
        return 1

    def prepare(self, model, cfg) -> None:
        super().prepare(model, cfg)
        baselines.attach_quantizers(model, 1)


register(Binary())
