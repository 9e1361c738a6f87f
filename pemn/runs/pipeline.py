"""The run pipeline: execute the training notebook with papermill into a run folder, train and record a run,
remake a run's model file without touching its record, and keep the committed files lean."""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, fields
from pathlib import Path

import torch

from ..grids import Run, custom_arch, custom_run, grid
from ..paths import REPO, write_atomic, write_json_atomic
from ..train import TrainConfig, pick_device, train
from .records import (KERNEL_ARGUMENTS, MODEL_FILE, RECALIBRATION_FILE, RECORD_SCHEMA, TRAIN_NOTEBOOK, RunRecord, _metrics,
                      _portable, kept_out_of_git, model_file_problem, pending_kind, read_record, run_dir, runs_root,
                      why_pending)


def notebook_parameters(run: Run, profile: str, out: Path, force: bool = False) -> dict:
    """The papermill parameters of a run: every config field, where to write, and whether to train a complete run
    again (the notebook skips one otherwise)."""
    params = {f.name: getattr(run.config, f.name) for f in fields(TrainConfig)}
    return params | {"profile": profile, "run_id": run.run_id, "run_dir": _portable(out), "figures": list(run.figures),
                     "force": force}


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
    complete and current; True on success (or skip). A run whose record is complete and current but whose model
    file is damaged or missing gets its model file remade (:func:`remake_model_file`), its record left alone.

    With ``progress`` the kernel's output (one line per epoch) streams to this terminal. Bad input stops before
    anything is created: a config the device cannot run, or data that cannot be found or read (DataError, also
    when the kernel finds it; the folder it made is removed, no ``error.json``: nothing was run).
    """
    import papermill

    from .. import data as data_mod
    out = run_dir(profile, run.run_id)
    reason = why_pending(out, run.config)
    if reason is None and not force:
        print(f"skip {profile}/{run.run_id} (complete)")
        return True
    if pending_kind(reason) == "damaged" and not force:
        ok, said = remake_model_file(out, progress)
        print(said, flush=True)
        return ok
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
                                   parameters=notebook_parameters(run, profile, out, force), progress_bar=False,
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
                     run_id: str | None = None, figures=(), progress: bool = True, force: bool = False) -> dict:
    """Train ``cfg`` (resuming from a checkpoint) and write the run's files; returns the result (without model).

    Called by the training notebook. ``folder`` relative to the repository, or absolute; None records the
    configuration as a custom run, in ``runs/custom/<run id>`` (what ``make custom`` would write). A run already
    complete there is not trained again unless ``force``: its record is returned as it is, so that a notebook
    executed by hand with a complete run's parameters shows that run instead of overwriting it.
    """
    if folder is None:
        run = custom_run(asdict(cfg))
        out, profile, run_id = run_dir("custom", run.run_id), "custom", run.run_id
    else:
        out = Path(folder) if Path(folder).is_absolute() else REPO / folder
    if not force and why_pending(out, cfg) is None:
        print(f"skip {_portable(out)} (complete; set force = True to train it again, overwriting its record)",
              flush=True)
        return read_record(out).as_dict()
    figures = list(figures) or (["custom"] if profile == "custom" else [])  # as `make custom` records one
    out.mkdir(parents=True, exist_ok=True)
    from .. import data as data_mod
    data = data_mod.load(cfg.dataset)
    result = train(cfg, out_dir=out, progress=progress, data=data)
    model = result.pop("model")
    result.update({"profile": profile, "run_id": run_id, "figures": figures,
                   "record_schema": RECORD_SCHEMA})
    if result.get("data_source", {}).get("path"):  # where this host keeps the data: the name and checksum say it
        result["data_source"] = {**result["data_source"], "path": Path(result["data_source"]["path"]).name}
    torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, out / "model.pt")
    from ..export import evaluate_file, export_model
    result["export"] = export_model(model, cfg, out / "model.pemn")
    result["export"]["file"] = "model.pemn"
    if cfg.validation:  # a selection run: its record keeps training's validation accuracy; the test set stays unread
        result["final_val_acc_source"] = "the trained model at the end of training (export verifies the file's logits)"
    else:
        record_file_accuracy(result, evaluate_file(out / "model.pemn", data=data))
    keep_model_file_out_of_git(out, result["export"]["file_bytes"])
    write_json_atomic(result, out / "metrics.json")
    (out / "checkpoint.pt").unlink(missing_ok=True)
    print(f"recorded {_portable(out)}", flush=True)
    return result


MAX_COMMITTED_MODEL_BYTES = 192 * 1024  # larger model files stay on the machine that made them (tests/test_lean.py);
# 192 KiB keeps every ConvMixer-64/6 file (dense 167 KB, the tests evaluate them) and leaves out larger dense ones
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
    """The command that makes a run's model file again (``pemn remake``: the record stays as it is)."""
    if record.profile and record.path is not None and \
            Path(record.path).resolve() == run_dir(record.profile, record.run_id).resolve():
        return f".venv/bin/python -m pemn remake --profile {record.profile} --id {record.run_id}"
    return f".venv/bin/python -m pemn remake {_portable(record.path)}"


