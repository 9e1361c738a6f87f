"""Run the next pending runs of a profile on a bare GPU machine within a time limit, and pack them into one archive.

On the GPU machine (torch preinstalled, no papermill, no network), from the repository root::

    bash scripts/gpu_job.sh     # what `make gpu-prepare` plans: writes $OUT/gpu-runs-*.tar.gz and summary.json

Back here::

    make gpu-unpack FILES=folder/of/the/files       # run folders into runs/gpu/, bench/gpu.json

The runs are trained in process (``pemn.runs.train_in_process``: metrics.json, model.pemn, and train.md in place
of an executed notebook), seed by seed in grid order, by ``--slots`` worker processes at once that each claim the
next pending run. At the limit the workers are stopped: a run stopped part-way keeps its last epoch's checkpoint,
which the archive carries; ``make gpu-unpack`` keeps it in ``.gpu/resume/`` and the next job resumes it.
With ``--bench S`` the first S seconds measure the device (``pemn.bench.gpu``: augmentation, masked against dense
steps, slots).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEEDED = ("torch", "numpy", "torchvision", "PIL", "safetensors", "tqdm")  # what training and export import
PACK_MARGIN_S = 25.0  # stop the workers this long before the limit: packing and writing back
MAX_ARCHIVE_BYTES = 15 * 2**20  # each file back at most 16 MiB; at most 8 files: 7 archives and summary.json
MAX_ARCHIVES = 7


def place_checkpoints(resume: Path, profile: str) -> list[str]:
    """Copy the checkpoints a previous job left (``resume/<profile>/<id>/checkpoint.pt``) into their run
    folders, where training resumes from them; returns the run ids."""
    import shutil
    from pemn.runs import run_dir
    placed = []
    for ckpt in sorted((resume / profile).glob("*/checkpoint.pt")):
        dest = run_dir(profile, ckpt.parent.name)
        if not (dest / "metrics.json").is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ckpt, dest / "checkpoint.pt")
            placed.append(ckpt.parent.name)
    return placed


def missing_modules() -> list[str]:
    return [m for m in NEEDED if importlib.util.find_spec(m) is None]


def pending(profile: str, only: list[str] | None = None) -> list:
    """The profile's runs still to make (of ``only``, given a list), all of seed 0 first, then seed 1, ...,
    each seed in grid order."""
    from pemn.grids import grid
    from pemn.runs import is_complete, run_dir
    runs = [r for r in grid(profile).values() if only is None or r.run_id in only]
    todo = [r for r in runs if not is_complete(run_dir(profile, r.run_id), r.config)]
    return sorted(todo, key=lambda r: r.config.seed)  # stable: grid order within a seed


def worker(profile: str, claims: Path, only: list[str] | None = None) -> int:
    """Train pending runs one after another; each is claimed first, so that several workers share the list."""
    from pemn.runs import train_in_process
    failures = 0
    for run in pending(profile, only):
        try:
            os.close(os.open(claims / run.run_id, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        t0 = time.time()
        print(f"run  {profile}/{run.run_id}", flush=True)
        try:
            train_in_process(run, profile)
            print(f"done {profile}/{run.run_id} in {time.time() - t0:.0f} s", flush=True)
        except Exception as e:  # one failing run must not stop the others: say which, go on
            failures += 1
            print(f"FAILED {profile}/{run.run_id}: {type(e).__name__}: {e}", flush=True)
    return 1 if failures else 0


def stop(procs: list) -> None:
    """SIGTERM, a few seconds' grace, then SIGKILL: a checkpoint is written atomically, so none is torn."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 5
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/gpu_run.py", description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="gpu")
    ap.add_argument("--limit", type=float, default=510.0, help="seconds for everything, packing included (510)")
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu-out"), help="folder for the archive ($OUT)")
    ap.add_argument("--bench", type=float, default=0.0, help="seconds of device measurements first (0: none)")
    ap.add_argument("--slots", type=int, default=1, help="runs at once on the GPU")
    ap.add_argument("--only", metavar="FILE", help="a file of run ids, one a line: only these (default: all)")
    ap.add_argument("--resume", metavar="DIR", help="checkpoints of runs a previous job cut (DIR/<profile>/<id>/)")
    ap.add_argument("--worker", metavar="CLAIMS", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    only = Path(args.only).read_text().split() if args.only else None
    t_start = time.time()
    sys.path.insert(0, str(REPO))
    if args.worker:
        return worker(args.profile, Path(args.worker), only)
    missing = missing_modules()
    if missing:
        print(f"missing Python packages: {', '.join(missing)}; build wheels here with `make gpu-wheels` and "
              "carry .gpu (scripts/gpu_run.sh installs them)", file=sys.stderr)
        return 2
    from pemn import data
    from pemn.grids import get_profile
    from pemn.runs import archive_runs_in_parts
    from pemn.train import ConfigError
    try:
        get_profile(args.profile)
        data.load("cifar10", allow_download=False)  # decode and cache once, before the workers read the cache
    except (ConfigError, data.DataError) as e:
        print(e, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resumed = place_checkpoints(Path(args.resume), args.profile) if args.resume else []
    work = Path(tempfile.mkdtemp(prefix="pemn-gpu-run-"))
    (work / "claims").mkdir()
    summary = {"profile": args.profile, "limit_s": args.limit, "slots": args.slots, "pending_before":
               len(pending(args.profile, only)), "resumed": resumed}
    extra = {}
    if args.bench > 0:
        bench_json = work / "gpu.json"
        code = subprocess.call([sys.executable, "-m", "pemn.bench.gpu", "--profile", args.profile, "--budget",
                                str(args.bench), "--slots", str(args.slots), "--out", str(bench_json)], cwd=REPO)
        summary["bench_exit"] = code
        if code == 0:
            extra["bench/gpu.json"] = bench_json
    deadline = t_start + args.limit - PACK_MARGIN_S
    logs = [open(work / f"worker{i}.log", "w") for i in range(args.slots)]
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(work / "claims"),
                               "--profile", args.profile, *(["--only", args.only] if args.only else [])],
                              cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
             for log in logs]
    while time.time() < deadline and any(p.poll() is None for p in procs):
        time.sleep(1)
    stopped = any(p.poll() is None for p in procs)
    stop(procs)
    for log in logs:
        log.close()
    log_text = "".join(f"--- worker {i}\n" + (work / f"worker{i}.log").read_text() for i in range(args.slots))
    (work / "workers.log").write_text(log_text)
    extra[f"bench/gpu-run-{time.strftime('%Y%m%d-%H%M%S')}.log.json"] = _log_json(work, log_text, summary)
    archives = archive_runs_in_parts(args.profile, t_start, out, MAX_ARCHIVE_BYTES, MAX_ARCHIVES, extra)
    summary |= {"stopped_at_limit": stopped, "pending_after": len(pending(args.profile, only)),
                "seconds": time.time() - t_start, "archives": [a.name for a in archives]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(log_text[-6000:])
    print(json.dumps(summary, indent=1))
    return 0


def _log_json(work: Path, log_text: str, summary: dict) -> Path:
    """The workers' log and the run's settings as one small JSON file for bench/ (what happened on the machine)."""
    path = work / "log.json"
    path.write_text(json.dumps({**summary, "log": log_text.splitlines()}, indent=1) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
