"""What a run records about where it ran: the code (git), the libraries, and the hardware, down to the CPU kind
that decides whether two runs can be bit-identical.

Training on the CPU is deterministic on one machine, but oneDNN and torch pick their kernels by the processor's
instruction set (AVX2, AVX-512, AMX ...), and those kernels round differently: a run remade on an Intel Xeon
differs in the last bits from the same run made on an AMD EPYC. So bit-identity is a property of a *CPU kind*:
vendor, model name and the instruction-set level torch dispatches to (:func:`cpu_kind`, :func:`same_cpu_kind`).
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Mapping

import torch

from .paths import REPO

# the /proc/cpuinfo flags that change which kernels oneDNN and torch run (the rest do not touch results)
KERNEL_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",
                "amx_tile", "amx_bf16", "amx_int8")
KIND_KEYS = ("cpu_vendor", "processor", "cpu_capability", "cpu_flags")


def git_state() -> dict:
    """The git commit and whether ``pemn/`` differs from it; ``train`` reads it when it starts, with the code."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "pemn"], capture_output=True, text=True,
                                    timeout=10, cwd=REPO).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"git_commit": commit, "git_dirty": dirty}


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    out: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    except OSError:
        pass
    return out


def cpu_kind() -> dict:
    """This machine's CPU kind: vendor, model name, torch's dispatch level and the kernel-relevant flags."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    return {"cpu_vendor": info.get("vendor_id") or platform.machine(),
            "processor": info.get("model name") or platform.processor() or platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_flags": [f for f in KERNEL_FLAGS if f in flags]}


def same_cpu_kind(recorded: Mapping, here: Mapping | None = None) -> bool:
    """Whether hardware ``recorded`` (a record's ``hardware``) is this machine's CPU kind (``here``: now), on every
    field of :data:`KIND_KEYS` both name. Records older than these fields name the processor alone."""
    here = here or cpu_kind()
    shared = [k for k in KIND_KEYS if recorded.get(k) is not None and here.get(k) is not None]
    return bool(shared) and all(recorded[k] == here[k] for k in shared)


def environment(git: dict | None = None) -> dict:
    """Hardware (with the CPU kind), library versions and git commit (``git``, else read now), recorded with every
    result."""
    import numpy
    cuda = torch.cuda.is_available()
    return {
        "hardware": {"machine": platform.machine(), **cpu_kind(),
                     "load_average_1min": os.getloadavg()[0],
                     "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                     "gpu": torch.cuda.get_device_name(0) if cuda else None},
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": numpy.__version__,
                     "pemn": __import__("pemn").__version__},
        **(git or git_state()),
    }
