"""Command line: ``python -m pemn {list,run,custom,remake,recalibrate,export,inspect,evaluate}``.

Exit codes, for every command: 2 for bad input (a typo, an invalid value, a missing or damaged file: one line
on stderr, no traceback; nothing trains before every parameter has been checked), 1 when a run fails, 0 on success.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

BAD_INPUT, FAILURE, SUCCESS = 2, 1, 0


def _list(args) -> int:
    from .runs import planned_runs, profile_status, run_dir, why_pending
    if args.summary:
        n = profile_status(args.profile)
        todo = sum(n.values()) - n["complete"]
        damaged = f", {n['damaged']} with a damaged model file" if n["damaged"] else ""
        print(f"{args.profile}: {sum(n.values())} runs {'on disk' if args.profile == 'custom' else 'in the grid'}: "
              f"{n['complete']} complete, {todo} to make ({n['missing']} not made yet, {n['failed']} failed or "
              f"unfinished, {n['stale']} stale{damaged})", flush=True)
        return SUCCESS
    for run_id, cfg in planned_runs(args.profile).items():
        reason = why_pending(run_dir(args.profile, run_id), cfg) if args.pending else None
        if args.pending and reason is None:
            continue
        if reason and reason != "not made yet":  # say why a run that exists must be made again
            print(f"{args.profile}/{run_id}: {reason}", file=sys.stderr)
        print(run_id)
    return SUCCESS


def _run(args) -> int:
    from .grids import grid
    from .runs import execute_profile
    runs = grid(args.profile)
    unknown = [i for i in args.id if i not in runs]
    if unknown:
        raise ValueError(f"unknown run id(s) {unknown} in profile {args.profile!r}; "
                         f"`python -m pemn list --profile {args.profile}` lists them")
    return FAILURE if execute_profile(args.profile, args.id or None, args.force) else SUCCESS


def _custom(args) -> int:
    from .grids import parse_overrides
    from .runs import execute_custom
    ok, out = execute_custom(parse_overrides(args.settings), args.force, notebook=args.notebook)
    print(f"{'done' if ok else 'failed'}: {out}")
    return SUCCESS if ok else FAILURE


def _remake(args) -> int:
    from pathlib import Path

    from .runs import remake_model_file, run_dir
    if (args.run_dir is None) == (args.id is None):
        raise ValueError("name one run: its folder (pemn remake runs/PROFILE/RUN_ID) or --profile PROFILE --id RUN_ID")
    folder = Path(args.run_dir) if args.run_dir else run_dir(args.profile, args.id)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such run folder"
                         + (f"; `python -m pemn list --profile {args.profile}` lists the run ids" if args.id else ""))
    ok, said = remake_model_file(folder)
    print(said, flush=True)
    return SUCCESS if ok else FAILURE


def _recalibrate(args) -> int:
    from .grids import grid
    from .runs import RECALIBRATION_FILE, is_complete, recalibrate_run, run_dir
    runs = grid(args.profile)
    ids = args.id or [i for i, r in runs.items() if args.figure in r.figures]
    unknown = [i for i in ids if i not in runs]
    if unknown:
        raise ValueError(f"unknown run id(s) {unknown} in profile {args.profile!r}")
    for i in ids:
        if not is_complete(run_dir(args.profile, i), runs[i].config):
            print(f"skip {i} (not complete)")
            continue
        if (run_dir(args.profile, i) / RECALIBRATION_FILE).is_file() and not args.force:
            print(f"skip {i} ({RECALIBRATION_FILE} exists; --force computes it again)")
            continue
        r = recalibrate_run(args.profile, i, args.images)
        print(f"{i}: " + (f"{r['test_acc_before']:.1%} -> {r['test_acc']:.1%}" if r else "no BatchNorm to recalibrate"),
              flush=True)
    return SUCCESS


def _export(args) -> int:
    from .export import ExportError, export_run
    from .runs import absent_model_file
    absent = absent_model_file(Path(args.run_dir) / "model.pemn") if not (Path(args.run_dir) / "model.pt").is_file() \
        else None
    if absent:  # a record that names the file says how to remake it
        raise ExportError(absent)
    r = export_run(args.run_dir, seed_mode=args.seed_mode, out=args.out, in_place=args.in_place)
    if "seed_mode_declined" in r:
        print(r["seed_mode_declined"])
    if "replaced" in r:
        print(r["replaced"])
    print(f"wrote {r['file']}: {r['file_bytes']:,} B = header {r['header_bytes']:,} B + data {r['data_bytes']:,} B; "
          f"accounting ({r['accounting_scheme']}) {r['accounting_bytes']['total']:,.1f} B, deviation "
          f"{r['deviation']:+.3%}; logits verified identical")
    return SUCCESS


def _committed_file(path: str) -> str:
    """``path``, or a bad-input error saying how to remake a model file kept out of the repository."""
    from .runs import absent_model_file
    why = absent_model_file(path)
    if why:
        raise ValueError(why)
    return path


def _inspect(args) -> int:
    from .export import file_report, format_report
    r = file_report(_committed_file(args.file))
    print(json.dumps(r, indent=1) if args.json else format_report(r))
    return SUCCESS


def _evaluate(args) -> int:
    from .export import evaluate_file
    from .runs import recorded_accuracy
    r = evaluate_file(_committed_file(args.file), full_test=args.full_test, device=args.device)
    line = f"{r['file']}: {r['dataset']} test accuracy {r['test_acc']:.4f} on {r['test_size']:,} images"
    recorded = recorded_accuracy(args.file, r["config"])
    if recorded is not None and not args.full_test:
        line += f" (recorded at training: {recorded:.4f})"
    print(line)
    return SUCCESS


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m pemn", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the run ids of a profile (custom: the custom runs on disk)")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--pending", action="store_true",
                   help="only runs not yet complete with the grid's configuration and the current results version, "
                        "or whose committed model file does not match the record (size, then checksum)")
    p.add_argument("--summary", action="store_true",
                   help="one line instead of ids: how many runs are complete, not made yet, failed, stale and with a "
                        "damaged model file")
    p.set_defaults(func=_list)
    p = sub.add_parser("run", help="execute a profile's runs (all, or --id ...) with papermill into runs/")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--id", action="append", default=[], help="run id (repeatable); default: every run")
    p.add_argument("--force", action="store_true", help="rerun complete runs")
    p.set_defaults(func=_run)
    p = sub.add_parser("custom", help="run one configuration into runs/custom/, e.g. strategy=rp ratio=0.003")
    p.add_argument("settings", nargs="*", help="key=value pairs of pemn.train.TrainConfig fields")
    p.add_argument("--force", action="store_true", help="rerun the configuration even if it is complete")
    p.add_argument("--notebook", metavar="NOTEBOOK",
                   help="a copy of book/notebooks/train.ipynb edited by hand: train its parameters cell's values "
                        "(settings given here win) and execute that notebook into the run folder")
    p.set_defaults(func=_custom)
    p = sub.add_parser("remake", help="make a run's model file again (kept out of git, or damaged) in a scratch "
                                      "folder; only model.pemn is written into the run folder, the record stays",
                       description="Train a complete run's recorded configuration in a scratch folder and write only "
                                   "its model.pemn into the run folder; on the CPU kind that recorded the run the file "
                                   "must have the recorded checksum, elsewhere the command says how it compares.")
    p.add_argument("run_dir", nargs="?", help="run folder (or --profile and --id)")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--id", help="run id, with --profile")
    p.set_defaults(func=_remake)
    p = sub.add_parser("export", help="write a run's model as a compact .pemn file",
                       description="Write a run's model (RUN_DIR/model.pt, else the committed RUN_DIR/model.pemn) "
                                   "as one safetensors file: prototype values or seed, masks at 1 bit per weight, "
                                   "other floats.")
    p.add_argument("run_dir", help="run folder holding model.pt or model.pemn")
    p.add_argument("--seed-mode", action="store_true",
                   help="store the PRNG seed instead of the prototype values, where that file is the smaller")
    p.add_argument("--out", help="output file (required unless --in-place)")
    p.add_argument("--in-place", action="store_true",
                   help="replace RUN_DIR/model.pemn (RUN_DIR/model-seed.pemn in seed mode), saying so")
    p.set_defaults(func=_export)
    p = sub.add_parser("inspect", help="storage breakdown of a .pemn file vs the Eq. 10 accounting")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_inspect)
    p = sub.add_parser("evaluate", help="test accuracy of a .pemn file (data from $PEMN_DATA)")
    p.add_argument("file")
    p.add_argument("--full-test", action="store_true", help="all test images even if the run used a test subset")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("recalibrate", help="precise BatchNorm statistics for committed runs, from model.pemn "
                                          "(writes bn_recalibration.json beside each run)")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--figure", default="fig5", help="every run of this figure (default fig5), unless --id is given")
    p.add_argument("--id", action="append", default=[])
    p.add_argument("--images", type=int, default=10000, help="training images to average over")
    p.add_argument("--force", action="store_true", help="compute bn_recalibration.json again where it exists")
    p.set_defaults(func=_recalibrate)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)  # argparse itself exits 2 on a bad command line
    from .data import DataError
    try:
        return args.func(args)
    except (ValueError, DataError) as e:  # ConfigError, ExportError, every validation error: one line
        print(f"error: {e}", file=sys.stderr)
        return BAD_INPUT
    except BrokenPipeError:  # `pemn list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SUCCESS


if __name__ == "__main__":
    sys.exit(main())
