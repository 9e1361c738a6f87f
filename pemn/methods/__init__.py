"""The study's methods, one module each, in one registry (``base``): dense, the PEMN family, the paper's sparse
baselines, the equal-bytes competitors (ERK sparse, quantised, binary) and PRANC. A new method is one module
here, imported below, plus its grid entries."""
# imported in the registry's order, which is the order of ``TrainConfig``'s list of strategies
from . import dense, pemn_family, paper_sparse, erk, quantized, binary, pranc  # noqa: F401,I001  (they register)
from .base import PLACEMENTS, REGISTRY, Method, get, names, register, short_float, where

__all__ = ["PLACEMENTS", "REGISTRY", "Method", "get", "names", "register", "short_float", "where"]
