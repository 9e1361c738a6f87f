"""pemn: Parameter-Efficient Masking Networks (Bai et al., NeurIPS 2022), reproduced."""
__version__ = "0.1.0"

from .backbones import BACKBONES, Layers, build_model
from .masking import MaskedConv2d, MaskedLinear, kept_count, masked_layers, topk_mask
from .storage import SCHEMES, keep_fraction_for, storage_bits
from .strategies import STRATEGIES, Plan, apply_strategy, make_plan, unique_weight_count

__all__ = ["BACKBONES", "Layers", "build_model", "MaskedConv2d", "MaskedLinear", "kept_count", "masked_layers",
           "topk_mask", "SCHEMES", "keep_fraction_for", "storage_bits", "STRATEGIES", "Plan", "apply_strategy",
           "make_plan", "unique_weight_count"]
