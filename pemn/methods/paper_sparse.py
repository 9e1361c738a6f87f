"""The paper's sparse baselines (Sec. 4.3.2): random pruning fixed at initialisation and gradual magnitude
pruning (Zhu & Gupta's cubic schedule), the same kept fraction in every layer, set by a target compression
under the paper's Eq. 10."""
from __future__ import annotations

from .. import baselines
from .base import Method, register


class PaperSparse(Method):
    placement = "compression"
    step_kind = "baseline"
    encoding = "sparse"
    schemes = ("dense", "csr", "bitmap")
    paper_baseline = True
    sparsity = "uniform"

    def label(self, cfg) -> str:
        return f"{self.family} {round(cfg['compression'] * 100)}%"

    def id_part(self, cfg) -> str:
        return f"{self.name}{round(cfg.compression * 100)}"

    def check_placement(self, value) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"{self.name} needs compression in (0, 1), e.g. 0.9; got {value!r}")

    def headline_scheme(self, cfg) -> str:
        return cfg.sparse_scheme


class RandomSparse(PaperSparse):
    name, family = "random_sparse", "random pruning"
    title = "paper's random sparse"
    colour, marker = "#E69F00", "x"

    def prepare(self, model, cfg) -> None:
        baselines.prune_random(model, baselines.baseline_keep(model, cfg))


class MagnitudeSparse(PaperSparse):
    name, family = "magnitude_sparse", "magnitude pruning"
    title = "paper's magnitude sparse"
    colour, marker = "#D55E00", "+"

    def prepare(self, model, cfg) -> None:
        baselines.start_magnitude(model)

    def step_hook(self, model, cfg):
        return baselines.magnitude_schedule(model, baselines.baseline_keep(model, cfg))


register(RandomSparse())
register(MagnitudeSparse())
