"""The claims engine's one rule, on hand-computed cases (no files): each side's own seed variance, Student's t with
Welch-Satterthwaite degrees of freedom, Holm over a claim's family of comparisons."""
import math

import pytest

from pemn.report import claims as C
from pemn.report import frame, points
from pemn.report import stats as S

from test_book import CM, _records, _result


def side(*accs):
    """A seed mean as the engine sees it: mean, sample standard deviation (ddof = 1), seeds."""
    n = len(accs)
    mean = sum(accs) / n
    std = math.sqrt(sum((a - mean) ** 2 for a in accs) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "n": n, "runs": ""}


def pts(results):
    return points(frame.records_frame(_records(results)))


# --- the t quantiles --------------------------------------------------------------------------------------------

def test_t_quantiles_at_2_3_and_4_degrees_of_freedom():
    # Student's t, 0.975 quantile (any printed t table): 4.303, 3.182, 2.776; the normal 1.960 at infinity
    assert S.t_quantile(2) == pytest.approx(4.3027, abs=1e-4)
    assert S.t_quantile(3) == pytest.approx(3.1824, abs=1e-4)
    assert S.t_quantile(4) == pytest.approx(2.7764, abs=1e-4)
    assert S.t_quantile(math.inf) == pytest.approx(1.9600, abs=1e-4)
    assert math.isnan(S.t_quantile(math.nan))


# --- Welch intervals by hand -------------------------------------------------------------------------------------

def test_welch_interval_of_two_2_seed_samples():
    # a = (0.60, 0.62), b = (0.57, 0.59): margin 0.03; s² = 0.0002 each, SE² = 0.0002/2 + 0.0002/2 = 0.0002
    e = S.welch(side(0.60, 0.62), side(0.57, 0.59))
    assert e.margin == pytest.approx(0.03)
    assert e.se == pytest.approx(math.sqrt(0.0002))
    assert e.df == pytest.approx(0.0002 ** 2 / (0.0001 ** 2 / 1 + 0.0001 ** 2 / 1))  # = 2
    assert e.df == pytest.approx(2.0)
    assert e.half == pytest.approx(4.3027 * 0.0141421, rel=1e-4)  # ±0.0609: the interval [-0.031, 0.091]
    assert e.low == pytest.approx(0.03 - 0.060849, abs=1e-5) and e.high == pytest.approx(0.03 + 0.060849, abs=1e-5)
    c = C.compare("a vs b", e)
    assert c.outcome == C.INCONCLUSIVE  # twice the SE (0.028) would have called it held


def test_welch_interval_of_two_3_seed_samples():
    # a = (0.60, 0.62, 0.64), b = (0.55, 0.57, 0.59): margin 0.05; s² = 0.0004 each, SE² = 2 x 0.0004/3
    e = S.welch(side(0.60, 0.62, 0.64), side(0.55, 0.57, 0.59))
    v = 0.0004 / 3
    assert e.margin == pytest.approx(0.05) and e.se == pytest.approx(math.sqrt(2 * v))
    assert e.df == pytest.approx((2 * v) ** 2 / (v ** 2 / 2 + v ** 2 / 2)) and e.df == pytest.approx(4.0)
    assert (e.low, e.high) == pytest.approx((0.05 - 2.7764 * 0.016330, 0.05 + 2.7764 * 0.016330), abs=1e-5)
    assert C.compare("a vs b", e).outcome == C.HELD  # [0.0047, 0.0953]: wholly above zero


def test_welch_interval_of_a_2_seed_and_a_3_seed_sample():
    # a = (0.50, 0.54): mean 0.52, s² = 0.0008; b = (0.40, 0.43, 0.46): mean 0.43, s² = 0.0009
    e = S.welch(side(0.50, 0.54), side(0.40, 0.43, 0.46))
    va, vb = 0.0008 / 2, 0.0009 / 3  # 0.0004 and 0.0003
    df = (va + vb) ** 2 / (va ** 2 / 1 + vb ** 2 / 2)  # 4.9e-7 / 2.05e-7 = 2.390
    assert e.margin == pytest.approx(0.09) and e.se == pytest.approx(math.sqrt(0.0007))
    assert e.df == pytest.approx(df) and df == pytest.approx(2.3902, abs=1e-4)
    assert S.t_quantile(3) < S.t_quantile(e.df) < S.t_quantile(2)
    assert e.half == pytest.approx(S.t_quantile(df) * math.sqrt(0.0007))  # t(2.39) = 3.69: ±0.098
    assert C.compare("a vs b", e).outcome == C.INCONCLUSIVE  # [-0.008, 0.188]; a 2-SE band (±0.053) would hold
    assert C.compare("a vs b, threshold -1 pt", S.welch(side(0.50, 0.54), side(0.40, 0.43, 0.46), threshold=-0.01)).outcome \
        == C.HELD  # a margin of 0.10 clears its ±0.098


