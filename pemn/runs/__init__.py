"""The run pipeline: each run is the training notebook executed by papermill into ``runs/<profile>/<run_id>/``.

A run folder holds ``train.ipynb`` (the executed notebook), ``metrics.json``
(written atomically, only on success), ``model.pt`` (final state, not
committed) and ``model.pemn`` (the compact export). A failed run writes
``error.json`` instead and leaves the other runs alone.

This package is the only reader and writer of ``runs/``: everything else (report,
bench, export) reads a finished run as a :class:`RunRecord`. ``records``: folders, the record and whether the
model file beside it matches; ``pipeline``: executing, training and recording a run, remaking its model file;
``transfer``: runs made on another machine.
"""
# the package's names, as callers use them (``pemn.runs.read_record``)
from .pipeline import (MAX_COMMITTED_MODEL_BYTES, MAX_CURVE_BYTES, UNCOMMITTED_NOTE,
    absent_model_file, compact_learning_curves, config_from_parameters, execute, execute_custom, execute_profile,
    keep_model_file_out_of_git, notebook_parameters, notebook_settings, recalibrate_run, record_file_accuracy,
    remake_command, remake_model_file, train_and_record)  # noqa: F401
from .records import (KERNEL_ARGUMENTS, MODEL_FILE, RECALIBRATION_FILE, RECORD_SCHEMA, STRAIGHT_THROUGH_FIX,
    TRAIN_NOTEBOOK, config_changes, config_matches, current_records, is_complete, kept_out_of_git, model_file_problem,
    notebook_duration_s, pending_kind, planned_runs, profile_status, profiles_on_disk, read_failure, read_record, read_records, recalibrations, recorded_accuracy, results_version, run_dir, run_folders,
    RunRecord, runs_root, why_pending)  # noqa: F401
from .transfer import (IN_PROCESS_NOTE, archive_runs, archive_runs_in_parts, train_in_process, unpack_runs)  # noqa: F401
