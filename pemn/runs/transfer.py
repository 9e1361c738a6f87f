"""Runs made on another machine (a lent GPU): trained in process, packed into archives, unpacked here."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..grids import Run
from ..paths import REPO
from .pipeline import train_and_record
from .records import is_complete, run_dir, runs_root


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
