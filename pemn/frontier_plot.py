"""The accuracy-versus-file-bytes figure of the fair-compression comparison (display only)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .frontier import means, pareto

STYLE = {  # method: (colour, marker)
    "rp": ("tab:red", "*"), "erk_random": ("tab:gray", "v"), "erk_magnitude": ("tab:blue", "s"),
    "quantized4": ("tab:green", "D"), "binary": ("tab:purple", "o"),
    "random_sparse": ("tab:brown", "x"), "magnitude_sparse": ("tab:olive", "+"),
}


def frontier_figure(p: pd.DataFrame, title: str):
    """Test accuracy against measured file bytes (log scale): seeds as dots, seed means joined per method,
    dense as a line, the Pareto front of the means as a dashed step."""
    fig, ax = plt.subplots(figsize=(8.2, 5.0), layout="constrained")
    m = means(p)
    dense = m[m["method"] == "dense"]
    for method, (colour, marker) in STYLE.items():
        pts, mm = p[p["method"] == method], m[m["method"] == method].sort_values("file_bytes")
        if pts.empty:
            continue
        ax.scatter(pts["file_bytes"], pts["test_acc"], s=22, color=colour, marker=marker, alpha=0.45, linewidths=1)
        ax.plot(mm["file_bytes"], mm["test_acc"], color=colour, marker=marker, ms=8 if marker != "*" else 12,
                lw=1.4, label=mm["label"].iloc[0] + (" *" if pts["bn"].eq("recalibrated from the file").any()
                                                     else ""))
    front = pareto(m[m["frontier"] | m["method"].isin(["random_sparse", "magnitude_sparse"])])
    if not front.empty:
        ax.step(front["file_bytes"], front["test_acc"], where="post", color="black", ls="--", lw=1,
                label="Pareto front (seed means)")
    if not dense.empty:
        acc = dense["test_acc"].mean()
        ax.axhline(acc, color="black", lw=1)
        ax.annotate(f"dense float32: {acc:.1%} at {dense['file_bytes'].mean() / 1024:,.0f} KiB",
                    (0.01, acc), xycoords=("axes fraction", "data"), va="bottom", fontsize=9)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1024:,.0f} KiB"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f"{x / 1024:,.0f}"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("measured model.pemn file size (bytes, log scale)")
    ax.set_ylabel("final test accuracy")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5, loc="lower right", framealpha=0.9)
    return fig
