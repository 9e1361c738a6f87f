"""How a comparison and a verdict read in the book's tables: an interval in points, the tally after Holm. One
place, for every chapter that prints a verdict (the claims, fair-compression and scale chapters)."""
from __future__ import annotations

import math

from .labels import signed
from .stats import Comparison, Verdict


def interval(c: Comparison | None, digits: int = 1) -> str:
    """``[low, high]`` of a comparison's 95 % interval in points, or why it has none."""
    if c is None:
        return ""
    if c.fails:
        return "precondition not met"
    if math.isnan(c.se):
        return "none (a side has one seed)"
    return f"[{signed(c.low, digits)}, {signed(c.high, digits)}]"


def holm_tally(v: Verdict) -> str:
    """How the family came out after Holm: ``k of m hold`` (and how many fail)."""
    if not v.comparisons:
        return ""
    m, k, f = len(v.comparisons), v.held_after_holm, v.failed_after_holm
    return f"{k} of {m} hold" + (f", {f} fail{'s' if f == 1 else ''}" if f else "")
