"""The paper's Fig. 3/4/5 numbers: the committed CSV is exactly what the authors' SVGs give, and it makes sense."""
import difflib
import re
from pathlib import Path

import pandas as pd
import pytest

from pemn import paper_values as pv

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "official-figs"
needs_svgs = pytest.mark.skipif(not FOLDER.is_dir(), reason=f"the authors' figures are not at {FOLDER}")


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return pv.load()


@needs_svgs
def test_committed_csv_is_what_the_svgs_give():
    derived, committed = pv.to_csv_text(pv.derive_all(FOLDER)), pv.CSV.read_text()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), derived.splitlines(True), "committed", "svgs"))
    assert derived == committed, f"rerun `python -m pemn.paper_values --write`:\n{diff[:3000]}"


@pytest.mark.parametrize("panel, dense, mask", [
    ("ConvMixer-256/6", 94.0, 89.4), ("ConvMixer-512/6", 94.6, 91.9),
    ("ConvMixer-256/8", 94.6, 90.5), ("ConvMixer-512/8", 95.5, 92.8)])
def test_fig3_convmixer_dense_and_mask_match_the_plots(df, panel, dense, mask):
    g = pv.gap_to_dense(df, panel)
    assert abs(g["dense"] - dense) <= 0.3 and abs(g["mask"] - mask) <= 0.3, g
    assert g["gap"] == round(g["dense"] - g["mask"], 2) and abs(g["ratio"] - g["mask"] / g["dense"]) < 1e-4


def test_gap_to_dense_refuses_an_unknown_panel(df):
    with pytest.raises(KeyError):
        pv.gap_to_dense(df, "ResNet32 CIFAR-10")  # a Fig. 4 panel, not Fig. 3


@needs_svgs
@pytest.mark.parametrize("name", sorted(pv.FILES))
def test_every_legend_series_has_points(df, name):
    """Legend labels read straight from the file's text (``Mask_256``, ``Ours_d6``) each have points."""
    labels = re.findall(r">([A-Za-z-]+)_(\w+)</tspan>", (FOLDER / name).read_text())
    assert len(labels) == 8, labels
    rows = df[df["source_file"] == name]
    template = pv.FILES[name][1]
    for method, suffix in labels:
        n = ((rows["series"] == method) & (rows["panel"] == template.format(s=suffix.lstrip("d")))).sum()
        assert n >= 1, f"{name}: {method}_{suffix} has no points"


def test_points_per_series(df):
    """Fig. 3: one dense line, one Mask and One-layer point, six MP/RP points; Fig. 4/5: baselines at
    90/92/94/96 % compression and three PEMN points (caption: MP, RP 1e-1, RP 1e-2 for ResNet; RP 1e-1..1e-3)."""
    counts = df.groupby(["figure", "panel", "series"]).size()
    assert len(df) == 144 and len(counts) == 56
    for (fig, _, series), n in counts.items():
        expected = {"Dense": 1, "Mask": 1, "One-layer": 1, "MP-RP": 6, "Random": 4, "Minimum": 4, "Ours": 3}
        assert n == expected[series], (fig, series, n)
    base = df[df["series"].isin(["Random", "Minimum"])]
    assert sorted(base["x"].astype(float).unique()) == [90.0, 92.0, 94.0, 96.0]
    assert list(df.loc[df["series"] == "MP-RP", "x"].unique()) == ["MP"] + [f"RP_1e-{k}" for k in range(1, 6)]


def test_values_are_plausible_accuracies(df):
    assert df["y"].between(30, 100).all()
    assert df.loc[df["figure"] != "Fig. 4", "y"].between(60, 100).all()  # CIFAR-10 only outside Fig. 4
    assert (df.loc[df["series"] == "Dense", "x"] == "all").all()
    ratios = pd.to_numeric(df.loc[df["figure"] != "Fig. 3", "x"].where(lambda s: s != "all"), errors="raise")
    assert ratios.dropna().between(89, 97).all()
    assert df["how"].str.contains("residual 0.00 px").all()


def test_dense_is_above_every_pemn_point(df):
    """What the figures show: no masked network beats its dense counterpart in Fig. 3 or 5."""
    for panel, rows in df[df["figure"] != "Fig. 4"].groupby("panel"):
        dense = rows.loc[rows["series"] == "Dense", "y"].item()
        assert (rows.loc[rows["series"] != "Dense", "y"] < dense).all(), panel


def test_fig5_is_fig3_convmixer_256(df):
    """Fig. 5's file does not name the width; its dense lines and PEMN points are Fig. 3's ConvMixer-256
    dense and RP 1e-1..1e-3 values, so Fig. 5 is width 256."""
    for depth in (6, 8):
        f5 = df[(df["figure"] == "Fig. 5") & (df["panel"] == f"ConvMixer/{depth} CIFAR-10")]
        f3 = df[(df["figure"] == "Fig. 3") & (df["panel"] == f"ConvMixer-256/{depth}")]
        assert f5.loc[f5["series"] == "Dense", "y"].item() == f3.loc[f3["series"] == "Dense", "y"].item()
        rp = f3[f3["x"].isin(["RP_1e-1", "RP_1e-2", "RP_1e-3"])]["y"].tolist()
        assert f5.loc[f5["series"] == "Ours", "y"].tolist() == rp