def test_margin_against_a_fraction_of_dense():
    # mask (0.53, 0.55) against 0.85 x dense (0.60, 0.62, 0.64): margin 0.54 - 0.85 x 0.62 = 0.013
    mask, dense = side(0.53, 0.55), side(0.60, 0.62, 0.64)
    e = S.welch(mask, dense, c=0.85)
    va, vb = 0.0002 / 2, 0.85 ** 2 * 0.0004 / 3  # var(a)/n_a and c² var(b)/n_b
    assert e.margin == pytest.approx(0.013)
    assert e.se == pytest.approx(math.sqrt(va + vb))
    assert e.df == pytest.approx((va + vb) ** 2 / (va ** 2 / 1 + vb ** 2 / 2))
    assert C.compare("mask vs 85 % of dense", e).outcome == C.INCONCLUSIVE  # 0.013 ± 0.06
    # the claim applies the same rule on records: both sides' own seeds
    results = [_result("convmixer", CM, "mask", s, a) for s, a in enumerate((0.53, 0.55))]
    results += [_result("convmixer", CM, "dense", s, a) for s, a in enumerate((0.60, 0.62, 0.64))]
    v = C.claim_promising(pts(results))
    assert v.outcome == C.INCONCLUSIVE
    assert (v.margin, v.deciding.se, v.deciding.df) == pytest.approx((e.margin, e.se, e.df))


def test_a_side_with_a_single_seed_is_inconclusive():
    e = S.welch(side(0.90), side(0.10, 0.12))
    assert e.margin == pytest.approx(0.79) and math.isnan(e.se) and math.isnan(e.df)
    assert (e.p_held, e.p_failed) == (1.0, 1.0)
    assert C.compare("one seed", e).outcome == C.INCONCLUSIVE
    # on records: mask far above 85 % of dense, but dense has one seed
    results = [_result("convmixer", CM, "dense", 0, 0.60)]
    results += [_result("convmixer", CM, "mask", s, a) for s, a in enumerate((0.58, 0.59))]
    v = C.claim_promising(pts(results))
    assert v.outcome == C.INCONCLUSIVE and v.margin > 0.05 and math.isnan(v.deciding.se)


# --- Holm over a family -----------------------------------------------------------------------------------------

def test_holm_adjusted_p_values_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> made monotone 0.02, 0.03, 0.06, 0.06
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert S.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert S.holm([]) == []


def _normal(margin: float, se: float = 0.01) -> C.Comparison:
    """A comparison with a normal (infinite-df) interval: margin ± 1.96 se."""
    return C.compare(f"margin {margin}", S.Estimate(margin, se, math.inf))


def test_holm_turns_a_naive_not_held_into_inconclusive():
    # one comparison 2.5 SE short: its own interval [-0.0446, -0.0054] is wholly below zero (p = 0.00621), and a
    # worst-of rule would call the claim not held; over a family of 5, Holm compares 0.00621 with 0.025 / 5
    family = [_normal(-0.025)] + [_normal(m) for m in (0.05, 0.06, 0.07, 0.08)]
    assert family[0].outcome == C.NOT_HELD and family[0].p_failed == pytest.approx(0.0062097, abs=1e-6)
    v = C.decide(family, "")
    assert v.p_failed[0] == pytest.approx(5 * 0.0062097, abs=1e-5) and v.p_failed[0] > 0.025
    assert v.outcome == C.INCONCLUSIVE and v.deciding is family[0]
    assert (v.held_after_holm, v.failed_after_holm) == (4, 0)
    # the same shortfall alone, or with a larger one beside it, is significant after Holm: not held
    assert C.decide(family[:1], "").outcome == C.NOT_HELD
    v = C.decide([_normal(-0.05)] + family[1:], "")  # 5 SE short: p = 2.9e-7, x 5 still far below 0.025
    assert v.outcome == C.NOT_HELD and v.failed_after_holm == 1 and v.deciding.margin == -0.05


def test_a_claim_holds_only_when_every_comparison_holds_after_holm():
    # each 2.2 SE above zero (p = 0.0139 < 0.025 alone), but Holm asks 0.0139 x 3 = 0.042 of the smallest
    family = [_normal(0.022) for _ in range(3)]
    assert all(c.outcome == C.HELD for c in family)
    assert C.decide(family, "").outcome == C.INCONCLUSIVE
    v = C.decide([_normal(0.05), _normal(0.06)], "")  # 5 and 6 SE: held after Holm
    assert v.outcome == C.HELD and v.held_after_holm == 2 and v.deciding.margin == 0.05  # the weakest decides


def test_a_failed_precondition_is_a_significant_failure():
    c = C.Comparison("rank correlation not met", 0.1, C.Noise(S.Estimate(0.1, 0.01, 4.0)), fails=True)
    assert c.outcome == C.NOT_HELD and (c.p_held, c.p_failed) == (1.0, 0.0)
    assert C.decide([c, _normal(0.08)], "").outcome == C.NOT_HELD


