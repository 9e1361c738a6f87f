"""What a method is: one small interface, and the registry that every other module asks.

A method is the value of ``TrainConfig.strategy``. Everything that varies between methods lives on its
:class:`Method`: its names, label and colour; the config field that places it (a ratio, a compression, a
budget) and that field's validation; how it prepares a model and which parameters train; its per-step hook;
its storage terms; and, for a method with its own file encoding, how it encodes and decodes the file.
Train, storage, export, the file reader, the grids, the report and the bench ask :func:`get`; none of them
branches on a method's name (``tests/test_methods.py`` checks it).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from ..storage import storage_bits

# the config fields that place a method's operating point, and who takes each
PLACEMENTS = {"ratio": "rp", "compression": "baselines", "budget_bits": "the equal-bytes methods"}


def short_float(x: float) -> str:
    """``1e-2`` for 0.01: how ratios appear in run ids and labels."""
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e")


class Method:
    """The defaults of a method; each method module subclasses it and registers one instance per name."""

    name: str = ""
    family: str = ""          # the book's group: "dense", "PEMN", "random pruning", "erk_random", ...
    title: str = ""           # the book's legend entry for the method
    colour: str = "0.5"       # one colour per family, the same in every figure
    marker: str = "o"
    masked: bool = False      # fixed random weights under learned masks (the masked layers)
    placement: str | None = None  # the one field of PLACEMENTS it takes (and needs), if any
    step_kind: str = "dense"  # what its training step costs, for the bench: dense, masked or baseline
    lr: float = 0.01          # the peak learning rate when the config leaves it unset
    encoding: str = "dense"   # the model file's encoding
    weights_term: str = "weights"  # what a file of its own encoding stores as Eq. 10's C_w
    schemes: tuple[str, ...] = ("dense",)  # the storage accountings its record holds
    headline: str = "dense"   # the one a run is plotted under
    reference: bool = False   # the trained dense network every comparison is made against
    paper_baseline: bool = False  # one of the paper's sparse baselines (Sec. 4.3.2)
    equal_bytes: bool = False  # sized to a PEMN file's bytes (``budget_bits``): the fair-compression competitors
    sparsity: str | None = None  # how its per-layer kept counts are set: "uniform" (the paper's rule) or "erk"
    every_weight_point: bool = False  # also run at the budget that keeps every weight (the dense binary network)
    closest_rival: bool = False  # PEMN's closest rival (a seed and trained coefficients): named beside the best one

    # --- names --------------------------------------------------------------------------------------------
    def label(self, cfg: dict) -> str:
        """The method as the book names one run of it: ``RP 1e-2``, ``random pruning 90%``, ``4-bit ERK``."""
        return self.family

    def title_of(self, cfg: dict) -> str:
        """The legend entry of a run of the method (``ERK magnitude, 4-bit values``)."""
        return self.title or self.family

    def variant(self, cfg: dict) -> str:
        """The key that groups a method's runs in the frontier (``quantized4``: one per value width)."""
        return self.name

    def id_part(self, cfg) -> str:
        """The method's part of a run id (``rp1e-2``, ``random_sparse90``, ``quantized4``)."""
        return self.name

    # --- configuration --------------------------------------------------------------------------------------
    def validate(self, cfg) -> None:
        """Raise ValueError for a config this method cannot train; by default it takes its placement alone."""
        for name, holders in PLACEMENTS.items():
            value = getattr(cfg, name)
            if name == self.placement:
                self.check_placement(value)
            elif value is not None:
                raise ValueError(f"{self.name} takes no {name} (got {name}={value!r}); give it only to {holders}: "
                                 + ", ".join(where(placement=name)))

    def check_placement(self, value) -> None:
        raise NotImplementedError

    # --- training -----------------------------------------------------------------------------------------
    def prepare(self, model: nn.Module, cfg) -> None:
        """Make ``model`` (built with masked layers when ``masked``) this method's network before training."""

    def step_hook(self, model: nn.Module, cfg) -> Callable[[int, int], None] | None:
        """A call before each optimiser step ``(step, total_steps)``, or None (magnitude pruning's schedule)."""
        return None

    def value_bits(self, cfg) -> int:
        """Bits per stored weight value."""
        return 32

    # --- storage ------------------------------------------------------------------------------------------
    def headline_scheme(self, cfg) -> str:
        """The accounting a run is plotted under."""
        return self.headline

    def storage_terms(self, model: nn.Module, cfg) -> dict | None:
        """The method's own accounting (``{scheme: terms}``) where ``pemn.storage``'s schemes do not describe it."""
        return None

    def storage_summary(self, model: nn.Module, cfg) -> dict:
        """Every accounting of ``schemes`` for the trained ``model`` (what a run records)."""
        own = self.storage_terms(model, cfg)
        if own is not None:
            return own
        return {s: storage_bits(model, s, value_bits=self.value_bits(cfg)) if s == "coded" else storage_bits(model, s)
                for s in self.schemes}

    # --- file (only a method with its own encoding) ---------------------------------------------------------
    def encode(self, model: nn.Module, cfg, tensors: dict) -> dict | None:
        """Fill ``tensors`` (name -> numpy array) and return the layout, or None for ``pemn.export``'s encodings."""
        return None

    def decode(self, model: nn.Module, cfg, layout: dict, read: Callable) -> None:
        """Load the file's weights into ``model`` (its skeleton); ``read(name, shape)`` gives a checked tensor."""
        raise NotImplementedError(f"{self.name} has no encoding of its own")


REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry under its name (once)."""
    if method.name in REGISTRY:
        raise ValueError(f"method {method.name!r} registered twice")
    REGISTRY[method.name] = method
    return method


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(name: str) -> Method:
    """The method called ``name``; a ValueError listing the valid names otherwise."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def where(**attrs) -> tuple[str, ...]:
    """The names of the methods whose attributes equal ``attrs`` (``where(family="PEMN")``)."""
    return tuple(n for n, m in REGISTRY.items() if all(getattr(m, k) == v for k, v in attrs.items()))
