"""PRANC (Nooralinejad et al., ICCV 2023, code UCDvision/PRANC), PEMN's closest rival: every conv/linear weight
is a combination of k seeded random networks, and only the k coefficients train; a file is the seed, the
coefficients and the normalisation floats. The mechanics are ``pemn.pranc``; here the method sizes k to a PEMN
file's bytes (``budget_bits``, like every equal-bytes competitor)."""
from __future__ import annotations

import numpy as np
import torch

from .. import pranc as mechanics
from ..storage import count, storage_bits
from .base import register
from .erk import EqualBytes


class Pranc(EqualBytes):
    name = family = "pranc"
    title = "PRANC (seed + k coefficients)"
    colour, marker = "#8C6D00", "P"
    step_kind = "pranc"
    closest_rival = True
    lr = 1e-3  # the authors' Adam rate for ResNet20; the study keeps its own optimiser and schedule (AdamW)
    encoding = "pranc"
    weights_term = "coefficients (seed in header)"
    schemes = ("dense", "pranc")
    headline = "pranc"
    sparsity = None

    def coefficients(self, model, cfg) -> int:
        return mechanics.coefficients_for_budget(model, cfg.budget_bits)

    def prepare(self, model, cfg) -> None:
        mechanics.attach(model, self.coefficients(model, cfg), seed=cfg.seed)

    def step_hook(self, model, cfg):
        return None

    def storage_terms(self, model, cfg) -> dict:
        """Eq. 10's terms for a PRANC file: the seed and k float32 coefficients as C_w, no masks, the other
        floats as everywhere."""
        dense = storage_bits(model, "dense")
        k = mechanics.coefficients(model).numel()
        c = count(model)
        w, o = mechanics.SEED_BITS + 32 * k, 32 * c.other
        total = w + o
        pranc = {"scheme": "pranc", "weights": w, "masks": 0, "other": o, "total": total,
                 "dense_total": dense["total"], "compression": 1.0 - total / dense["total"],
                 "compression_weights_only": 1.0 - w / (32 * c.weights), "coefficients": k}
        return {"dense": dense, "pranc": pranc}

    def encode(self, model, cfg, tensors: dict) -> dict:
        alpha = mechanics.coefficients(model)
        tensors["weight.coefficients"] = alpha.detach().cpu().numpy().astype(np.float32)
        return {"coefficients": int(alpha.numel())}

    def decode(self, model, cfg, layout: dict, read) -> None:
        k = int(layout["coefficients"])
        mechanics.attach(model, k, seed=cfg.seed, alpha=torch.from_numpy(read("weight.coefficients", (k,)).copy()))


register(Pranc())
