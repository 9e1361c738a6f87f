"""What the ``gpu`` profile and the ``paper`` grid cost on one GPU, from the step times measured there.

Reads a ``python -m pemn.bench --paper`` result (``bench/paper.json``: training step, evaluation rate and per-run
overhead of every paper model, measured on one H100) and, when there is one, the device measurements of
``scripts/gpu_run.py`` (``bench/gpu.json``: the batched augmentation's rate and several runs at once). Where the
augmentation on the device was not measured yet it is taken at the issue's goal, ten times the rate at which the
fastest model's step consumes images (an assumption, said so in the output). ``make bench-paper`` prints it.

A *panel* is one figure's plot for one backbone and dataset at one seed (Fig. 3 ConvMixer-256/6, Fig. 4 ResNet32,
...): the ``gpu`` profile's epochs are chosen so that each panel fits ``PANEL_BUDGET_S`` on one H100.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .estimate import estimate_profile
from ..grids import grid
from ..paths import REPO

PAPER_JSON = REPO / "bench" / "paper.json"
GPU_JSON = REPO / "bench" / "gpu.json"
OUT = REPO / "bench" / "gpu_estimate.json"
PANEL_BUDGET_S = 480.0  # one figure panel at one seed on one H100: 8 minutes (issue 15)
GOAL_AUGMENT_RATIO = 10.0  # augmentation at least 10x faster than the training step consumes images


def augment_rate(paper: dict, measured: dict | None) -> tuple[float, str]:
    """Images/s of the batched augmentation on the device: measured, else the goal (an assumption)."""
    if measured and measured.get("augment", {}).get("images_per_s"):
        return measured["augment"]["images_per_s"], "measured on the device (bench/gpu.json)"
    fastest = max(e["batch"] / (e["variants"]["dense"]["median"] / 1e3) for e in paper["train_step"].values())
    return GOAL_AUGMENT_RATIO * fastest, (f"not measured yet: assumed at the goal, {GOAL_AUGMENT_RATIO:g}x the "
                                          f"{fastest:,.0f} images/s that the fastest paper model's step consumes")


def step_times(paper: dict, measured: dict | None) -> tuple[dict, str]:
    """Steps of ``paper`` with the models measured again on the device (``measured``) replaced.

    Where the device measured the batched masks (what training uses on CUDA), they are the masked step.
    """
    steps = dict(paper["train_step"])
    newer = (measured or {}).get("train_step", {})
    for key, entry in newer.items():
        variants = dict(entry["variants"])
        variants["masked"] = variants.get("masked_batched", variants["masked"])
        steps[key] = {**entry, "variants": variants}
    how = (f"bench/paper.json ({paper['created']}, {paper['environment']['device_name']}); masked steps measured "
           "before the sort-based threshold, so masked runs are upper bounds")
    if newer:
        how = (f"bench/gpu.json ({measured['created']}, {measured['environment']['device_name']}) for "
               f"{', '.join(newer)} (masked: batched masks); " + how + " for the other models")
    return steps, how


def panels(profile: str, per_run: dict) -> dict:
    """Estimated seconds of each figure panel at the profile's first seed: {panel: {runs, estimate_s}}."""
    runs = grid(profile)
    seed = min(r.config.seed for r in runs.values())
    out = {}
    for rid, run in runs.items():
        c = run.config
        if c.seed != seed:
            continue
        arch = rid.split(f"-{c.dataset.replace('cifar', 'c')}-")[0]
        for fig in run.figures:
            p = out.setdefault(f"{fig} {arch} {c.dataset}", {"runs": 0, "estimate_s": 0.0, "epochs": c.epochs})
            p["runs"] += 1
            p["estimate_s"] += per_run[rid]["estimate_s"]
    return out


def fitting_epochs(panel: dict, overhead_s: float, budget_s: float = PANEL_BUDGET_S) -> int:
    """The most epochs at which a panel's estimate stays within ``budget_s`` (the per-run overhead is fixed)."""
    per_epoch = (panel["estimate_s"] - panel["runs"] * overhead_s) / panel["epochs"]
    return int((budget_s - panel["runs"] * overhead_s) // per_epoch)


def estimate(paper: dict, measured: dict | None = None, slots: int = 1) -> dict:
    """The ``gpu`` and ``paper`` grids on one GPU; with ``slots`` runs at once when their throughput was measured."""
    ips, how = augment_rate(paper, measured)
    overhead = paper["profile"]["per_run_overhead_s"]
    speedup, speedup_how = 1.0, "one run at a time"
    if slots > 1:
        rates = (measured or {}).get("slots", {})
        if str(slots) not in rates:
            raise ValueError(f"no measured throughput for {slots} runs at once in {GPU_JSON.name}; "
                             f"measured: {sorted(rates) or 'none'}")
        speedup = rates[str(slots)]["aggregate_speedup"]
        speedup_how = f"{slots} runs at once, measured aggregate speedup x{speedup:.2f}"
    steps, steps_how = step_times(paper, measured)
    out = {"augment_images_per_s": ips, "augment": how, "per_run_overhead_s": overhead, "concurrency": speedup_how,
           "panel_budget_s": PANEL_BUDGET_S, "step_times": steps_how, "profiles": {}}
    for profile in ("gpu", "paper"):
        est = estimate_profile(profile, steps, paper["evaluation"], ips, overhead)
        by_panel = panels(profile, est["per_run"])
        for p in by_panel.values():
            p["fitting_epochs"] = fitting_epochs(p, overhead)
        out["profiles"][profile] = {"runs": est["runs"], "gpu_hours": est["estimate_h"] / speedup,
                                    "panels_at_one_seed": by_panel,
                                    "per_run_s": {k: v["estimate_s"] for k, v in est["per_run"].items()},
                                    "notes": est["notes"]}
    return out


def table(res: dict) -> str:
    lines = [f"step times: {res['step_times']}", f"augmentation on the device: {res['augment']}",
             f"concurrency: {res['concurrency']}; per-run overhead {res['per_run_overhead_s']:.1f} s", ""]
    for name, p in res["profiles"].items():
        lines.append(f"{name}: {p['runs']} runs, {p['gpu_hours']:.1f} GPU-hours")
        for key, panel in p["panels_at_one_seed"].items():
            lines.append(f"  {key:40s} {panel['runs']:3d} runs {panel['epochs']:4d} epochs "
                         f"{panel['estimate_s'] / 60:6.1f} min  (fits {res['panel_budget_s'] / 60:.0f} min: "
                         f"{panel['fitting_epochs']} epochs)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pemn.bench.gpu_estimate", description=__doc__.split("\n")[0])
    ap.add_argument("--slots", type=int, default=1, help="runs at once on the GPU (needs a measured speedup)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    try:
        paper = json.loads(PAPER_JSON.read_text())
    except (OSError, ValueError) as e:
        print(f"cannot read {PAPER_JSON}: {e}; make it on a GPU with `make bench-paper`", file=sys.stderr)
        return 2
    measured = json.loads(GPU_JSON.read_text()) if GPU_JSON.is_file() else None
    try:
        res = estimate(paper, measured, args.slots)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(table(res))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
