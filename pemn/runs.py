"""The run pipeline: each run is the training notebook executed by papermill into ``runs/<profile>/<run_id>/``.

A run folder holds ``train.ipynb`` (the executed notebook), ``metrics.json``
(written atomically, only on success), ``model.pt`` (final state, not
committed) and ``model.pemn`` (the compact export). A failed run writes
``error.json`` instead and leaves the other runs alone.

This module is the only reader and writer of ``runs/``: everything else (report,
bench, export) reads a finished run as a :class:`RunRecord`.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import torch

from .grids import PROFILES, Run, custom_arch, custom_run, grid
from .paths import REPO, write_json_atomic
from .train import RESULTS_VERSION, TrainConfig, is_masked, pick_device, train
TRAIN_NOTEBOOK = REPO / "book" / "notebooks" / "train.ipynb"
# The straight-through-gradient fix (2026-11-25): records made before results were versioned count as version 2
# (the first numbered) when the fix cannot have touched them (unmasked strategies) or their commit contains it.
STRAIGHT_THROUGH_FIX = "8b1468e"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]  # no "running over TCP without encryption" on every run


def runs_root() -> Path:
    return Path(os.environ.get("PEMN_RUNS", REPO / "runs"))


def run_dir(profile: str, run_id: str) -> Path:
    return runs_root() / profile / run_id


# --- the run record: what a finished run wrote, read in one place -----------------------------------------------

RECORD_SCHEMA = 1  # version of metrics.json's layout; records written before the field existed have this layout


@dataclass(frozen=True)
class RunRecord:
    """A run's ``metrics.json``, read once, with a schema version.

    The known fields are attributes (a new one is added here and only here);
    every other field of the file, such as one a newer ``train`` writes, is
    kept as written in ``extra`` rather than dropped or refused, so an older
    reader still shows what it does not understand.
    """
    run_id: str
    profile: str | None
    status: str
    config: Mapping[str, Any]
    final_test_acc: float | None = None
    best_epoch_test_acc: float | None = None
    best_epoch: int | None = None
    history: tuple = ()
    unique_values: int | None = None
    kept_fraction: float | None = None
    storage: Mapping[str, Any] = field(default_factory=dict)
    headline_scheme: str | None = None
    compression: float | None = None
    train_size: int | None = None
    test_size: int | None = None
    wall_time_s: float | None = None
    device: str | None = None
    data_source: Mapping[str, Any] = field(default_factory=dict)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    figures: tuple[str, ...] = ()
    export: Mapping[str, Any] | None = None
    schema: int = RECORD_SCHEMA
    extra: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the run folder it was read from (None for a record built in memory)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: Path | None = None) -> "RunRecord":
        """A record from the parsed JSON; unknown fields go to ``extra``, missing optional ones take defaults."""
        known = {f.name for f in fields(cls)} - {"extra", "path", "schema"}
        values = {k: d[k] for k in known if k in d and d[k] is not None}
        values["history"] = tuple(d.get("history") or ())
        values["figures"] = tuple(d.get("figures") or ())
        values.setdefault("run_id", path.name if path else "")
        values.setdefault("profile", path.parent.name if path else None)
        values.setdefault("status", "complete")
        values.setdefault("config", {})
        extra = {k: v for k, v in d.items() if k not in known and k != "record_schema"}
        return cls(**values, schema=int(d.get("record_schema", RECORD_SCHEMA)),
                   extra=MappingProxyType(extra), path=path)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def notebook(self) -> Path | None:
        """The executed training notebook of the run, when it exists."""
        nb = self.path / "train.ipynb" if self.path else None
        return nb if nb is not None and nb.is_file() else None

    def as_dict(self) -> dict:
        """The record as ``metrics.json`` holds it (known fields, then the ones this reader does not know)."""
        known = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "path", "schema")}
        known.update(history=list(self.history), figures=list(self.figures), record_schema=self.schema)
        return {**{k: v for k, v in known.items() if v is not None}, **self.extra}

    def get(self, name: str, default=None):
        """A field by name, known or extra (``record.get("results_version")``)."""
        if name in self.extra:
            return self.extra[name]
        value = getattr(self, name, default) if name not in ("extra", "path") else default
        return default if value is None else value


def profiles_on_disk() -> list[str]:
    """The profile folders under ``runs/``, sorted."""
    root = runs_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def run_folders(profile: str) -> list[Path]:
    """Every run folder of a profile (complete, failed or still running), sorted."""
    return sorted(p for p in (runs_root() / profile).glob("*") if p.is_dir())


def read_record(path: Path) -> RunRecord | None:
    """The record in run folder ``path``, or None without a readable ``metrics.json``."""
    try:
        d = json.loads((Path(path) / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return RunRecord.from_dict(d, Path(path)) if isinstance(d, dict) else None


def read_records(profile: str, complete_only: bool = True) -> list[RunRecord]:
    """Every run record of ``profile`` (complete ones only, by default), in run-id order."""
    out = [read_record(p.parent) for p in sorted((runs_root() / profile).glob("*/metrics.json"))]
    return [r for r in out if r is not None and (r.complete or not complete_only)]


def current_records(profile: str) -> list[RunRecord]:
    """The complete records of ``profile`` as its grid defines them now: a record made under another configuration
    (the grid changed and the run is pending again) is left out, and a record's figures are those the grid gives
    it (a run can join a figure after it was made). A profile without a grid (custom): every complete record."""
    planned = grid(profile) if profile in PROFILES else {}
    out = []
    for rec in read_records(profile):
        run = planned.get(rec.run_id)
        if run is not None:
            if not config_matches(rec.config, run.config):
                continue
            rec = replace(rec, figures=tuple(dict.fromkeys((*run.figures, *rec.figures))))
        out.append(rec)
    return out


def read_failure(path: Path) -> dict | None:
    """A failed run's ``error.json`` (``{"error": ..., "seconds": ...}``), ``{}`` when unreadable, None when absent."""
    f = Path(path) / "error.json"
    if not f.is_file():
        return None
    try:
        d = json.loads(f.read_text())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def notebook_duration_s(path: Path) -> float | None:
    """How long papermill took to execute a run's notebook (its metadata), or None."""
    try:
        return json.loads((Path(path) / "train.ipynb").read_text())["metadata"]["papermill"]["duration"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _metrics(path: Path) -> dict | None:
    rec = read_record(path)
    return rec.as_dict() if rec is not None else None


@functools.lru_cache(maxsize=None)
def _commit_contains(commit: str | None, ancestor: str) -> bool:
    if not commit:
        return False
    try:
        return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit], cwd=REPO,
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def results_version(metrics: dict) -> int:
    """The results version of a run record (see ``pemn.train.RESULTS_VERSION``)."""
    if "results_version" in metrics:
        return metrics["results_version"]
    unaffected = not is_masked(metrics.get("config", {}).get("strategy"))
    return 2 if unaffected or _commit_contains(metrics.get("git_commit"), STRAIGHT_THROUGH_FIX) else 1


