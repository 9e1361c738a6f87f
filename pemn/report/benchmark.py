"""Chapter 6: the speed benchmark's files (``bench/results.json``, ``bench/paper.json``) as tables."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..paths import REPO
from . import display
from .reproducibility import timing_summary


BENCH_RESULTS = REPO / "bench" / "results.json"

PAPER_BENCH = REPO / "bench" / "paper.json"


def bench_results(path: Path = BENCH_RESULTS):
    if not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text())


def bench_table(path: Path = BENCH_RESULTS) -> pd.DataFrame | None:
    """The speed benchmark (bench/results.json, written by ``make bench``) as a table: the median training step per
    backbone and variant when the file has them (``train_step``), else every field flattened."""
    r = bench_results(path)
    if r is None:
        return None
    steps = r.get("train_step") if isinstance(r, dict) else None
    if isinstance(steps, dict) and steps:
        rows = []
        for key, e in steps.items():
            row = {"case": key}
            for v, st in (e.get("variants") or {}).items():
                row[f"{v} ms"] = round(st["median"], 1) if isinstance(st, dict) and "median" in st else st
            for v, ratio in (e.get("ratio_vs_dense") or {}).items():
                if isinstance(ratio, dict) and "median" in ratio:
                    row[f"{v} / dense"] = round(ratio["median"], 2)
            row["rounds"] = e.get("rounds")
            rows.append(row)
        return pd.DataFrame(rows).set_index("case")
    rows = r.get("results") if isinstance(r, dict) and isinstance(r.get("results"), list) else r
    return pd.json_normalize(rows if isinstance(rows, list) else [rows])


def bench_goals(path: Path = BENCH_RESULTS) -> pd.DataFrame | None:
    r = bench_results(path)
    g = r.get("goals") if isinstance(r, dict) else None
    if not isinstance(g, dict) or not g:
        return None
    return pd.DataFrame([{"goal": k, "value": round(v.get("value"), 2) if isinstance(v.get("value"), (int, float))
                          else v.get("value"), "target": v.get("goal"), "met": v.get("met")}
                         for k, v in g.items() if isinstance(v, dict)]).set_index("goal")


def _measured(table, path: Path, missing: str):
    """(table, results) of a benchmark file, or (None, None) after saying in words that it does not exist."""
    t = table(path)
    if t is None:
        display.md(missing)
        return None, None
    return t, bench_results(path)


def show_bench(path: Path = BENCH_RESULTS):
    """Show bench/results.json if it exists; say plainly that it has not been run otherwise."""
    t, r = _measured(bench_table, path, "**The speed benchmark has not been run**: `bench/results.json` does not "
                                        "exist. `make bench` writes it.")
    if t is None:
        return
    env = r.get("environment", {}) if isinstance(r, dict) else {}
    load_avg = r.get("load_average", {}) if isinstance(r, dict) else {}
    meta = [f"created {r['created']}" if r.get("created") else "",
            f"on {env['device_name']}" if env.get("device_name") else "",
            f"{env['torch_threads']} torch threads" if env.get("torch_threads") else "",
            f"load average {load_avg.get('start')} → {load_avg.get('end')}" if load_avg else "",
            f"data: {r['data']}" if r.get("data") else ""] if isinstance(r, dict) else []
    display.md("Speed benchmark from `bench/results.json` (`make bench`, `pemn.bench`)"
               + (": " + ", ".join(m for m in meta if m) if any(meta) else "") + ". Median training step, batch 128, per "
               "backbone at its `cpu`-profile size and variant; ratios are medians of per-round ratios measured side by "
               "side.")
    per_case = t.T.rename_axis("variant")
    for i in range(0, per_case.shape[1], 4):  # one column per backbone, four at a time: narrow enough for the page
        display.show_table(per_case.iloc[:, i:i + 4].dropna(how="all"))
    g = bench_goals(path)
    if g is not None:
        display.show_table(g)
    try:
        from ..bench import table
        text = table(r)
    except Exception:  # an older or newer results schema than this pemn.bench prints: the table above suffices
        text = None
    if text:
        display.md("The benchmark's own summary:\n\n```text\n" + text + "\n```")
    cpu = (r.get("profiles") or {}).get("cpu") if isinstance(r, dict) else None
    if cpu and "uncontended_estimate_h" in cpu:
        measured = timing_summary("cpu")["total_h"]
        display.md(f"**The `cpu` profile's time, estimated and measured.** From the rates above the benchmark "
                   f"estimates {cpu['estimate_h']:.1f} h for the profile's {cpu['runs']} runs, but those rates were "
                   f"measured on a busy machine ({cpu['conditions']}); scaled to an idle machine the estimate is "
                   f"{cpu['uncontended_estimate_h']:.1f} h. The committed runs took {measured:.1f} h of training "
                   f"loop (the timing table above), some of them on a busy machine too.")


def paper_bench_table(path: Path = PAPER_BENCH) -> pd.DataFrame | None:
    """The paper profile on a GPU (``python -m pemn.bench --paper``): per model, its runs, measured steps and hours."""
    r = bench_results(path)
    if not isinstance(r, dict) or "profile" not in r:
        return None
    rows = []
    for key, b in r["profile"]["by_backbone"].items():
        v = r["train_step"][key]["variants"]
        rows.append({"model (batch)": key, "runs": b["runs"],
                     **{f"{k} step ms": round(v[k]["median"], 1) for k in ("dense", "masked", "baseline") if k in v},
                     "GPU hours": round(b["estimate_s"] / 3600, 1)})
    return pd.DataFrame(rows).set_index("model (batch)")


def show_paper_bench(path: Path = PAPER_BENCH):
    """What the paper profile costs on one GPU, from bench/paper.json; says plainly when it was not measured."""
    t, r = _measured(paper_bench_table, path, "**The paper profile has not been timed on a GPU here**: "
                                              "`bench/paper.json` does not exist. `python -m pemn.bench --paper` on a "
                                              "CUDA machine writes it.")
    if t is None:
        return
    env, p, chk, ld = r["environment"], r["profile"], r["epoch_check"], r["loader"]
    display.md(f"Measured on one {env['device_name']} (torch {env['versions']['torch']}, bf16 autocast, "
               f"{env.get('cpu_count')} CPU cores), {r.get('created', '')}: training steps of every model of the `paper` "
               f"grid at its batch size, the evaluation rate, and the paper's augmentation (RandAugment, per image on the "
               f"CPU, over {ld['workers']} worker processes: {ld['paper']['images_per_s']:,.0f} images/s; "
               f"{ld['serial']['images_per_s']:,.0f} in one process). Summed over the {p['runs']} runs, one after another: "
               f"**{p['estimate_h']:.0f} GPU-hours**, {p['loader_share']:.0%} of it the augmentation. As a check, one real "
               f"epoch of `{chk['run_id']}` through `pemn.train.train` took {chk['measured_epoch_s']:.1f} s against "
               f"{chk['estimated_epoch_s']:.1f} s estimated (x{chk['measured_over_estimated']:.2f}). The steps are timed "
               "apart, so this is an estimate from measured rates, not 408 runs made.")
    display.show_table(t)


GPU_CHECK = REPO / "bench" / "cpu-profile-on-h100.json"


def gpu_check(profile: str = "cpu", path: Path = GPU_CHECK) -> pd.DataFrame | None:
    """The ``cpu`` runs repeated on a GPU (``bench/cpu-profile-on-h100.json``) beside the CPU run of the same id as
    recorded now. A masked run without a results version was made before the straight-through-gradient fix
    (results version 1, as ``pemn.runs`` counts it) and is marked so: its difference says nothing about the GPU."""
    from .. import methods
    from .frame import load
    r = bench_results(path)
    if not isinstance(r, dict) or not isinstance(r.get("runs"), dict):
        return None
    cpu = load(profile).set_index("run_id") if not load(profile).empty else pd.DataFrame()
    rows = []
    for rid, g in r["runs"].items():
        strategy = rid.split("-c10-", 1)[-1].rsplit("-s", 1)[0]
        masked = any(strategy.startswith(n) and methods.get(n).masked for n in methods.names())
        stale = masked and g.get("results_version") is None
        here = cpu["final_acc"].get(rid) if len(cpu) else None
        rows.append({"run": rid, "GPU": (g.get("hardware") or {}).get("gpu") or g.get("device"),
                     "GPU accuracy %": round(100 * g["final_test_acc"], 1),
                     "CPU accuracy % (recorded now)": "" if here is None else round(100 * here, 1),
                     "difference (pts)": "" if here is None or stale else round(100 * (g["final_test_acc"] - here), 1),
                     "GPU wall s": round(g.get("wall_time_s", float("nan")), 1),
                     "note": "made before the straight-through-gradient fix (results version 1): not comparable"
                     if stale else ""})
    return pd.DataFrame(rows)


def show_gpu_check(profile: str = "cpu", path: Path = GPU_CHECK):
    """The GPU repeat of a few ``cpu`` runs against their CPU records, or a sentence that there is none."""
    t = gpu_check(profile, path)
    if t is None:
        return display.md(f"No `{profile}` run has been repeated on a GPU (`{Path(path).name}` does not exist).")
    display.show_table(t, f"`cpu` runs repeated on a GPU (`bench/{Path(path).name}`) against the CPU run of the same "
                          f"configuration as recorded now (final-epoch test accuracy).")
