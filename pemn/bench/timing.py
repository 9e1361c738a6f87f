"""Timing on a shared machine: interleaved rounds, paired ratios, the thread count to measure with."""
from __future__ import annotations

import os
import statistics
import time

import torch


def choose_threads(requested: int | None) -> tuple[int, str]:
    """Thread count for the measurements, and why.

    On a busy machine (1-minute load average of 1 or more: another job already
    holds a core) torch's default of one thread per core makes every parallel
    region wait for a descheduled thread: measured here, a ConvMixer step took
    3x longer with 2 threads than with 1. The bench then uses 1 thread, as the
    runs sharing such a machine do, and still times the default beside it.
    """
    if requested:
        return requested, "--threads"
    default = torch.get_num_threads()
    load = os.getloadavg()[0]
    if default > 1 and load >= 1.0:
        return 1, f"machine busy (1-min load average {load:.2f} >= 1): 1 thread; {default} timed under options"
    return default, f"torch default ({default}); machine idle enough (1-min load average {load:.2f})"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device) -> float:
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def stats(samples, scale=1e3) -> dict:
    s = sorted(samples)
    q = statistics.quantiles(s, n=4) if len(s) > 1 else [s[0]] * 3
    return {"median": statistics.median(s) * scale, "p25": q[0] * scale, "p75": q[2] * scale, "n": len(s)}


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def interleave(fns: dict, device, budget_s: float, min_rounds: int = 3, max_rounds: int = 30, warmup: int = 1):
    """Time each callable once per round, alternating the order each round, until the budget is used.

    Returns {name: [seconds per round]}: index i of every list comes from the same round.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    samples = {k: [] for k in fns}
    names = list(fns)
    t0 = time.perf_counter()
    rounds = 0
    while True:
        for k in (names if rounds % 2 == 0 else names[::-1]):
            samples[k].append(timed(fns[k], device))
        rounds += 1
        spent = time.perf_counter() - t0
        if rounds >= max_rounds or (rounds >= min_rounds and spent + spent / rounds > budget_s):
            return samples


def paired_ratio(samples: dict, name: str, base: str) -> dict:
    """Median (and quartiles) of the per-round ratios, plus the ratio of the two fastest steps.

    On a shared machine contention only ever adds time, so the ratio of minima is a second, lower-envelope
    view of the same cost; both are recorded.
    """
    r = [a / b for a, b in zip(samples[name], samples[base])]
    return stats(r, scale=1.0) | {"min_ratio": min(samples[name]) / min(samples[base])}