def config_changes(recorded: Mapping[str, Any], cfg: TrainConfig) -> dict[str, tuple]:
    """The fields in which a record's configuration differs from ``cfg``: ``{field: (recorded, now)}``. Fields
    added to TrainConfig after a run was made count as their defaults (which reproduce the old behaviour)."""
    old = {**json.loads(json.dumps(asdict(TrainConfig()))), **recorded}
    new = json.loads(json.dumps(asdict(cfg)))
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def config_matches(recorded: Mapping[str, Any], cfg: TrainConfig) -> bool:
    """Whether a record's configuration is ``cfg`` (see ``config_changes``)."""
    return not config_changes(recorded, cfg)


def why_pending(path: Path, cfg: TrainConfig | None = None) -> str | None:
    """Why the run in ``path`` must be made (again), or None when it is complete, with ``cfg``, and current."""
    metrics = _metrics(path)
    if metrics is None or metrics.get("status") != "complete":
        return "not made yet" if metrics is None and not (Path(path) / "error.json").is_file() else "not complete"
    changes = config_changes(metrics.get("config", {}), cfg) if cfg is not None else {}
    if changes:
        return "its recorded configuration differs from the grid's (" + ", ".join(
            f"{k}: {a} -> {b}" for k, (a, b) in changes.items()) + ")"
    version = results_version(metrics)
    if version != RESULTS_VERSION:
        return f"stale: recorded by results version {version}, this code is version {RESULTS_VERSION}"
    return None