def absent_model_file(path: str | Path) -> str | None:
    """Why ``path`` (a run's ``model.pemn``) is absent, when its run folder's record says the file exists (kept out
    of the repository, or lost), and how to get it back; None when the file is there or no record speaks of it."""
    path = Path(path)
    if path.exists() or path.name != MODEL_FILE:
        return None
    rec = read_record(path.parent)
    export = (rec.export or {}) if rec is not None else {}
    if not export.get("file_bytes"):
        return None
    recorded = f"{export['file_bytes']:,} B, checksum {export.get('sha256', '?')[:16]}..., as its record says"
    if not kept_out_of_git(path.parent):
        return f"{path} is missing ({recorded}); restore it from git, or remake it with `{remake_command(rec)}`"
    return (f"{path} is not in the repository: model files over {MAX_COMMITTED_MODEL_BYTES // 1024} KiB are not "
            f"committed (this one has {recorded}); remake it with `{remake_command(rec)}`")


def _cpu_kind_name(hardware) -> str:
    return " ".join(str(hardware[k]) for k in ("processor", "cpu_capability") if hardware.get(k)) or "unknown"


def remake_model_file(folder: str | Path, progress: bool = True) -> tuple[bool, str]:
    """Make a complete run's model file again (one kept out of git, or damaged) without touching its record.

    Trains the recorded configuration in a scratch folder (with the recorded torch threads: float sums depend on
    them) and copies only ``model.pemn`` into ``folder``. On the CPU kind that recorded the run the file must have
    the recorded checksum (else it is not written: False); on another kind (other kernels, other rounding:
    :mod:`pemn.provenance`) it is written and the message says how it compares. Returns (ok, what was found);
    a folder without a complete, current record is bad input (ValueError), before anything trains.
    """
    from .. import data as data_mod
    from ..provenance import cpu_kind, same_cpu_kind
    folder = Path(folder)
    rec = read_record(folder)
    if rec is None or not rec.complete or not (rec.export or {}).get("file_bytes"):
        raise ValueError(f"{folder}: no complete run record with a model file here; `pemn run` or `pemn custom` "
                         f"makes the run")
    reason = why_pending(folder, model_file=False)
    if reason:
        raise ValueError(f"{folder}: {reason}; this code cannot remake its model file as recorded (`pemn run ... "
                         f"--force` or `pemn custom ... --force` makes the whole run again)")
    problem = model_file_problem(folder, rec.export, committed_only=False)
    target = folder / MODEL_FILE
    if problem is None:
        return True, f"{target}: there and as recorded ({rec.export['file_bytes']:,} B, checksum ok): nothing to remake"
    cfg = TrainConfig.from_dict(dict(rec.config))
    pick_device(cfg.device)
    data_mod.locate(cfg.dataset)
    print(f"remake {target} ({problem}): training its recorded configuration in a scratch folder; the record "
          f"stays as it is", flush=True)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="pemn-remake-") as scratch:
        torch.set_num_threads(int(rec.hardware.get("torch_threads") or threads))
        try:
            made = train_and_record(cfg, Path(scratch) / rec.run_id, rec.profile or "custom", rec.run_id,
                                    rec.figures, progress=progress)
        finally:
            torch.set_num_threads(threads)
        checksum, recorded = made["export"]["sha256"], rec.export.get("sha256")
        same_kind = same_cpu_kind(rec.hardware)
        if same_kind and checksum != recorded:
            return False, (f"{target}: not written: remade on the CPU kind that recorded it "
                           f"({_cpu_kind_name(rec.hardware)}), its checksum {checksum[:16]}... differs from the "
                           f"recorded {str(recorded)[:16]}... (threads or libraries differ?)")
        write_atomic(target, lambda tmp: shutil.copyfile(Path(scratch) / rec.run_id / MODEL_FILE, tmp))
    if same_kind:
        return True, f"wrote {target}: remade bit for bit (checksum {checksum[:16]}... as recorded)"
    split = "val" if "final_val_acc" in made else "test"
    acc, was = made[f"final_{split}_acc"], rec.get(f"final_{split}_acc")
    found = "checksum matches the record" if checksum == recorded else "checksum differs as expected"
    return True, (f"wrote {target}: remade on another CPU kind ({_cpu_kind_name(cpu_kind())} vs "
                  f"{_cpu_kind_name(rec.hardware)}): {found}; {'validation' if split == 'val' else 'test'} accuracy "
                  f"{100 * acc:.1f} % vs recorded " + (f"{100 * was:.1f} %" if was is not None else "?"))


MAX_CURVE_BYTES = 12 * 1024  # a committed run notebook's learning-curve image (tests/test_lean.py)


def compact_learning_curves(profile: str | None = None) -> list[Path]:
    """Re-render, from each record's history, every run notebook's learning curve that is larger than
    ``MAX_CURVE_BYTES`` (notebooks executed before ``pemn.run_display.compact_png``); returns those rewritten."""
    import base64

    import nbformat

    from ..run_display import compact_png, learning_curve
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


def recalibrate_run(profile: str, run_id: str, images: int = 10000) -> dict | None:
    """Precise BatchNorm statistics for a committed run, from its ``model.pemn`` alone (no retraining).

    Writes ``bn_recalibration.json`` next to the run's record (the record itself is left as it was):
    the file's test accuracy with the running statistics of training, and after recalibration.
    None for a run without BatchNorm (the ViT) or one that already recalibrated while training.
    """
    from .. import data as data_mod
    from ..export import load_model
    from ..train import evaluate, has_batchnorm, precise_bn, run_images
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
