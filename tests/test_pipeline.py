"""The run pipeline: papermill runs into runs/<profile>/<id>/, skips, failures, and the command line."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pemn import grids, runs

REPO = Path(__file__).resolve().parents[1]
SMOKE_ID = "convmixer-w16d2k3p4-c10-mp-s0"


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pemn", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path))
    monkeypatch.setenv("PEMN_DATA", os.environ.get("PEMN_DATA", str(REPO.parent / "shared" / "data")))
    return tmp_path


def test_a_run_executes_once_then_is_skipped(runs_dir, capsys):
    run = grids.grid("smoke")[SMOKE_ID]
    assert runs.execute(run, "smoke", progress=False)
    out = runs_dir / "smoke" / SMOKE_ID
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["run_id"] == SMOKE_ID and metrics["profile"] == "smoke"
    assert metrics["config"]["strategy"] == "mp" and len(metrics["history"]) == 1
    assert metrics["git_commit"] and metrics["versions"]["torch"] and metrics["data_source"]["sha256"]
    assert (out / "train.ipynb").is_file() and (out / "model.pt").is_file()
    assert not (out / "checkpoint.pt").exists() and not list(out.glob("*.tmp"))
    stamp = (out / "metrics.json").stat().st_mtime_ns
    capsys.readouterr()
    assert runs.execute(run, "smoke", progress=False)
    assert "skip smoke/" in capsys.readouterr().out
    assert (out / "metrics.json").stat().st_mtime_ns == stamp
    # an edited profile (here: one more epoch) makes the recorded run stale, so it is not skipped
    assert runs.is_complete(out, run.config)
    assert not runs.is_complete(out, replace(run.config, epochs=2))


def test_a_failed_run_records_its_error_and_no_metrics(runs_dir, tmp_path, monkeypatch):
    run = grids.grid("smoke")[SMOKE_ID]
    out = runs_dir / "smoke" / SMOKE_ID
    out.mkdir(parents=True)
    (out / "checkpoint.pt").write_bytes(b"a damaged checkpoint")  # the run fails in the kernel, reading it
    assert not runs.execute(run, "smoke", progress=False)
    err = json.loads((out / "error.json").read_text())
    assert err["status"] == "failed" and "UnpicklingError" in err["error"]
    assert not (out / "metrics.json").exists()  # missing data is bad input instead: tests/test_first_use.py


@pytest.mark.parametrize("args, message", [
    (("list", "--profile", "tpu"), "unknown profile 'tpu'; valid: smoke, cpu, cpu20k, gpu, paper"),
    (("run", "--profile", "smoke", "--id", "nope"), "unknown run id"),
    (("custom", "strategy=popup"), "unknown strategy 'popup'; valid:"),
    (("custom", "strategy=rp", "ratio=3"), "rp needs a ratio in (0, 1]"),
    (("custom", "stratgy=rp"), "unknown parameter(s) ['stratgy']"),
    (("custom", "keep_ratio=0"), "keep_ratio must be a number in (0, 1]"),
])
def test_bad_parameters_fail_early_with_one_line(args, message, runs_dir):
    r = cli(*args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not any(runs_dir.iterdir())  # nothing started


def test_custom_configuration_runs_into_runs_custom(runs_dir):
    r = cli("custom", "strategy=rp", "ratio=0.003", "epochs=1", "subset=256", "test_subset=100",
            'arch={"dim": 16, "depth": 1, "kernel_size": 3, "patch_size": 8}')
    assert r.returncode == 0, r.stderr
    (out,) = (runs_dir / "custom").iterdir()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["ratio"] == 0.003 and metrics["profile"] == "custom"
    assert out.name == "convmixer-w16d1k3p8-c10-rp3e-3-epochs1-subset256-test_subset100-s0"


def test_command_line_values_read_as_json_or_python_literals():
    assert grids.parse_overrides(["subset=None", "rescale=True", "lr=0.1", "arch={\"dim\": 8}", "optimizer=sgd",
                                  "test_subset=null"]) == {"subset": None, "rescale": True, "lr": 0.1,
                                                           "arch": {"dim": 8}, "optimizer": "sgd",
                                                           "test_subset": None}


def test_custom_runs_differing_in_any_field_get_their_own_folder():
    ids = {grids.custom_run(o).run_id: o for o in (
        {"strategy": "dense"}, {"strategy": "dense", "epochs": 20}, {"strategy": "dense", "subset": None},
        {"strategy": "dense", "lr": 1e-4}, {"strategy": "dense", "optimizer": "sgd"}, {"strategy": "dense", "seed": 1})}
    assert len(ids) == 6
    assert grids.custom_run({"strategy": "dense"}).run_id == "convmixer-w64d6k5p4-c10-dense-s0"
    assert grids.custom_run({"strategy": "dense", "subset": 10000}).run_id == "convmixer-w64d6k5p4-c10-dense-s0"
    assert grids.custom_run({"strategy": "dense", "subset": None, "epochs": 20}).run_id == \
        "convmixer-w64d6k5p4-c10-dense-epochs20-subset-all-s0"
    assert grids.custom_run({"strategy": "dense", "lr": 1e-4}).run_id == "convmixer-w64d6k5p4-c10-dense-lr1e-4-s0"


def test_profiles_list_their_runs(runs_dir):
    r = cli("list", "--profile", "smoke")
    assert r.returncode == 0 and r.stdout.split() == list(grids.grid("smoke"))
    assert cli("list", "--profile", "smoke", "--pending").stdout.split() == list(grids.grid("smoke"))
    assert runs.execute(grids.grid("smoke")[SMOKE_ID], "smoke", progress=False)
    pending = cli("list", "--profile", "smoke", "--pending").stdout.split()
    assert SMOKE_ID not in pending and len(pending) == len(grids.grid("smoke")) - 1