def is_complete(path: Path, cfg: TrainConfig | None = None) -> bool:
    """A run is complete when it finished, with the current results version (and ``cfg``, given one)."""
    return why_pending(path, cfg) is None


def pending_kind(reason: str | None) -> str:
    """What ``why_pending``'s answer means in one word: complete, missing, failed (or unfinished), or stale
    (recorded with another configuration or by an older results version)."""
    if reason is None:
        return "complete"
    return {"not made yet": "missing", "not complete": "failed"}.get(reason, "stale")


def profile_status(profile: str) -> dict[str, int]:
    """How many runs of a profile's grid are complete, missing, failed (or unfinished) and stale."""
    counts = dict.fromkeys(("complete", "missing", "failed", "stale"), 0)
    for run_id, run in grid(profile).items():
        counts[pending_kind(why_pending(run_dir(profile, run_id), run.config))] += 1
    return counts


def _portable(path: Path) -> str:
    """``path`` relative to the repository when inside it: tracked records hold no host-specific prefix."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def notebook_parameters(run: Run, profile: str, out: Path) -> dict:
    """The papermill parameters of a run: every config field plus where to write."""
    params = {f.name: getattr(run.config, f.name) for f in fields(TrainConfig)}
    return params | {"profile": profile, "run_id": run.run_id, "run_dir": _portable(out), "figures": list(run.figures)}


def config_from_parameters(namespace: dict) -> TrainConfig:
    """The TrainConfig of a notebook's parameters: every field the namespace defines (the rest default). For a
    custom run (the notebook by hand), a partial ``arch`` completes as ``make custom`` completes it."""
    settings = {f.name: namespace[f.name] for f in fields(TrainConfig) if f.name in namespace}
    if namespace.get("profile", "custom") == "custom" and "arch" in settings:
        settings["arch"] = custom_arch(settings.get("backbone", "convmixer"), settings["arch"])
    return TrainConfig.from_dict(settings)


def notebook_settings(path: str | Path) -> dict:
    """The TrainConfig fields a training notebook's ``parameters`` cell sets (a copy edited by hand, say): what
    ``pemn custom --notebook`` trains. A ValueError, in one line, for a file that is no such notebook."""
    import nbformat
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable notebook ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise ValueError(f"{path}: no cell tagged 'parameters' (book/notebooks/train.ipynb has one)")
    namespace: dict = {}
    try:
        exec(compile(cells[0].source, f"{path}:parameters", "exec"), namespace)
    except Exception as e:
        raise ValueError(f"{path}: its parameters cell fails ({type(e).__name__}: {e})") from None
    return {f.name: namespace[f.name] for f in fields(TrainConfig) if f.name in namespace}


def execute(run: Run, profile: str, force: bool = False, progress: bool = True,
            notebook: str | Path = TRAIN_NOTEBOOK) -> bool:
    """Execute one run's notebook (the training notebook, or a copy of it edited by hand) unless the run is
    complete and current; True on success (or skip).

    With ``progress`` the kernel's output (one line per epoch) streams to this terminal. Bad input stops before
    anything is created: a config the device cannot run, or data that cannot be found or read (DataError, also
    when the kernel finds it; the folder it made is removed, no ``error.json``: nothing was run).
    """
    import papermill

    from . import data as data_mod
    out = run_dir(profile, run.run_id)
    reason = why_pending(out, run.config)
    if reason is None and not force:
        print(f"skip {profile}/{run.run_id} (complete)")
        return True
    if reason and _metrics(out) is not None and not force:
        print(f"rerun {profile}/{run.run_id}: {reason}", flush=True)
    pick_device(run.config.device)  # 'cuda' on a machine without it: say so before creating anything
    data_mod.locate(run.config.dataset)  # no data (or a corrupt archive): bad input, before anything is created
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    if force:
        (out / "checkpoint.pt").unlink(missing_ok=True)
    (out / "error.json").unlink(missing_ok=True)
    print(f"run  {profile}/{run.run_id}", flush=True)
    t0 = time.time()
    stream = {"stdout_file": sys.stdout, "stderr_file": sys.stderr} if progress else {}
    try:
        papermill.execute_notebook(str(notebook), str(out / "train.ipynb"),
                                   parameters=notebook_parameters(run, profile, out), progress_bar=False,
                                   cwd=str(REPO / "book" / "notebooks"), kernel_name="python3",
                                   extra_arguments=KERNEL_ARGUMENTS, **stream)
    except Exception as e:  # papermill raises on any failing cell: record it, do not stop the others
        if getattr(e, "ename", None) == "DataError":  # the data, not the run: bad input, leave no run behind
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise data_mod.DataError(re.sub(r"\x1b\[[0-9;]*m", "", str(e.evalue)).strip()) from None
        write_json_atomic({"status": "failed", "run_id": run.run_id, "profile": profile,
                           "config": asdict(run.config), "error": _error_text(e),
                           "seconds": time.time() - t0}, out / "error.json")
        print(f"FAILED {profile}/{run.run_id}: {_error_text(e).splitlines()[-1] if str(e) else type(e).__name__}"
              f" (see {out / 'error.json'})", flush=True)
        return False
    finally:
        _portable_notebook(out / "train.ipynb")
    return True


def _portable_notebook(path: Path) -> None:
    """Papermill records absolute input and output paths; keep them relative to the repository."""
    import nbformat
    if not path.is_file():
        return
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in meta:
            meta[key] = _portable(meta[key])
    nbformat.write(nb, path)


def _error_text(e: Exception) -> str:
    text = str(e) or "".join(traceback.format_exception_only(e))
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()


def train_and_record(cfg: TrainConfig, folder: str | Path | None = None, profile: str = "custom",
                     run_id: str | None = None, figures=(), progress: bool = True) -> dict:
    """Train ``cfg`` (resuming from a checkpoint) and write the run's files; returns the result (without model).

    Called by the training notebook. ``folder`` relative to the repository, or absolute; None records the
    configuration as a custom run, in ``runs/custom/<run id>`` (what ``make custom`` would write).
    """
    if folder is None:
        run = custom_run(asdict(cfg))
        out, profile, run_id = run_dir("custom", run.run_id), "custom", run.run_id
    else:
        out = Path(folder) if Path(folder).is_absolute() else REPO / folder
    out.mkdir(parents=True, exist_ok=True)
    from . import data as data_mod
    data = data_mod.load(cfg.dataset)
    result = train(cfg, out_dir=out, progress=progress, data=data)
    model = result.pop("model")
    result.update({"profile": profile, "run_id": run_id, "figures": list(figures),
                   "record_schema": RECORD_SCHEMA})
    if result.get("data_source", {}).get("path"):  # where this host keeps the data: the name and checksum say it
        result["data_source"] = {**result["data_source"], "path": Path(result["data_source"]["path"]).name}
    torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, out / "model.pt")
    from .export import evaluate_file, export_model
    result["export"] = export_model(model, cfg, out / "model.pemn")
    result["export"]["file"] = "model.pemn"
    record_file_accuracy(result, evaluate_file(out / "model.pemn", data=data))
    keep_model_file_out_of_git(out, result["export"]["file_bytes"])
    write_json_atomic(result, out / "metrics.json")
    (out / "checkpoint.pt").unlink(missing_ok=True)
    print(f"recorded {_portable(out)}", flush=True)
    return result


MAX_COMMITTED_MODEL_BYTES = 256 * 1024  # larger model files stay on the machine that made them (tests/test_lean.py)
UNCOMMITTED_NOTE = "model.pemn\n"  # a run folder's .gitignore for such a file


def keep_model_file_out_of_git(folder: Path, file_bytes: int) -> None:
    """A model file over the limit is kept out of git by its run folder's ``.gitignore``; its record keeps its
    bytes and checksum, and the run's command remakes it bit for bit."""
    ignore = Path(folder) / ".gitignore"
    if file_bytes > MAX_COMMITTED_MODEL_BYTES:
        ignore.write_text(UNCOMMITTED_NOTE)
    else:
        ignore.unlink(missing_ok=True)


