"""``python -m pemn.bench``: run the sections, write the JSON, print the summary table."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from .. import data as data_mod
from .. import provenance
from .. import train as T
from ..grids import grid
from ..paths import REPO, write_json_atomic
from .cases import CPU_CASES, GOAL_BACKBONES, GOALS, OPTION_CASE, PRANC_CASES, VARIANTS, Case
from .estimate import STUDY_IDLE_CONVMIXER_MS, estimate_paper, estimate_profile, run_overhead_s
from .sections import (bench_compile, bench_eval, bench_loader, bench_masks, bench_paper, bench_pranc, bench_smoke,
                       bench_train_steps, compile_child)
from .timing import choose_threads, load_average, paired_ratio


OUT = REPO / "bench" / "results.json"

COMPILE_OUT = REPO / "bench" / "compile.json"

PAPER_OUT = REPO / "bench" / "paper.json"

# Section shares of the time budget; each section still takes its minimum number of rounds when the machine is
# slower than the budget assumes (the rest is setup and the FLOP count).
SHARES = {"mask": 0.03, "train_step": 0.56, "pranc": 0.08, "loader": 0.03, "evaluation": 0.06, "options": 0.07, "smoke": 0.03}


def goals(res: dict) -> dict:
    g = {}
    for key in GOAL_BACKBONES:
        e = res["train_step"].get(key)
        if e:
            q = e["ratio_vs_dense"]["masked"]
            thr = GOALS["masked_step_max_ratio"]
            g[f"masked_vs_dense_{key}"] = {"value": q["median"], "goal": f"<= {thr}", "met": q["median"] <= thr,
                                           "p25": q["p25"], "p75": q["p75"], "min_ratio": q["min_ratio"],
                                           "rounds": e["rounds"],
                                           "resolved": not (q["p25"] <= thr <= q["p75"])}
    biggest = max((v for k, v in res["mask"].items() if "paper" not in k), key=lambda v: v["numel"])
    s = biggest["speedup_vs_sort"]
    g["mask_speedup_vs_sort_largest_layer"] = {"value": s, "shape": biggest["shape"],
                                               "goal": f">= {GOALS['mask_min_speedup_vs_sort']}",
                                               "met": s >= GOALS["mask_min_speedup_vs_sort"]}
    fastest = min(res["train_step"].values(), key=lambda e: e["variants"]["masked"]["median"])
    consumed = fastest["batch"] / (fastest["variants"]["masked"]["median"] / 1e3)
    ratio = res["loader"]["ours"]["images_per_s"] / consumed
    g["loader_vs_training"] = {"value": ratio, "training_images_per_s": consumed,
                               "consumer": f"{fastest['backbone']} masked step",
                               "goal": f">= {GOALS['loader_min_ratio']}", "met": ratio >= GOALS["loader_min_ratio"]}
    return g


def table(res: dict) -> str:
    lines = [f"pemn bench on {res['environment']['device_name']} ({res['device']}), torch {torch.__version__}, "
             f"{res['environment']['torch_threads']} thread(s) [{res['environment']['threads_reason']}], "
             f"load average {res['load_average']['start']} -> {res['load_average']['end']}, {res['elapsed_s']:.0f} s",
             "", "training step, batch 128, median ms [paired ratio to dense: median (p25-p75; ratio of fastest steps)]"]
    for key, e in res["train_step"].items():
        parts = []
        for v, s in e["variants"].items():
            r = e["ratio_vs_dense"].get(v)
            parts.append(f"{v} {s['median']:.0f}" + (f" [{r['median']:.2f} ({r['p25']:.2f}-{r['p75']:.2f}; "
                                                     f"min {r['min_ratio']:.2f})]" if r else ""))
        rounds = (f"{e['rounds']} rounds" if e["rounds"] == e.get("rounds_all_variants", e["rounds"]) else
                  f"{e['rounds']} rounds of dense and masked, {e['rounds_all_variants']} of all")
        lines.append(f"  {key:22s} {', '.join(parts)}  ({rounds})")
    lines += ["", "mask alone, largest layer, median us (ours / sort-based official / former topk)"]
    for key, m in res["mask"].items():
        lines.append(f"  {key:30s} {str(tuple(m['shape'])):18s} {m['ours_us']:8.0f} {m['sort_us']:9.0f} "
                     f"{m['topk_former_us']:8.0f}   sort/ours {m['speedup_vs_sort']:.1f}x, "
                     f"topk/ours {m['speedup_vs_topk_former']:.1f}x")
    ld = res["loader"]
    lines += ["", f"loader (batches + Augment, {ld['images']} images): ours {ld['ours']['images_per_s']:.0f} img/s, "
                  f"former {ld['former']['images_per_s']:.0f}, no augmentation {ld['no_augment']['images_per_s']:.0f}"]
    lines.append("evaluation, masked, img/s: " + "; ".join(
        f"{k} " + ", ".join(f"{v} {e[v]['images_per_s']:.0f}" for v in ("inference_mode", "no_grad", "autograd")
                            if v in e) for k, e in res["evaluation"].items()))
    o = res.get("options")
    if o:
        v = o["variants"]
        lines += ["", f"options on {o['case']}, median ms [paired ratio to the default]: " + ", ".join(
            f"{v[k]['label']} {v[k]['median']:.0f} [{o['ratios'][k]['median']:.2f} "
            f"({o['ratios'][k]['p25']:.2f}-{o['ratios'][k]['p75']:.2f}) vs {o['ratios'][k]['vs']}]"
            for k in v if k in o["ratios"])]
    c = res.get("compile")
    if c:
        when = c.get("measured_separately", {}).get("created")
        lines.append(_compile_line(c) + (f" [measured separately, {when}, --compile-only]" if when else ""))
    lines += ["", "goals:"]
    for k, gl in res["goals"].items():
        extra = ""
        if "resolved" in gl:
            extra = (f"  [p25-p75 {gl['p25']:.2f}-{gl['p75']:.2f}, fastest steps {gl['min_ratio']:.2f}, "
                     f"{gl['rounds']} rounds" + ("" if gl["resolved"] else "; the threshold lies within the noise")
                     + "]")
        lines.append(f"  {k:45s} {gl['value']:.2f} (goal {gl['goal']})  {'MET' if gl['met'] else 'NOT MET'}{extra}")
    p = res.get("profiles", {})
    if p:
        lines += ["", "profiles (one run at a time, under this run's load):"]
        for k in ("smoke", "cpu"):
            v = p[k]
            lines.append(f"  {k:5s} {v['estimate_h']:.2f} h estimated for {v['runs']} runs"
                         + (f" ({v['uncontended_estimate_h']:.2f} h scaled to an idle machine)"
                            if "uncontended_estimate_h" in v else "")
                         + f"; measured so far {v['measured']['complete_runs']} runs: "
                         f"{v['measured']['sum_s'] / 3600:.2f} h, estimated {v['measured']['estimate_of_those_s'] / 3600:.2f} h")
        if "paper" in p:
            pp = p["paper"]
            lines.append(f"  paper ESTIMATE from FLOPs: {pp['estimate_gpu_h_v100']:.0f} V100-hours, "
                         f"{pp['estimate_gpu_h_a100_h100'][0]:.0f}-{pp['estimate_gpu_h_a100_h100'][1]:.0f} "
                         f"A100/H100-hours for {pp['runs']} runs")
    return "\n".join(lines)


def paper_table(res: dict) -> str:
    p, chk, ld = res["profile"], res["epoch_check"], res["loader"]
    lines = [f"pemn bench --paper on {res['environment']['device_name']} ({res['device']}, autocast "
             f"{res['environment']['autocast']}), torch {torch.__version__}, {res['elapsed_s']:.0f} s",
             "", "training step at the paper's batch sizes, median ms (dense / masked / sparse baseline)"]
    for key, e in res["train_step"].items():
        lines.append(f"  {key:28s} " + " / ".join(f"{e['variants'][v]['median']:.1f}" for v in e["variants"])
                     + f"  ({e['rounds']} rounds)")
    lines += [f"loader with the paper's augmentation, batched on the device: {ld['paper']['images_per_s']:.0f} img/s",
              "", f"paper profile, {p['runs']} runs one after another on this device: {p['estimate_h']:.0f} h "
              f"({p['loader_share']:.0%} of it the augmentation)"]
    for key, b in p["by_backbone"].items():
        lines.append(f"  {key:28s} {b['runs']:3d} runs  {b['estimate_s'] / 3600:6.1f} h")
    lines.append(f"one real epoch of {chk['run_id']}: {chk['measured_epoch_s']:.1f} s, estimated "
                 f"{chk['estimated_epoch_s']:.1f} s (x{chk['measured_over_estimated']:.2f})")
    f = res["from_flops"]
    lines.append(f"the FLOP-based estimate for comparison: {f['estimate_gpu_h_a100_h100'][0]:.0f}-"
                 f"{f['estimate_gpu_h_a100_h100'][1]:.0f} A100/H100-hours")
    return "\n".join(lines)


def _compile_line(c: dict) -> str:
    if "compiled_ms" in c:
        return (f"torch.compile (masked convmixer): cold compile {c.get('cold_compile_s', float('nan')):.0f} s, "
                f"warm-cache compile {c.get('warm_compile_s', float('nan')):.0f} s, step {c['eager_ms']:.0f} -> "
                f"{c['compiled_ms']:.0f} ms ({c['ratio_compiled_vs_eager']:.2f}x); break-even after "
                f"{c.get('break_even_steps', float('nan')):.0f} steps (warm cache "
                f"{c.get('break_even_steps_warm_cache') or float('nan'):.0f}), a cpu-profile ConvMixer run has "
                f"{c.get('steps_per_cpu_run', 0)}: {c.get('verdict', '')}")
    return f"torch.compile: not finished within {c['limit_s']} s ({c.get('verdict', '')})"


def environment(device) -> dict:
    env = provenance.environment()
    return {"device_name": env["hardware"]["gpu"] or env["hardware"]["processor"],
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "versions": env["versions"], "git_commit": env["git_commit"], "git_dirty": env["git_dirty"],
            "mkldnn": torch.backends.mkldnn.is_available(),
            "autocast": "bf16" if device.type == "cuda" else "off (float32)"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pemn.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=190.0, help="seconds to spend measuring (default 190)")
    ap.add_argument("--out", default=str(OUT), help=f"JSON output (default {OUT.relative_to(REPO)})")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's, or 1 when the machine is busy; see choose_threads)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--compile-only", action="store_true",
                    help=f"measure torch.compile only, into {COMPILE_OUT.relative_to(REPO)} (a few minutes)")
    ap.add_argument("--compile-limit", type=float, default=480.0, help="seconds allowed to --compile-only")
    ap.add_argument("--compile-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--paper", action="store_true",
                    help=f"time the paper profile's models on a GPU, into {PAPER_OUT.relative_to(REPO)}")
    args = ap.parse_args(argv)
    device = T.pick_device(args.device)
    if args.compile_child:
        if args.threads:
            torch.set_num_threads(args.threads)
        compile_child(device)
        return 0
    threads, why = ((torch.get_num_threads(), "torch default, as training uses") if args.paper else
                    choose_threads(args.threads if device.type == "cpu" else None))
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    alt = default_threads if threads == 1 else 1
    VARIANTS["masked_other_threads"] = dict(strategy="mask", threads=alt, label=f"masked, {alt} thread(s)")
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    command = "python -m pemn.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    head = {"schema": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command.strip(),
            "device": device.type, "environment": environment(device) | {"threads_reason": why},
            "load_average": {"start": load_average()}}
    t0 = time.perf_counter()
    if args.compile_only:
        log(f"torch.compile: child process, limit {args.compile_limit:.0f} s, {threads} thread(s), load {load_average()}")
        res = head | {"compile": _compile_verdict(bench_compile(device, args.compile_limit, threads))}
        res["load_average"]["end"] = load_average()
        res["elapsed_s"] = time.perf_counter() - t0
        write_json_atomic(res, COMPILE_OUT)
        log(_compile_line(res["compile"]))
        log(f"wrote {COMPILE_OUT}")
        return 0

    budget = args.budget
    if args.paper:
        return main_paper(device, head, budget, log, t0, PAPER_OUT if args.out == str(OUT) else Path(args.out))
    res = head | {"budget_s": budget, "goals_set": GOALS}
    log(f"pemn bench: {device.type}, {threads} thread(s) [{why}], load {load_average()}, budget {budget:.0f} s")
    try:
        data = data_mod.load("cifar10", allow_download=False)
        res["data"] = data.source["kind"]
    except data_mod.DataError as e:
        data, res["data"] = None, f"random tensors (CIFAR-10 not found: {str(e).splitlines()[0][:120]})"

    log("mask computation ...")
    res["mask"] = bench_masks(device, budget * SHARES["mask"])
    log("training steps ...")
    res["train_step"] = bench_train_steps(CPU_CASES, device, data, budget * SHARES["train_step"], log=log,
                                          goal_pairs=True)
    log("loader ...")
    res["loader"] = bench_loader(device, data, budget * SHARES["loader"])
    log("evaluation ...")
    res["evaluation"] = bench_eval(CPU_CASES, device, data, budget * SHARES["evaluation"])
    log("options ...")
    case = OPTION_CASE if device.type == "cpu" else Case(OPTION_CASE.backbone, OPTION_CASE.arch, OPTION_CASE.batch,
                                                         tuple(v for v in OPTION_CASE.variants if v != "masked_other_threads"))
    opt = bench_train_steps((case,), device, data, budget * SHARES["options"], log=log)[case.key]
    smp = _samples(opt)
    pairs = {"masked_fused": "masked", "masked_other_threads": "masked", "masked_rp": "masked"}
    res["options"] = {"case": case.key, "variants": opt["variants"], "rounds": opt["rounds"],
                      "load_average": opt["load_average"], "threads": threads,
                      "ratios": {k: paired_ratio(smp, k, b) | {"vs": b} for k, b in pairs.items() if k in smp}}
    log("PRANC against dense ...")
    res["pranc"] = bench_pranc(PRANC_CASES, device, data, budget * SHARES["pranc"], log=log)
    log("smoke-size steps ...")
    res["smoke_steps"] = bench_smoke(device, budget * SHARES["smoke"])
    if COMPILE_OUT.is_file() and device.type == "cpu":
        stored = json.loads(COMPILE_OUT.read_text())
        res["compile"] = stored["compile"] | {"measured_separately": {
            k: stored.get(k) for k in ("created", "command", "load_average", "environment")}}
    res["goals"] = goals(res)
    log("profiles ...")
    overhead, n_overhead = run_overhead_s()
    steps = res["train_step"] | res["smoke_steps"]
    loader_ips = res["loader"]["ours"]["images_per_s"]
    res["profiles"] = {p: estimate_profile(p, steps, res["evaluation"], loader_ips, overhead) for p in ("smoke", "cpu")}
    ref = res["train_step"].get("convmixer-w64d6k5p4")
    for p in ("smoke", "cpu"):
        pr = res["profiles"][p]
        pr["conditions"] = f"{threads} thread(s), load average {res['train_step'][CPU_CASES[0].key]['load_average']}"
        if ref and device.type == "cpu":
            # STUDY.md section 5: the ConvMixer-64/6/p4 step took 68 ms on an idle machine with 2 threads
            f = STUDY_IDLE_CONVMIXER_MS / ref["variants"]["dense"]["median"]
            pr["uncontended_estimate_h"] = pr["estimate_h"] * f
            pr["uncontended_note"] = (f"this estimate x {f:.2f} = idle-machine ConvMixer step in STUDY.md "
                                      f"({STUDY_IDLE_CONVMIXER_MS} ms) / the one measured here; approximate: "
                                      "every backbone and the per-run overhead scaled alike")
    res["profiles"]["overhead_runs_used"] = n_overhead
    res["profiles"]["paper"] = estimate_paper()
    res["load_average"]["end"] = load_average()
    res["elapsed_s"] = time.perf_counter() - t0
    write_json_atomic(res, Path(args.out))
    log("")
    log(table(res))
    log(f"\nwrote {args.out}")
    return 0


def main_paper(device, head: dict, budget: float, log, t0: float, out: Path) -> int:
    if device.type != "cuda":
        print("python -m pemn.bench --paper times the paper's models at their batch sizes (ConvMixer-512/8 at "
              "batch 512 among them): a single step takes minutes on a CPU. Run it where CUDA is available.",
              file=sys.stderr)
        return 2
    data = data_mod.load("cifar10", allow_download=False)
    log(f"pemn bench --paper: {head['environment']['device_name']}, budget {budget:.0f} s")
    res = head | {"budget_s": budget, "data": data.source["kind"]} | bench_paper(device, data, budget, log=log)
    res["load_average"]["end"] = load_average()
    res["elapsed_s"] = time.perf_counter() - t0
    write_json_atomic(res, out)
    log("")
    log(paper_table(res))
    log(f"\nwrote {out}")
    return 0


def _samples(entry: dict) -> dict:
    return {v: s["samples_ms"] for v, s in entry["variants"].items()}


def _compile_verdict(c: dict) -> dict:
    cpu_run = next(r.config for r in grid("cpu").values() if r.config.backbone == "convmixer")
    steps = cpu_run.epochs * ((cpu_run.subset or 50000) // cpu_run.batch_size)
    c["steps_per_cpu_run"] = steps
    if "compiled_ms" in c and "cold_compile_s" in c:
        saved = (c["eager_ms"] - c["compiled_ms"]) / 1e3
        c["break_even_steps"] = c["cold_compile_s"] / saved if saved > 0 else float("inf")
        warm = c.get("warm_compile_s")
        c["break_even_steps_warm_cache"] = warm / saved if (warm is not None and saved > 0) else None
        c["saved_per_cpu_run_s"] = saved * steps
        worth = c["break_even_steps"] < steps
        c["verdict"] = ("worth it" if worth else "not worth it") + " for one cpu-profile ConvMixer run"
    else:
        c["verdict"] = ("the cold compile alone took longer than the limit, more than a cpu-profile ConvMixer run "
                        "could save") if c.get("timed_out") else "failed"
    return c
