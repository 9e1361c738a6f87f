"""No mean of the book crosses a training budget (images x epochs), a network or a recipe: the records frame keys
them, every point is grouped by them, every claim compares inside one budget, and the figures, tables and facts that
quote a dense network quote it at the budget they are about, rounded by the one helper."""
import re

import pandas as pd
import pytest

from pemn.report import claims as C
from pemn.report import frame
from pemn.report.labels import budget_key, budget_label, pct

from test_book import CM, _result


def records(results):
    """Run records with unique ids (strategy, ratio, keep ratio, rate, epochs, training images and seed)."""
    from pemn.runs import RunRecord
    c = [r["config"] for r in results]
    return [RunRecord.from_dict(r | {"run_id": f"{c['strategy']}-{c['ratio']}-k{c['keep_ratio']}-lr{c.get('lr')}-e"
                                              f"{c['epochs']}-n{r['train_size']}-s{c['seed']}", "profile": "cpu"})
            for r, c in zip(results, c)]


def at(result: dict, images: int) -> dict:
    return result | {"train_size": images}


def two_budgets():
    """Dense and mask of ConvMixer-64/6 at 10k images x 10 epochs and at 50k x 20, two seeds each."""
    out = []
    for images, epochs, dense, mask in ((10000, 10, (0.61, 0.62), (0.53, 0.54)), (50000, 20, (0.80, 0.79),
                                                                                   (0.66, 0.67))):
        out += [at(_result("convmixer", CM, "dense", s, a, epochs=epochs), images) for s, a in enumerate(dense)]
        out += [at(_result("convmixer", CM, "mask", s, a, epochs=epochs), images) for s, a in enumerate(mask)]
    return records(out)


def test_the_frame_keys_each_run_by_its_budget():
    df = frame.records_frame(two_budgets())
    assert set(df["budget_key"]) == {(10000, 10), (50000, 20)}
    assert budget_key(10000.0, 10) == (10000, 10) and budget_label((50000, 20)) == "50k images × 20 epochs"


def test_points_never_merge_budgets():
    p = frame.points(frame.records_frame(two_budgets()))
    dense = p[p["method"] == "dense"].set_index("budget_key")
    assert len(dense) == 2 and set(dense["n"]) == {2}
    assert dense.loc[[(10000, 10)], "mean"].item() == pytest.approx(0.615)
    assert dense.loc[[(50000, 20)], "mean"].item() == pytest.approx(0.795)


def test_points_never_merge_recipes_or_keep_ratios():
    rs = [_result("convmixer", CM, "dense", s, 0.6) for s in (0, 1)]
    other = [_result("convmixer", CM, "dense", s, 0.5) for s in (0, 1)]
    for r in other:
        r["config"] = r["config"] | {"lr": 0.2}
    p = frame.points(frame.records_frame(records(rs + other)))
    assert sorted(p["mean"]) == pytest.approx([0.5, 0.6]) and set(p["n"]) == {2}
    keep = [_result("convmixer", CM, "rp", s, 0.5, ratio=0.01) for s in (0, 1)]
    keep += [r | {"config": r["config"] | {"keep_ratio": 0.1}}
             for r in (_result("convmixer", CM, "rp", s, 0.4, ratio=0.01) for s in (0, 1))]
    q = frame.points(frame.records_frame(records(keep)))
    assert sorted(q["keep_ratio"]) == [0.1, 0.5] and set(q["n"]) == {2}


def test_a_claim_compares_inside_one_budget():
    p = frame.points(frame.records_frame(two_budgets()))
    v = C.claim_promising(p)
    assert len(v.comparisons) == 2  # one per budget, never dense of one budget against mask of another
    texts = sorted(c.text for c in v.comparisons)
    assert "10k images × 10 epochs" in texts[0] and "53.5% vs 85% of dense 61.5%" in texts[0]
    assert "50k images × 20 epochs" in texts[1] and "66.5% vs 85% of dense 79.5%" in texts[1]