def remake_command(record: RunRecord) -> str:
    """The command that makes a run (again), from its record."""
    if record.profile in PROFILES and record.run_id in grid(record.profile):
        return f".venv/bin/python -m pemn run --profile {record.profile} --id {record.run_id} --force"
    settings = " ".join(f"{k}={json.dumps(v)!r}" if not isinstance(v, str) else f"{k}={v}"
                        for k, v in record.config.items() if v != getattr(TrainConfig(), k, None))
    return f".venv/bin/python -m pemn custom {settings} --force"


def absent_model_file(path: str | Path) -> str | None:
    """Why ``path`` (a run's ``model.pemn``) is absent, when its run folder's record says the file exists but
    is kept out of the repository; None when the file is there or no record speaks of it."""
    path = Path(path)
    if path.exists() or path.name != "model.pemn":
        return None
    rec = read_record(path.parent)
    export = (rec.export or {}) if rec is not None else {}
    if not export.get("file_bytes"):
        return None
    return (f"{path} is not in the repository: model files over {MAX_COMMITTED_MODEL_BYTES // 1024} KiB are not "
            f"committed (this one has {export['file_bytes']:,} B, checksum {export.get('sha256', '?')[:16]}..., as "
            f"its record says); remake it with `{remake_command(rec)}`")