# --- no pooling of methods -------------------------------------------------------------------------------------

def test_a_mean_over_methods_keeps_each_methods_own_variance():
    # ResNet32 and ResNet56: dense and two PEMN methods, two seeds each; the depth comparison of claim 4.3 Fig. 4 (4)
    # is (d32 - (m1 + m2)/2) - (d56 - (m1' + m2')/2): SE² = var(d32)/2 + var(d56)/2 + (1/4) x the four var(m)/2
    accs = {("resnet32", "dense"): (0.62, 0.64), ("resnet32", "mp"): (0.50, 0.52), ("resnet32", "rp"): (0.48, 0.56),
            ("resnet56", "dense"): (0.63, 0.65), ("resnet56", "mp"): (0.53, 0.53), ("resnet56", "rp"): (0.52, 0.54)}
    results = [_result(b, {}, s, seed, a, ratio=0.01 if s == "rp" else None, comp=0.9 if s != "dense" else None,
                       figures=("fig4",), epochs=5)
               for (b, s), pair in accs.items() for seed, a in enumerate(pair)]
    p = pts(results)
    v = C.claim_larger_loses_less(p, axes=("depth",))
    c = v.deciding
    var = {k: side(*a)["std"] ** 2 / 2 for k, a in accs.items()}  # 0.0001, 0.0001, 0.0016, 0.0001, 0, 0.0001
    se2 = var[("resnet32", "dense")] + var[("resnet56", "dense")] + sum(
        var[(b, m)] for b in ("resnet32", "resnet56") for m in ("mp", "rp")) / 4
    assert c.margin == pytest.approx((0.63 - 0.515) - (0.64 - 0.53))  # gaps 11.5 and 11.0 points
    assert c.se == pytest.approx(math.sqrt(se2))
    parts = [var[("resnet32", "dense")], var[("resnet56", "dense")]] + [
        var[(b, m)] / 4 for b in ("resnet32", "resnet56") for m in ("mp", "rp")]
    assert c.df == pytest.approx(se2 ** 2 / sum(x * x / 1 for x in parts))
    assert v.outcome == C.INCONCLUSIVE


def test_frontier_and_size_claims_share_the_rule():
    from pemn.report import frontier
    assert frontier.decide is C.decide is S.decide and frontier.Comparison is C.Comparison
    # the frontier builds its comparisons with the engine's own compare and Welch estimate (no spread of its own)
    assert frontier.compare is C.compare and frontier.welch is S.welch
    assert not hasattr(C, "_noise") and not hasattr(C, "seed_sigma")  # no parameter the code would ignore
    import inspect
    assert "sigma" not in inspect.signature(frontier.verdicts).parameters


# --- the book's statements of the rule ---------------------------------------------------------------------------

def test_the_worked_example_is_the_engines_own_comparison(tmp_path, monkeypatch):
    from test_book import _write
    from pemn.report import verdicts
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path))
    assert "has no Fig. 3 dense and mask runs" in verdicts.rule_example("cpu")
    results = [_result("convmixer", CM, "mask", s, a) for s, a in enumerate((0.53, 0.55))]
    results += [_result("convmixer", CM, "dense", s, a) for s, a in enumerate((0.60, 0.62, 0.64))]
    _write(tmp_path, "cpu", results)
    text = verdicts.rule_example("cpu")
    e = S.welch(side(0.53, 0.55), side(0.60, 0.62, 0.64), c=0.85)  # as in test_margin_against_a_fraction_of_dense
    assert f"= {100 * e.margin:+.2f} points" in text and f"= {e.df:.2f} degrees of freedom" in text
    assert f"[{100 * e.low:+.2f}, {100 * e.high:+.2f}] points" in text and "is *inconclusive*" in text
    assert "After Holm 0 of 1 hold: claim 4.2 (1) is *inconclusive*" in text
    assert "Welch–Satterthwaite" in verdicts.rule_md() and "Holm" in verdicts.rule_md()


def test_the_landing_forest_plots_every_verdict_with_an_interval_once():
    """The landing page's forest plot: each claim, then PEMN at equal bytes per budget; one row per verdict whose
    deciding comparison has an interval, labelled with its name, none without."""
    from pemn.report.introduction import landing_verdicts
    from pemn.report.claims import CLAIMS
    from pemn.report.verdicts import claims_verdicts, forest_figure
    named = landing_verdicts("cpu", claims_verdicts("cpu"))
    assert [n for n, _ in named[:len(CLAIMS)]] == [c for c, _, _ in CLAIMS]
    assert all(n.startswith("equal bytes, ") for n, _ in named[len(CLAIMS):]) and len(named) > len(CLAIMS)
    drawn = [n for n, v in named if v.deciding is not None and not v.deciding.fails and v.deciding.se == v.deciding.se]
    fig = forest_figure(named)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == drawn[::-1]