def _one_key_per_point(p: pd.DataFrame, df: pd.DataFrame) -> list[str]:
    """Points whose runs span more than one budget, network, recipe or setting."""
    keys = df.set_index("run_id")
    bad = []
    for _, r in p.iterrows():
        rows = keys.loc[r["runs"].split(", ")]
        spans = {c: rows[c].astype(str).nunique() for c in ("budget_key", "arch_key", "recipe", "keep_ratio")}
        if any(n > 1 for n in spans.values()):
            bad.append(f"{r['arch']} {r['method']}: {spans}")
    return bad


@pytest.fixture(scope="module")
def committed():
    df = frame.load("cpu")
    if df.empty:
        pytest.skip("no committed cpu runs")
    return df


def test_no_point_of_the_committed_runs_crosses_a_budget(committed):
    frames = [committed] + [frame.for_figure(committed, f) for f in ("fig3", "fig4", "fig5", "width", "frontier")]
    bad = [b for d in frames for b in _one_key_per_point(frame.points(d), committed)]
    assert not bad, bad


def test_the_fair_chapter_draws_dense_at_the_frontiers_own_budget(committed):
    """The frontier figure's dense line is the mean of the dense runs of its network at the frontier's budget."""
    import matplotlib
    matplotlib.use("Agg")
    from pemn.report import fair
    from pemn.report import frontier
    from pemn.runs import current_records, recalibrations
    backbone, arch, name = fair.frontier_backbone("cpu", 0)
    fr = committed[committed["figures"].map(lambda f: "frontier" in f) & (committed["backbone"] == backbone)]
    key = fr["budget_key"].mode()[0]
    dense = committed[(committed["strategy"] == "dense") & (committed["arch"] == name)
                      & (committed["budget_key"] == key) & committed["export_file_bytes"].notna()
                      & (committed["dataset"] == "cifar10")]
    assert committed[(committed["strategy"] == "dense") & (committed["arch"] == name)]["budget_key"].nunique() > 1
    fig = fair.frontier_figure(frontier.points(current_records("cpu"), backbone, arch, recalibrations("cpu")), name)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("dense float32")]
    assert len(texts) == 1 and f": {pct(dense['final_acc'].mean())} at" in texts[0], (texts, pct(dense["final_acc"].mean()))


def test_every_table_prints_one_mean_the_same_way(committed):
    """The masked-recipe check and the scale check quote dense at a budget as one number: same runs, one rounding."""
    from pemn.report.reproducibility import mask_recipe_check, scale_check
    s = scale_check("cpu")
    key = ["backbone", "training budget", "recipe (besides lr, wd)"]  # the scale axis's paper recipe: its own dense
    s = s[s["_source"] == "cpu"].set_index(key)["dense final accuracy"].str.split(" ").str[0]
    m = mask_recipe_check("cpu")
    m = m[m["_source"] == "cpu"].set_index(key)["dense, same budget"]
    assert m.groupby(level=[0, 1, 2]).nunique().max() == 1  # masks at several rates, one dense value per budget
    m = m[~m.index.duplicated()]
    both = m.index.intersection(s.index)
    assert len(both) > 3
    differ = [(k, m[k], s[k]) for k in both if m[k] != s[k]]
    assert not differ, differ
    assert pct(0.7679) == "76.8%" and pct(0.76749999999) == "76.7%" and pct(0.7675000000001) == "76.8%"


def test_the_landing_page_quotes_dense_per_budget(committed):
    """Each budget of the landing page's sentence names the dense means of the runs trained at it, and only those."""
    from pemn.report.introduction import dense_by_budget
    quoted = dict(dense_by_budget(committed))
    dense = committed[(committed["strategy"] == "dense") & committed["final_acc"].notna()]
    for (key, arch), q in dense.groupby(["budget_key", "arch"]):
        if q["recipe"].nunique() > 1:
            continue
        assert f"{arch.split(' (')[0]} {pct(q['final_acc'].mean())}" in quoted[budget_label(key)], (key, arch)
    for label, text in quoted.items():
        named = re.findall(r"(\S+) \d+\.\d%", text.split("; dense ")[-1])
        here = dense[dense["budget_key"].map(budget_label) == label]["arch"].map(lambda a: a.split(" (")[0])
        assert set(named) <= set(here), (label, named)