MAX_CURVE_BYTES = 12 * 1024  # a committed run notebook's learning-curve image (tests/test_lean.py)


def compact_learning_curves(profile: str | None = None) -> list[Path]:
    """Re-render, from each record's history, every run notebook's learning curve that is larger than
    ``MAX_CURVE_BYTES`` (notebooks executed before ``pemn.run_display.compact_png``); returns those rewritten."""
    import base64

    import nbformat

    from .run_display import compact_png, learning_curve
    rewritten = []
    for path in sorted(runs_root().glob(f"{profile or '*'}/*/train.ipynb")):
        rec = read_record(path.parent)
        nb = nbformat.read(path, as_version=4)
        big = [o for c in nb.cells for o in c.get("outputs", ())
               if len(o.get("data", {}).get("image/png", "")) > MAX_CURVE_BYTES]
        if rec is None or not big:
            continue
        png = base64.b64encode(compact_png(learning_curve(rec.as_dict()))).decode()
        for o in big:
            o["data"]["image/png"] = png
            o.setdefault("metadata", {})["pemn"] = "re-rendered from metrics.json's history as a compact PNG"
        nbformat.write(nb, path)
        rewritten.append(path)
    return rewritten


def record_file_accuracy(result: dict, evaluated: dict) -> None:
    """Make the record's final test accuracy that of its model file as ``pemn evaluate`` measures it (CPU,
    training's layout and batch size); where training measured another (a GPU's bf16, say), keep both and why."""
    trained = result["final_test_acc"]
    result["final_test_acc"] = evaluated["test_acc"]
    result["final_test_acc_source"] = f"model.pemn evaluated on {evaluated['device']} as `pemn evaluate` does"
    if evaluated["test_acc"] != trained:
        result["training_final_test_acc"] = trained
        result["training_final_test_acc_note"] = (
            f"measured on {result.get('device')} at the end of training; the file's evaluation on "
            f"{evaluated['device']} differs by float rounding (precision or kernels)")


def execute_profile(profile: str, ids=None, force: bool = False) -> int:
    """Run a profile's runs (all, or ``ids``) in grid order; returns the number of failures."""
    runs = grid(profile)
    failures = 0
    for run_id in ids or list(runs):
        failures += not execute(runs[run_id], profile, force)
    return failures


def execute_custom(overrides: dict, force: bool = False, notebook: str | Path | None = None) -> tuple[bool, Path]:
    """One configuration into ``runs/custom/<run id>/``; with ``notebook`` (an edited copy of the training
    notebook), its parameters cell's values under ``overrides``, and that notebook is the one executed."""
    if notebook is not None:
        overrides = {**notebook_settings(notebook), **overrides}
    run = custom_run(overrides)
    return execute(run, "custom", force, notebook=notebook or TRAIN_NOTEBOOK), run_dir("custom", run.run_id)


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


