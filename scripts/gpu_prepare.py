"""Prepare the GPU work as one job, within what one call to a lent GPU machine carries and brings back.

``make gpu-prepare`` puts everything the job needs in ``.gpu/`` (git-ignored): CIFAR-10, wheels for what a bare
machine may lack, the checkpoints of runs a previous job left part-way (placed there by ``make gpu-unpack``) and
``plan.json``; then prints the job: one command, one carried path, the bytes it carries and what it will run,
with the time estimated from ``bench/paper.json``. ``make gpu-unpack`` takes the files the job sends back.

The limits are those of the lending tool: 64 MiB carried (tree and carried paths; 60 MiB kept here, for
headroom), a command of at most 2,000 characters, at most 8 carried paths, and at most 8 files of at most
16 MiB back; 10 minutes a call.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GPU_DIR = REPO / ".gpu"
MAX_CARRIED_BYTES = 60 * 2**20
MAX_COMMAND_CHARS = 2000
MAX_CARRIED_PATHS = 8
MAX_FILES_BACK = 8
MAX_FILE_BACK_BYTES = 16 * 2**20
CALL_LIMIT_S = 600
JOB_LIMIT_S = 540          # the job's own limit: the benchmark, the runs and packing (9 minutes)
BENCH_S = 90               # of which the device measurements
PANEL = ("fig3", "convmixer-w256d8k5p2")  # the first panel: Fig. 3 on ConvMixer-256/8, seed 0
COMMAND = "bash scripts/gpu_job.sh"


def tree_bytes() -> int:
    """Bytes of the working tree that a call carries: tracked files and untracked ones git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    return sum((REPO / n).stat().st_size for n in set(names) if n and (REPO / n).is_file())


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def panel_runs(profile: str = "gpu", panel: tuple[str, str] = PANEL, seed: int = 0) -> list:
    """The runs of one figure panel at one seed, in grid order."""
    sys.path.insert(0, str(REPO))
    from pemn.grids import grid
    figure, arch = panel
    return [r for r in grid(profile).values()
            if figure in r.figures and r.run_id.startswith(arch + "-") and r.config.seed == seed]


def plan(profile: str = "gpu", panel: tuple[str, str] = PANEL) -> dict:
    """What the job will run: the panel's runs not yet complete here, and their estimated seconds."""
    sys.path.insert(0, str(REPO))
    from pemn.bench import gpu_estimate
    from pemn.runs import is_complete, run_dir
    paper = json.loads(gpu_estimate.PAPER_JSON.read_text())
    per_run = gpu_estimate.estimate(paper)["profiles"][profile]["per_run_s"]
    todo = [r for r in panel_runs(profile, panel) if not is_complete(run_dir(profile, r.run_id), r.config)]
    return {"profile": profile, "panel": " ".join(panel), "only": [r.run_id for r in todo],
            "estimate_s": {r.run_id: per_run[r.run_id] for r in todo}, "bench_s": BENCH_S,
            "job_limit_s": JOB_LIMIT_S,
            "estimated_from": f"bench/paper.json ({paper['created']}, {paper['environment']['device_name']})"}


def job(carried: int, tree: int) -> dict:
    """The call to make: its command, carried paths and limits, with the sizes measured."""
    return {"command": COMMAND, "carry": [".gpu"], "timeout_s": CALL_LIMIT_S,
            "tree_bytes": tree, "carried_bytes": carried, "total_bytes": tree + carried}


def check_job(j: dict) -> list[str]:
    """What in a job breaks the lending tool's limits (empty when it fits)."""
    problems = []
    if j["total_bytes"] > MAX_CARRIED_BYTES:
        problems.append(f"carries {j['total_bytes'] / 2**20:.1f} MiB, over {MAX_CARRIED_BYTES / 2**20:.0f} MiB")
    if len(j["command"]) > MAX_COMMAND_CHARS:
        problems.append(f"command of {len(j['command'])} characters, over {MAX_COMMAND_CHARS}")
    if len(j["carry"]) > MAX_CARRIED_PATHS:
        problems.append(f"{len(j['carry'])} carried paths, over {MAX_CARRIED_PATHS}")
    return problems


def prepare(data_dir: Path, out: Path = GPU_DIR, profile: str = "gpu") -> dict:
    """Fill ``out`` with the data and the plan (the wheels come from ``make gpu-wheels``); return the job."""
    mirror = Path(data_dir) / "cifar10-jpeg.tar.gz"
    if not mirror.is_file():
        raise FileNotFoundError(f"{mirror} not found: set PEMN_DATA to the folder holding the CIFAR-10 mirror")
    (out / "data").mkdir(parents=True, exist_ok=True)
    target = out / "data" / mirror.name
    if not target.is_file() or target.stat().st_size != mirror.stat().st_size:
        shutil.copyfile(mirror, target)
    p = plan(profile)
    (out / "plan.json").write_text(json.dumps(p, indent=1) + "\n")
    (out / "only.txt").write_text("\n".join(p["only"]) + "\n")
    return {**job(folder_bytes(out), tree_bytes()), "plan": p}


def describe(j: dict) -> str:
    p = j["plan"]
    runs_s = sum(p["estimate_s"].values())
    lines = [f"one job: {len(p['only'])} pending runs of {p['profile']} {p['panel']} seed 0 after {p['bench_s']} s "
             f"of device measurements; estimated {(runs_s + p['bench_s']) / 60:.1f} min ({p['estimated_from']}); "
             f"the job stops itself at {p['job_limit_s']} s and a run cut there resumes in the next job",
             f"carries {j['total_bytes'] / 2**20:.1f} MiB (tree {j['tree_bytes'] / 2**20:.1f} MiB + .gpu "
             f"{j['carried_bytes'] / 2**20:.1f} MiB; limit {MAX_CARRIED_BYTES / 2**20:.0f} MiB)",
             "run it with the device tool:",
             json.dumps({"command": j["command"], "carry": j["carry"], "timeout_s": j["timeout_s"]}),
             "then: make gpu-unpack FILES=<the folder the files came back to>"]
    return "\n".join(lines)


def unpack(folder: Path) -> list[str]:
    """Place what a job sent back: its archives' run folders into runs/, bench files into bench/, and the
    checkpoints of runs it cut into .gpu/resume/ (carried by the next job). Returns the paths written."""
    sys.path.insert(0, str(REPO))
    from pemn.runs import unpack_runs
    archives = sorted(Path(folder).glob("gpu-runs*.tar.gz"))
    if not archives:
        raise FileNotFoundError(f"{folder}: no gpu-runs*.tar.gz (the files a job sends back)")
    written = []
    for archive in archives:
        written += unpack_runs(archive, resume_dir=GPU_DIR / "resume")
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/gpu_prepare.py", description=__doc__.split("\n")[0])
    ap.add_argument("--unpack", metavar="FOLDER", help="place the files a job sent back")
    args = ap.parse_args(argv)
    try:
        if args.unpack:
            written = unpack(Path(args.unpack))
            print(f"unpacked {len(written)} files: "
                  + ", ".join(sorted({'/'.join(w.split('/')[:3]) for w in written})))
            return 0
        j = prepare(Path(os.environ.get("PEMN_DATA", REPO.parent / "shared" / "data")))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(describe(j))
    problems = check_job(j)
    for p in problems:
        print(f"error: the job {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
