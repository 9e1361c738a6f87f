"""The one statistical rule of the claims engine (pure): a contrast of seed means, its Welch t interval, Holm.

A comparison is a *contrast* ``Σ cᵢ·meanᵢ − threshold`` of independent seed means (``a − b``, ``a − 0.85 b``, a
difference of two gaps, a least-squares slope). Each mean keeps its own seeds' sample variance (ddof = 1), so
``SE² = Σ cᵢ² sᵢ²/nᵢ``; the degrees of freedom are Welch–Satterthwaite's, ``SE⁴ / Σ (cᵢ² sᵢ²/nᵢ)² / (nᵢ − 1)``;
the 95 % interval is ``margin ± t₀.₉₇₅(df)·SE`` with Student's t from :mod:`scipy.stats`. A mean of a single
seed has no variance: such a contrast has no interval and decides nothing. Methods are never pooled as seeds:
a mean over several methods is a contrast of their own means, each with its own variance.

Each comparison also has two one-sided p-values, that it holds (``p_held``) and that it fails (``p_failed``).
A family of comparisons is corrected with Holm's step-down method at 5 % two-sided, that is 2.5 % per
direction, so that a family of one is decided exactly by its 95 % interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy import stats

ALPHA = 0.05                 # two-sided level of every interval and of Holm's correction
LEVEL = 1 - ALPHA / 2        # the t quantile of a 95 % two-sided interval
EPS = 1e-9                   # equal accuracies stay equal under floating-point sums


def t_quantile(df: float, level: float = LEVEL) -> float:
    """Student's t quantile (``scipy.stats.t.ppf``); the normal one for infinite df, nan when df is undefined."""
    if df is None or math.isnan(df):
        return math.nan
    return float(stats.norm.ppf(level)) if math.isinf(df) else float(stats.t.ppf(level, df))


@dataclass(frozen=True)
class Estimate:
    """A contrast's value against its threshold, its standard error and Welch–Satterthwaite degrees of freedom.

    ``se`` and ``df`` are nan when some mean has a single seed (no interval); ``df`` is infinite when every
    variance is zero (the interval is the point itself).
    """
    margin: float
    se: float
    df: float

    @property
    def half(self) -> float:
        """Half-width of the 95 % interval (nan without an interval)."""
        return 0.0 if self.se == 0 else t_quantile(self.df) * self.se

    @property
    def low(self) -> float:
        return self.margin - self.half

    @property
    def high(self) -> float:
        return self.margin + self.half

    @property
    def p_held(self) -> float:
        """One-sided p-value of "the contrast exceeds its threshold" (1 without an interval)."""
        return one_sided_p(self.margin, self.se, self.df)

    @property
    def p_failed(self) -> float:
        """One-sided p-value of "the contrast falls short of its threshold" (1 without an interval)."""
        return one_sided_p(-self.margin, self.se, self.df)


def one_sided_p(margin: float, se: float, df: float) -> float:
    """P(T ≥ margin / se) under "no excess", T Student's t with ``df`` degrees of freedom."""
    if se is None or math.isnan(se) or math.isnan(margin):
        return 1.0
    if se == 0:
        return 0.0 if margin > EPS else (1.0 if margin < -EPS else 0.5)
    return float(stats.norm.sf(margin / se) if math.isinf(df) else stats.t.sf(margin / se, df))


def _get(q, key, default=None):
    try:
        v = q[key]
    except (KeyError, IndexError):
        return default
    return default if v is None or (isinstance(v, float) and math.isnan(v)) else v


def contrast(terms, threshold: float = 0.0) -> Estimate:
    """``Σ c·mean − threshold`` over ``terms`` = ``[(c, point), ...]``, each point a row or dict with ``mean``,
    ``std`` (its seeds' sample standard deviation, ddof = 1) and ``n`` (its seeds)."""
    terms = [(float(c), q) for c, q in terms]
    margin = float(sum(c * float(q["mean"]) for c, q in terms) - threshold)
    parts = [(c * c * float(_get(q, "std", 0.0)) ** 2 / int(_get(q, "n", 1)), int(_get(q, "n", 1)))
             for c, q in terms if c != 0]
    if any(n < 2 for _, n in parts):
        return Estimate(margin, math.nan, math.nan)
    var = sum(v for v, _ in parts)
    if var == 0:
        return Estimate(margin, 0.0, math.inf)
    df = var ** 2 / sum(v * v / (n - 1) for v, n in parts if v > 0)
    return Estimate(margin, math.sqrt(var), float(df))


def welch(a, b, c: float = 1.0, threshold: float = 0.0) -> Estimate:
    """``mean(a) − c·mean(b) − threshold`` with each side's own seed variance: ``SE² = s_a²/n_a + c² s_b²/n_b``."""
    return contrast([(1.0, a), (-c, b)], threshold)


def holm(pvalues) -> list[float]:
    """Holm-adjusted p-values (step-down: the i-th smallest times m − i + 1, made monotone, capped at 1)."""
    p = list(pvalues)
    m, out, running = len(p), [1.0] * len(p), 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: p[k])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def significant(adjusted: float) -> bool:
    """A Holm-adjusted one-sided p-value is significant at 5 % two-sided (2.5 % per direction)."""
    return adjusted <= ALPHA / 2


