"""The run pipeline: each run is the training notebook executed by papermill into ``runs/<profile>/<run_id>/``.

A run folder holds ``train.ipynb`` (the executed notebook), ``metrics.json``
(written atomically, only on success), ``model.pt`` (final state, not
committed) and ``model.pemn`` (the compact export). A failed run writes
``error.json`` instead and leaves the other runs alone.
"""
from __future__ import annotations

import json
import os
import re
import time
import traceback
from dataclasses import asdict, fields
from pathlib import Path

import torch

from .grids import Run, custom_run, grid
from .train import TrainConfig, train, write_json_atomic

REPO = Path(__file__).resolve().parent.parent
TRAIN_NOTEBOOK = REPO / "book" / "notebooks" / "train.ipynb"


def runs_root() -> Path:
    return Path(os.environ.get("PEMN_RUNS", REPO / "runs"))


def run_dir(profile: str, run_id: str) -> Path:
    return runs_root() / profile / run_id


def recorded_config(path: Path) -> dict | None:
    """The config of a complete run in ``path``, or None."""
    try:
        metrics = json.loads((path / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return metrics.get("config") if metrics.get("status") == "complete" else None


def is_complete(path: Path, cfg: TrainConfig | None = None) -> bool:
    """A run is complete when it finished, and (given ``cfg``) with that very configuration."""
    recorded = recorded_config(path)
    if recorded is None:
        return False
    if cfg is None:
        return True
    # fields added to TrainConfig after a run was made count as their defaults (which reproduce the old behaviour)
    defaults = json.loads(json.dumps(asdict(TrainConfig())))
    return {**defaults, **recorded} == json.loads(json.dumps(asdict(cfg)))


def notebook_parameters(run: Run, profile: str, out: Path) -> dict:
    """The papermill parameters of a run: every config field plus where to write."""
    params = {f.name: getattr(run.config, f.name) for f in fields(TrainConfig)}
    return params | {"profile": profile, "run_id": run.run_id, "run_dir": str(out), "figures": list(run.figures)}


def execute(run: Run, profile: str, force: bool = False, progress: bool = True) -> bool:
    """Execute one run's notebook unless it is complete; True on success (or skip)."""
    import papermill
    out = run_dir(profile, run.run_id)
    if is_complete(out, run.config) and not force:
        print(f"skip {profile}/{run.run_id} (complete)")
        return True
    stale = recorded_config(out) is not None and not force
    if stale:
        print(f"rerun {profile}/{run.run_id}: its recorded configuration differs from the grid's", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    if force or stale:
        (out / "checkpoint.pt").unlink(missing_ok=True)
    (out / "error.json").unlink(missing_ok=True)
    print(f"run  {profile}/{run.run_id}", flush=True)
    t0 = time.time()
    try:
        papermill.execute_notebook(str(TRAIN_NOTEBOOK), str(out / "train.ipynb"),
                                   parameters=notebook_parameters(run, profile, out), progress_bar=progress,
                                   cwd=str(REPO / "book" / "notebooks"), kernel_name="python3")
    except Exception as e:  # papermill raises on any failing cell: record it, do not stop the others
        write_json_atomic({"status": "failed", "run_id": run.run_id, "profile": profile,
                           "config": asdict(run.config), "error": _error_text(e),
                           "seconds": time.time() - t0}, out / "error.json")
        print(f"FAILED {profile}/{run.run_id}: {_error_text(e).splitlines()[-1] if str(e) else type(e).__name__}"
              f" (see {out / 'error.json'})", flush=True)
        return False
    return True


def _error_text(e: Exception) -> str:
    text = str(e) or "".join(traceback.format_exception_only(e))
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()


def train_and_record(cfg: TrainConfig, run_dir: str | Path | None, profile: str = "custom",
                     run_id: str | None = None, figures=(), progress: bool = True) -> dict:
    """Train ``cfg`` (resuming from a checkpoint) and write the run's files; returns the result (without model).

    Called by the training notebook. With ``run_dir=None`` nothing is written.
    """
    out = Path(run_dir) if run_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    result = train(cfg, out_dir=out, progress=progress)
    model = result.pop("model")
    result.update({"profile": profile, "run_id": run_id, "figures": list(figures)})
    if out:
        torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, out / "model.pt")
        try:
            from .export import export_model
        except ImportError:
            export_model = None
        if export_model is not None:
            result["export"] = export_model(model, cfg, out / "model.pemn")
        write_json_atomic(result, out / "metrics.json")
        (out / "checkpoint.pt").unlink(missing_ok=True)
    return result


def execute_profile(profile: str, ids=None, force: bool = False) -> int:
    """Run a profile's runs (all, or ``ids``) in grid order; returns the number of failures."""
    runs = grid(profile)
    failures = 0
    for run_id in ids or list(runs):
        failures += not execute(runs[run_id], profile, force)
    return failures


def execute_custom(overrides: dict, force: bool = False) -> tuple[bool, Path]:
    run = custom_run(overrides)
    return execute(run, "custom", force), run_dir("custom", run.run_id)


IN_PROCESS_NOTE = """# {run_id}

Trained in process by `scripts/gpu_run.py` on {device}, not by executing `book/notebooks/train.ipynb`
(the GPU machine has no papermill). The same library call as the notebook's (`pemn.runs.train_and_record`)
wrote `metrics.json` (configuration, per-epoch history, accuracy, storage, provenance) and `model.pemn`.
"""


def train_in_process(run: Run, profile: str, progress: bool = False) -> Path:
    """Train one run in this process (no papermill, no notebook) unless it is complete; returns its folder.

    The folder gets what a notebook run writes, except the executed notebook: ``train.md`` says so. A run
    stopped part-way resumes from its checkpoint, as a notebook run does (one of another configuration is
    refused by ``train``, with a message).
    """
    out = run_dir(profile, run.run_id)
    if is_complete(out, run.config):
        return out
    result = train_and_record(run.config, out, profile, run.run_id, run.figures, progress=progress)
    (out / "train.md").write_text(IN_PROCESS_NOTE.format(run_id=run.run_id, device=result["hardware"]["gpu"]
                                                         or result["hardware"]["processor"]))
    return out


def archive_runs(profile: str, since: float, archive: Path, extra: dict | None = None) -> list[str]:
    """Pack the run folders of ``profile`` changed since ``since`` (a time stamp) into a ``.tar.gz``.

    Everything of a folder but ``model.pt`` (the export holds the model): a stopped run's checkpoint travels,
    so the next machine resumes it. ``extra`` maps names inside the archive (``bench/gpu.json``) to files.
    Returns the run ids packed.
    """
    import tarfile
    root = runs_root()
    folders = sorted(p for p in (root / profile).glob("*") if p.is_dir()
                     and max((f.stat().st_mtime for f in p.iterdir()), default=0) >= since)
    with tarfile.open(archive, "w:gz") as tar:
        for folder in folders:
            for f in sorted(folder.iterdir()):
                if f.is_file() and f.name != "model.pt" and not f.name.endswith(".tmp"):
                    tar.add(f, arcname=f"runs/{profile}/{folder.name}/{f.name}")
        for name, path in (extra or {}).items():
            tar.add(path, arcname=name)
    return [f.name for f in folders]


def unpack_runs(archive: Path) -> list[str]:
    """Unpack an ``archive_runs`` archive: run folders into ``runs/``, ``bench/*.json`` into ``bench/``.

    Any other member is refused before anything is written. Returns the paths written.
    """
    import tarfile
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        for m in members:
            parts = Path(m.name).parts
            run_file = len(parts) == 4 and parts[0] == "runs"
            bench_file = len(parts) == 2 and parts[0] == "bench" and parts[1].endswith(".json")
            if not m.isfile() or ".." in parts or not (run_file or bench_file):
                raise ValueError(f"{archive}: unexpected member {m.name!r}; not an archive of scripts/gpu_run.py")
        written = []
        for m in members:
            parts = Path(m.name).parts
            dest = runs_root().joinpath(*parts[1:]) if parts[0] == "runs" else REPO.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(tar.extractfile(m).read())
            written.append(m.name)
    return written


RECALIBRATION_FILE = "bn_recalibration.json"


def recalibrate_run(profile: str, run_id: str, images: int = 10000) -> dict | None:
    """Precise BatchNorm statistics for a committed run, from its ``model.pemn`` alone (no retraining).

    Writes ``bn_recalibration.json`` next to the run's record (the record itself is left as it was):
    the file's test accuracy with the running statistics of training, and after recalibration.
    None for a run without BatchNorm (the ViT) or one that already recalibrated while training.
    """
    from . import data as data_mod
    from .export import load_model
    from .train import evaluate, has_batchnorm, precise_bn, run_images
    out = run_dir(profile, run_id)
    metrics = json.loads((out / "metrics.json").read_text())
    if (metrics.get("bn_recalibration") or metrics["config"].get("bn_recalibration")):
        return None
    model, cfg = load_model(out / "model.pemn")
    if not has_batchnorm(model):
        return None
    data = data_mod.load(cfg.dataset)
    _, (x_test, y_test) = run_images(cfg, data)
    mean, std = data.mean_std()
    before, loss_before = evaluate(model, x_test, y_test, mean, std, torch.device("cpu"))
    result = {"run_id": run_id, "profile": profile, "recorded_test_acc": metrics["final_test_acc"],
              "test_acc_before": before, "test_loss_before": loss_before,
              **precise_bn(model, cfg, data, images),
              "note": "re-evaluated from model.pemn: BatchNorm running statistics replaced by their exact average "
                      "over training images (pemn.train.precise_bn); the run's record is unchanged"}
    write_json_atomic(result, out / RECALIBRATION_FILE)
    return result


def recalibrated(profile: str, run_id: str) -> dict | None:
    """The run's ``bn_recalibration.json``, if any."""
    try:
        return json.loads((run_dir(profile, run_id) / RECALIBRATION_FILE).read_text())
    except (OSError, ValueError):
        return None


def records(profile: str) -> list[dict]:
    """The records (``metrics.json``) of every complete run of ``profile``, in run-id order."""
    out = []
    for path in sorted((runs_root() / profile).glob("*/metrics.json")):
        try:
            r = json.loads(path.read_text())
        except ValueError:
            continue
        if r.get("status") == "complete":
            out.append(r)
    return out


def recalibrations(profile: str) -> dict[str, dict]:
    """Every ``bn_recalibration.json`` of ``profile``, by run id."""
    out = {}
    for path in sorted((runs_root() / profile).glob(f"*/{RECALIBRATION_FILE}")):
        try:
            out[path.parent.name] = json.loads(path.read_text())
        except ValueError:
            continue
    return out
