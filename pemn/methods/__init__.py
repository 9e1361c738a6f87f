"""The study's methods, one module each, in one registry (``base``): dense, the PEMN family, the paper's sparse
baselines, the equal-bytes competitors (ERK sparse, quantised, binary) and PRANC. A new method is one module
here, imported below, plus its grid entries."""
from . import binary, dense, erk, paper_sparse, pemn_family, pranc, quantized  # noqa: F401  (they register)
from .base import PLACEMENTS, REGISTRY, Method, get, names, register, short_float, where

__all__ = ["PLACEMENTS", "REGISTRY", "Method", "get", "names", "register", "short_float", "where"]
