"""Run folders and the versioned run record: where runs live, what a finished run wrote, whether a run is
complete and current."""
from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..grids import PROFILES, grid
from ..paths import REPO
from ..train import RESULTS_VERSION, TrainConfig, is_masked

TRAIN_NOTEBOOK = REPO / "book" / "notebooks" / "train.ipynb"
# The straight-through-gradient fix (2026-11-25): records made before results were versioned count as version 2
# (the first numbered) when the fix cannot have touched them (unmasked strategies) or their commit contains it.
STRAIGHT_THROUGH_FIX = "8b1468e"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]  # no "running over TCP without encryption" on every run
RECALIBRATION_FILE = "bn_recalibration.json"  # a committed run's precise-BN re-evaluation (pipeline.recalibrate_run)
MODEL_FILE = "model.pemn"  # a run's compact model file (pemn.pemnfile)


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


def recorded_accuracy(model_file: str | Path, cfg: TrainConfig) -> float | None:
    """The final test accuracy recorded beside ``model_file`` (its run folder's record), when that record is of
    the file's configuration (older records lack newer fields, which default alike); else None."""
    rec = read_record(Path(model_file).parent)
    return rec.final_test_acc if rec is not None and config_matches(rec.config, cfg) else None


def why_pending(path: Path, cfg: TrainConfig | None = None, model_file: bool = True) -> str | None:
    """Why the run in ``path`` must be made (again), or None when it is complete, with ``cfg``, and current; with
    ``model_file``, also when its committed model file does not match the record (:func:`model_file_problem`)."""
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
    return model_file_problem(path, metrics.get("export")) if model_file else None


def is_complete(path: Path, cfg: TrainConfig | None = None) -> bool:
    """A run is complete when it finished, with the current results version (and ``cfg``, given one), and its
    committed model file matches the record."""
    return why_pending(path, cfg) is None


def pending_kind(reason: str | None) -> str:
    """What ``why_pending``'s answer means in one word: complete, missing, failed (or unfinished), damaged (its
    model file does not match the record), or stale (recorded with another configuration or by an older results
    version)."""
    if reason is None:
        return "complete"
    if reason.startswith(MODEL_FILE):
        return "damaged"
    return {"not made yet": "missing", "not complete": "failed"}.get(reason, "stale")


def planned_runs(profile: str) -> dict[str, TrainConfig | None]:
    """A profile's runs by id, each with the configuration it must have: the grid's; ``custom`` has no grid (each
    configuration is a run of its own), so its runs are the folders on disk, each held to its own record."""
    if profile == "custom":
        return dict.fromkeys((p.name for p in run_folders(profile)), None)
    return {run_id: run.config for run_id, run in grid(profile).items()}


def profile_status(profile: str) -> dict[str, int]:
    """How many runs of a profile are complete, missing, failed (or unfinished), stale and damaged."""
    counts = dict.fromkeys(("complete", "missing", "failed", "stale", "damaged"), 0)
    for run_id, cfg in planned_runs(profile).items():
        counts[pending_kind(why_pending(run_dir(profile, run_id), cfg))] += 1
    return counts


# --- the model file beside the record -------------------------------------------------------------------------

def kept_out_of_git(folder: Path) -> bool:
    """Whether a run folder's model file is kept out of the repository (its ``.gitignore`` names it: over the size
    that is committed); such a file is absent from a clone, and ``pemn remake`` makes it."""
    ignore = Path(folder) / ".gitignore"
    return ignore.is_file() and MODEL_FILE in ignore.read_text().split()


def model_file_problem(folder: Path, export: Mapping[str, Any] | None, committed_only: bool = True) -> str | None:
    """How a run's model file disagrees with its record's ``export`` (absent, another size, another checksum), or
    None when it agrees. A file kept out of git is not checked unless ``committed_only`` is False: its absence is
    normal there. The size is checked first (free), the checksum only where the size agrees: the record's
    ``file_sha256`` (newer records), else its ``sha256``, pemn's checksum over the file's metadata and tensors."""
    if not export or not export.get("file_bytes") or (committed_only and kept_out_of_git(folder)):
        return None
    path, recorded = Path(folder) / MODEL_FILE, export["file_bytes"]
    if not path.is_file():
        return f"{MODEL_FILE} missing: record says {recorded:,} bytes"
    size = path.stat().st_size
    if size != recorded:
        return f"{MODEL_FILE} damaged: {size:,} bytes, record says {recorded:,}"
    from ..pemnfile import ExportError, file_sha256, read_file
    if export.get("file_sha256") and file_sha256(path) == export["file_sha256"]:
        return None
    try:
        checksum = read_file(path)[0].get("sha256")
    except ExportError:
        return f"{MODEL_FILE} damaged: {size:,} bytes as recorded, but its content fails its checksum"
    if checksum != export.get("sha256"):
        return (f"{MODEL_FILE} differs from its record: checksum {str(checksum)[:16]}..., record says "
                f"{str(export.get('sha256'))[:16]}...")
    return None


def _portable(path: Path) -> str:
    """``path`` relative to the repository when inside it: tracked records hold no host-specific prefix."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)



def recalibrations(profile: str) -> dict[str, dict]:
    """Every ``bn_recalibration.json`` of ``profile``, by run id."""
    out = {}
    for path in sorted((runs_root() / profile).glob(f"*/{RECALIBRATION_FILE}")):
        try:
            out[path.parent.name] = json.loads(path.read_text())
        except ValueError:
            continue
    return out
