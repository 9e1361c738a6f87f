"""ERK sparse networks sized to a PEMN file's bytes (``budget_bits``): float32 values, per-layer densities by
ERK (Evci et al., RigL 2020), positions entropy-coded; random (fixed at initialisation) or magnitude-pruned."""
from __future__ import annotations

from .. import baselines
from .base import Method, register


class EqualBytes(Method):
    """A competitor sized to a budget of bits per conv/linear weight, stored with coded positions."""
    placement = "budget_bits"
    step_kind = "masked"  # the bench estimates these runs at the masked step
    encoding = "coded"
    schemes = ("dense", "csr", "bitmap", "coded")
    headline = "coded"
    equal_bytes = True
    sparsity = "erk"

    def check_placement(self, value) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 32:
            raise ValueError(f"{self.name} needs budget_bits in (0, 32) bits per weight, e.g. 1.0; got {value!r}")

    def kept_counts(self, model, cfg) -> list[int]:
        return baselines.fair_kept_counts(model, cfg.budget_bits, self.value_bits(cfg))

    def prepare(self, model, cfg) -> None:
        baselines.start_magnitude(model)

    def step_hook(self, model, cfg):
        sizes = [m.weight.numel() for m in baselines.prunable(model)]
        return baselines.magnitude_schedule(model, list(zip(self.kept_counts(model, cfg), sizes)))


class ErkRandom(EqualBytes):
    name = family = "erk_random"
    title = "ERK random sparse (float32)"
    colour, marker = "#999999", "v"

    def prepare(self, model, cfg) -> None:
        baselines.prune_random(model, self.kept_counts(model, cfg))

    def step_hook(self, model, cfg):
        return None


class ErkMagnitude(EqualBytes):
    name = family = "erk_magnitude"
    title = "ERK magnitude sparse (float32)"
    colour, marker = "#56B4E9", "d"


register(ErkRandom())
register(ErkMagnitude())
