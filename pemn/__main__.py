"""Command line: ``python -m pemn {list,run,custom,export,inspect,evaluate}``.

Errors in what the user typed print one line and exit 2; nothing trains
before every parameter has been checked.
"""
from __future__ import annotations

import argparse
import sys


def _list(args) -> int:
    from .grids import grid
    from .runs import is_complete, run_dir
    runs = grid(args.profile)
    ids = [i for i, r in runs.items() if not (args.pending and is_complete(run_dir(args.profile, i), r.config))]
    print("\n".join(ids))
    return 0


def _run(args) -> int:
    from .grids import grid
    from .runs import execute_profile
    runs = grid(args.profile)
    unknown = [i for i in args.id if i not in runs]
    if unknown:
        raise ValueError(f"unknown run id(s) {unknown} in profile {args.profile!r}; "
                         f"`python -m pemn list --profile {args.profile}` lists them")
    return 1 if execute_profile(args.profile, args.id or None, args.force) else 0


def _custom(args) -> int:
    from .grids import parse_overrides
    from .runs import execute_custom
    ok, out = execute_custom(parse_overrides(args.settings), args.force)
    print(f"{'done' if ok else 'failed'}: {out}")
    return 0 if ok else 1


def _recalibrate(args) -> int:
    from .grids import grid
    from .runs import is_complete, recalibrate_run, run_dir
    runs = grid(args.profile)
    ids = args.id or [i for i, r in runs.items() if args.figure in r.figures]
    unknown = [i for i in ids if i not in runs]
    if unknown:
        raise ValueError(f"unknown run id(s) {unknown} in profile {args.profile!r}")
    for i in ids:
        if not is_complete(run_dir(args.profile, i), runs[i].config):
            print(f"skip {i} (not complete)")
            continue
        r = recalibrate_run(args.profile, i, args.images)
        print(f"{i}: " + (f"{r['test_acc_before']:.1%} -> {r['test_acc']:.1%}" if r else "no BatchNorm to recalibrate"),
              flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pemn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the run ids of a profile")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--pending", action="store_true", help="only runs not yet complete with the grid's configuration")
    p.set_defaults(func=_list)
    p = sub.add_parser("run", help="execute a profile's runs (all, or --id ...) with papermill into runs/")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--id", action="append", default=[], help="run id (repeatable); default: every run")
    p.add_argument("--force", action="store_true", help="rerun complete runs")
    p.set_defaults(func=_run)
    p = sub.add_parser("custom", help="run one configuration into runs/custom/, e.g. strategy=rp ratio=0.003")
    p.add_argument("settings", nargs="*", help="key=value pairs of pemn.train.TrainConfig fields")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_custom)
    p = sub.add_parser("recalibrate", help="precise BatchNorm statistics for committed runs, from model.pemn "
                                          "(writes bn_recalibration.json beside each run)")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--figure", default="fig5", help="every run of this figure (default fig5), unless --id is given")
    p.add_argument("--id", action="append", default=[])
    p.add_argument("--images", type=int, default=10000, help="training images to average over")
    p.set_defaults(func=_recalibrate)
    try:
        from .export import add_commands
    except ImportError:
        add_commands = None
    if add_commands is not None:
        add_commands(sub)
    args = parser.parse_args(argv)
    from .data import DataError
    try:
        return args.func(args)
    except (ValueError, DataError) as e:  # ConfigError and every validation error: one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
