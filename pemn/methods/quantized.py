"""ERK magnitude pruning with kept values quantised to ``value_bits`` (uniform, symmetric, one float32 scale per
layer; quantisation-aware training through ``torch.fake_quantize_per_tensor_affine``): Deep Compression's recipe
at a PEMN file's bytes."""
from __future__ import annotations

from .. import baselines
from .base import register
from .erk import EqualBytes


class Quantized(EqualBytes):
    name = family = "quantized"
    colour, marker = "#009E73", "D"

    def title_of(self, cfg) -> str:
        return f"ERK magnitude, {cfg.get('value_bits', 4)}-bit values"

    def variant(self, cfg) -> str:
        return f"{self.name}{cfg.get('value_bits', 4)}"

    def id_part(self, cfg) -> str:
        return f"{self.name}{cfg.value_bits}"

    def value_bits(self, cfg) -> int:
        return cfg.value_bits

    def prepare(self, model, cfg) -> None:
        super().prepare(model, cfg)
        baselines.attach_quantizers(model, self.value_bits(cfg))


register(Quantized())