def _changed_folders(profile: str, since: float) -> list[Path]:
    return sorted(p for p in (runs_root() / profile).glob("*") if p.is_dir()
                  and max((f.stat().st_mtime for f in p.iterdir()), default=0) >= since)


def _packed_files(folder: Path) -> list[Path]:
    """What of a run folder travels: everything but ``model.pt`` (the export holds the model) and torn files."""
    return [f for f in sorted(folder.iterdir()) if f.is_file() and f.name != "model.pt" and not f.name.endswith(".tmp")]


def _pack(profile: str, folders: list[Path], archive: Path, extra: dict | None = None) -> None:
    import tarfile
    with tarfile.open(archive, "w:gz") as tar:
        for folder in folders:
            for f in _packed_files(folder):
                tar.add(f, arcname=f"runs/{profile}/{folder.name}/{f.name}")
        for name, path in (extra or {}).items():
            tar.add(path, arcname=name)


def archive_runs(profile: str, since: float, archive: Path, extra: dict | None = None) -> list[str]:
    """Pack the run folders of ``profile`` changed since ``since`` (a time stamp) into a ``.tar.gz``.

    A stopped run's checkpoint travels, so the next machine resumes it. ``extra`` maps names inside the
    archive (``bench/gpu.json``) to files. Returns the run ids packed.
    """
    folders = _changed_folders(profile, since)
    _pack(profile, folders, archive, extra)
    return [f.name for f in folders]


def archive_runs_in_parts(profile: str, since: float, out_dir: Path, max_part_bytes: int, max_parts: int,
                          extra: dict | None = None) -> list[Path]:
    """``archive_runs`` into ``gpu-runs-1.tar.gz``, ``-2``, ... of at most ``max_part_bytes`` each (whole run
    folders, counted before compression: model values and checkpoints hardly compress), the extra files in the
    first. Folders beyond ``max_parts`` parts are left out, and said so on stderr (their runs are made again)."""
    parts: list[list[Path]] = [[]]
    size = sum(Path(p).stat().st_size for p in (extra or {}).values())
    for folder in _changed_folders(profile, since):
        n = sum(f.stat().st_size for f in _packed_files(folder))
        if parts[-1] and size + n > max_part_bytes:
            parts.append([])
            size = 0
        parts[-1].append(folder)
        size += n
    if len(parts) > max_parts:
        left = [f.name for part in parts[max_parts:] for f in part]
        print(f"not sent back (over {max_parts} files): {', '.join(left)}", file=sys.stderr, flush=True)
        parts = parts[:max_parts]
    written = []
    for i, folders in enumerate(parts, 1):
        written.append(Path(out_dir) / f"gpu-runs-{i}.tar.gz")
        _pack(profile, folders, written[-1], extra if i == 1 else None)
    return written


def unpack_runs(archive: Path, resume_dir: Path | None = None) -> list[str]:
    """Unpack an ``archive_runs`` archive: run folders into ``runs/``, ``bench/*.json`` into ``bench/``.

    With ``resume_dir`` a cut run's checkpoint goes there (``<profile>/<run id>/checkpoint.pt``, for the next
    job to carry) and a finished run's old one is removed from there. Any other member is refused before
    anything is written. Returns the paths written.
    """
    import shutil
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
            if resume_dir is not None and parts[0] == "runs":
                if parts[3] == "checkpoint.pt":
                    dest = Path(resume_dir).joinpath(*parts[1:])
                elif parts[3] == "metrics.json":
                    shutil.rmtree(Path(resume_dir).joinpath(*parts[1:3]), ignore_errors=True)
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
    metrics = read_record(out).as_dict()
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


def recalibrations(profile: str) -> dict[str, dict]:
    """Every ``bn_recalibration.json`` of ``profile``, by run id."""
    out = {}
    for path in sorted((runs_root() / profile).glob(f"*/{RECALIBRATION_FILE}")):
        try:
            out[path.parent.name] = json.loads(path.read_text())
        except ValueError:
            continue
    return out
