"""What the training notebook shows of one run: a one-row summary and its learning curve.

Apart from :mod:`pemn.report` so that a run notebook does not import the book's report layer.
"""
from __future__ import annotations

import pandas as pd


def run_summary(result: dict) -> pd.DataFrame:
    """One-row table of a run's headline numbers."""
    cfg = result["config"]
    method = cfg["strategy"] + (f" {cfg['ratio']:g}" if cfg.get("ratio") else "") + (
        f" @{cfg['compression']:.0%}" if cfg.get("compression") else "")
    return pd.DataFrame([{
        "backbone": cfg["backbone"], "method": method, "seed": cfg["seed"], "epochs": cfg["epochs"],
        **_accuracies(result),
        "unique values": result["unique_values"],
        f"compression ({result['headline_scheme']})": round(result["compression"], 4),
        "wall time (s)": round(result["wall_time_s"], 1),
    }]).set_index("backbone")


def _accuracies(result: dict) -> dict:
    """The final and best-epoch accuracy where the run was evaluated (the test set, or the validation split)."""
    if "final_val_acc" in result:
        return {"final validation acc": round(result["final_val_acc"], 4),
                "best-epoch validation acc": round(result["best_epoch_val_acc"], 4)}
    return {"final test acc": round(result["final_test_acc"], 4),
            "best-epoch test acc (test-selected)": round(result["best_epoch_test_acc"], 4)}


CURVE_COLOURS = 16  # a committed run notebook keeps its learning curve small (under 12 KB: tests/test_lean.py)


def learning_curve(result: dict):
    """Train loss and test accuracy per epoch."""
    import matplotlib.pyplot as plt
    h = pd.DataFrame(result["history"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 2.6), dpi=72)
    a.plot(h["epoch"], h["train_loss"], marker=".")
    a.set(xlabel="epoch", ylabel="train loss", title="training loss")
    split = "val" if "val_acc" in h else "test"
    b.plot(h["epoch"], h[f"{split}_acc"], marker=".", label="validation" if split == "val" else "test")
    b.plot(h["epoch"], h["train_acc"], ls="--", label="train (augmented)")
    b.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    b.legend(fontsize=8)
    cfg = result["config"]
    fig.suptitle(f"{cfg['backbone']} {cfg['strategy']} seed {cfg['seed']} ({result.get('profile', 'custom')} "
                 f"profile, {result['train_size']} train images, {result['data_source']['kind']})", fontsize=9)
    fig.tight_layout()
    return fig


def compact_png(fig) -> bytes:
    """``fig`` as a PNG of a few colours: legible at 72 dpi and some 7 KB, so hundreds of run notebooks stay light."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    buf.seek(0)
    out = io.BytesIO()
    Image.open(buf).convert("RGB").quantize(colors=CURVE_COLOURS).save(out, format="PNG", optimize=True)
    return out.getvalue()


def learning_curve_image(result: dict):
    """The learning curve as the run notebook shows it (a compact PNG)."""
    from IPython.display import Image
    return Image(data=compact_png(learning_curve(result)), format="png")