# --- comparisons and the verdict of a family -------------------------------------------------------------------

HELD, NOT_HELD, INCONCLUSIVE, NOT_TESTED = "held", "not held", "inconclusive", "not tested"


class Noise(float):
    """The half-width of a comparison's 95 % interval (a float), carrying its standard error and df."""
    def __new__(cls, e: Estimate):
        x = super().__new__(cls, e.half)
        x.se, x.df = e.se, e.df
        return x


@dataclass(frozen=True)
class Comparison:
    """One comparison a claim rests on: its margin, the half-width ``noise`` of its 95 % Welch interval (nan when a
    mean has one seed), its standard error ``se`` and degrees of freedom ``df``. ``noise`` may be a :class:`Noise`,
    which brings its own ``se`` and ``df``."""
    text: str
    margin: float
    noise: float
    runs: tuple[str, ...] = ()
    fails: bool = False  # fails whatever the margin (a precondition such as a rank correlation is not met)
    se: float = math.nan
    df: float = math.nan

    def __post_init__(self):
        if isinstance(self.noise, Noise) and math.isnan(self.se):
            object.__setattr__(self, "se", self.noise.se)
            object.__setattr__(self, "df", self.noise.df)

    @property
    def estimate(self) -> Estimate:
        return Estimate(self.margin, self.se, self.df)

    @property
    def low(self) -> float:
        return self.estimate.low

    @property
    def high(self) -> float:
        return self.estimate.high

    @property
    def p_held(self) -> float:
        return 1.0 if self.fails else self.estimate.p_held

    @property
    def p_failed(self) -> float:
        return 0.0 if self.fails else self.estimate.p_failed

    @property
    def outcome(self) -> str:
        """This comparison alone, by its 95 % interval."""
        if self.fails:
            return NOT_HELD
        if math.isnan(self.se):
            return INCONCLUSIVE
        return HELD if self.low > EPS else (NOT_HELD if self.high < -EPS else INCONCLUSIVE)


@dataclass(frozen=True)
class Verdict:
    """What the runs say about one claim, the comparison that decides it, and Holm's correction of its family."""
    outcome: str
    evidence: str
    deciding: Comparison | None = None
    comparisons: tuple[Comparison, ...] = field(default=(), repr=False)
    p_held: tuple[float, ...] = field(default=(), repr=False)     # Holm-adjusted, one per comparison
    p_failed: tuple[float, ...] = field(default=(), repr=False)   # Holm-adjusted, one per comparison

    @property
    def margin(self) -> float | None:
        return self.deciding.margin if self.deciding else None

    @property
    def noise(self) -> float | None:
        return self.deciding.noise if self.deciding else None

    @property
    def runs(self) -> tuple[str, ...]:
        return self.deciding.runs if self.deciding else ()

    @property
    def holm_outcomes(self) -> tuple[str, ...]:
        """Each comparison after Holm's correction: held, not held or inconclusive."""
        return tuple(HELD if significant(h) else NOT_HELD if significant(f) else INCONCLUSIVE
                     for h, f in zip(self.p_held, self.p_failed))

    @property
    def held_after_holm(self) -> int:
        return self.holm_outcomes.count(HELD)

    @property
    def failed_after_holm(self) -> int:
        return self.holm_outcomes.count(NOT_HELD)

    @property
    def deciding_p(self) -> tuple[float, float] | None:
        """(raw, Holm-adjusted) one-sided p-value of the deciding comparison, in the direction that decides."""
        if self.deciding is None:
            return None
        i = next(k for k, c in enumerate(self.comparisons) if c is self.deciding)
        c = self.deciding
        return (c.p_failed, self.p_failed[i]) if self.outcome == NOT_HELD else (c.p_held, self.p_held[i])


def decide(comparisons: list[Comparison], evidence: str) -> Verdict:
    """The verdict of a claim from its family of comparisons (see the module's docstring)."""
    if not comparisons:
        return Verdict(NOT_TESTED, evidence)
    cs = tuple(comparisons)
    ph, pf = tuple(holm([c.p_held for c in cs])), tuple(holm([c.p_failed for c in cs]))
    v = Verdict(INCONCLUSIVE, evidence, None, cs, ph, pf)
    after = v.holm_outcomes

    def low(c):
        return c.margin if math.isnan(c.low) else c.low
    weakest = max(range(len(cs)), key=lambda k: (cs[k].p_held, -low(cs[k])))  # the furthest from holding
    if all(o == HELD for o in after):
        outcome, i = HELD, weakest
    elif NOT_HELD in after:
        outcome = NOT_HELD
        i = min((k for k in range(len(cs)) if after[k] == NOT_HELD),
                key=lambda k: (cs[k].p_failed, not cs[k].fails, cs[k].margin if math.isnan(cs[k].high) else cs[k].high))
    else:
        outcome, i = INCONCLUSIVE, weakest
    return Verdict(outcome, evidence, cs[i], cs, ph, pf)
