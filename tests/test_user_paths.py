"""Every path a user takes works as the README says (issue 18): committed runs export, the edited notebook,
input checks before anything is created, stale results, progress, deterministic model files, exit codes; and
(issue 42) a damaged data cache, a notebook executed with a complete run's parameters, the small things."""
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from pemn import __main__ as cli, data as data_mod, export, grids, runs, train
from pemn.train import ConfigError, TrainConfig
from test_first_use import COMMITTED, README, no_network, one_line_error  # noqa: F401  (issue 32's helpers)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "book" / "notebooks" / "train.ipynb"
SMOKE_ID = "convmixer-w16d2k3p4-c10-mp-s0"
TINY = {"dim": 16, "depth": 1, "kernel_size": 3, "patch_size": 8}


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("PEMN_DATA", os.environ.get("PEMN_DATA", str(REPO.parent / "shared" / "data")))
    return tmp_path / "runs"


def synthetic_data(n=64):
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.arange(n) % 10
    return data_mod.Data("cifar10", x, y, x[:40], y[:40], {"kind": "synthetic"})


# --- 2. the README's cheap commands, verbatim; export from what is committed -------------------

CHEAP = ("list", "export", "inspect", "evaluate")


def readme_commands() -> list[str]:
    """The README's ``python -m pemn`` commands that take under a minute (list, export, inspect, evaluate)."""
    text = (REPO / "README.md").read_text()
    lines = [l.split("#", 1)[0].strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)
             for l in block.splitlines()]
    return [l for l in lines if (m := re.match(r"\.venv/bin/python -m pemn (\w+)", l)) and m[1] in CHEAP]


def test_readme_cheap_commands_run_verbatim():
    commands = readme_commands()
    assert {c.split()[3] for c in commands} == set(CHEAP), commands
    python = REPO / ".venv" / "bin" / "python"
    for command in commands:
        argv = shlex.split(command)
        assert "<" not in command and "[" not in command, f"README command with a placeholder: {command}"
        if not python.exists():  # a test run outside `make test`'s .venv: the same command with this interpreter
            argv[0] = sys.executable
        r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PEMN_DATA": os.environ.get("PEMN_DATA", str(REPO.parent / "shared" / "data"))})
        assert r.returncode == 0, f"{command}: {r.stderr}"
        assert "Traceback" not in r.stderr


def test_export_works_from_a_committed_run_folder(tmp_path):
    committed = REPO / "runs" / "cpu" / "convmixer-w64d6k5p4-c10-rp1e-2-s0"
    run = tmp_path / committed.name
    run.mkdir()
    for name in ("model.pemn", "metrics.json"):  # what git holds: no model.pt
        (run / name).write_bytes((committed / name).read_bytes())
    assert cli.main(["export", str(run), "--out", str(tmp_path / "again.pemn")]) == 0
    (again, cfg), (original, cfg0) = export.load_model(tmp_path / "again.pemn"), export.load_model(committed / "model.pemn")
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert cfg == cfg0 and torch.equal(again(x), original(x))
    assert cli.main(["export", str(run), "--seed-mode", "--in-place"]) == 0
    seed_file, full = export.read_file(run / "model-seed.pemn"), export.read_file(run / "model.pemn")
    assert seed_file[2] <= full[2]  # the smaller of the two


# --- 3. the edited notebook -----------------------------------------------------------------

def notebook_defaults() -> dict:
    cell = next(c for c in json.loads(NOTEBOOK.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    namespace: dict = {}
    exec("".join(cell["source"]), namespace)
    return namespace


def test_notebook_defaults_are_make_customs_and_one_edit_is_enough():
    params = notebook_defaults()
    assert runs.config_from_parameters(params) == grids.custom_run({}).config
    assert params["run_dir"] is None and params["ratio"] is None
    for edit in ({"strategy": "mp"}, {"strategy": "dense"}, {"strategy": "one_layer"}, {"seed": 3}, {"epochs": 2},
                 {"backbone": "resnet32", "arch": {}}, {"subset": None}, {"lr": 0.01}):
        cfg = runs.config_from_parameters(params | edit)
        assert {k: getattr(cfg, k) for k in edit} == edit


def test_notebook_builds_every_grid_config_from_its_parameters_and_never_imports_the_report():
    for profile in grids.PROFILES:
        for run in grids.grid(profile).values():
            params = runs.notebook_parameters(run, profile, REPO / "runs" / profile / run.run_id)
            assert runs.config_from_parameters(params) == run.config
    code = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code")
    assert "config_from_parameters(globals())" in code and "report" not in code


def test_environment_opens_and_executes_the_notebook():
    pins = {l.split("==")[0].lower() for l in (REPO / "requirements.txt").read_text().split()}
    assert {"jupyterlab", "nbconvert", "papermill", "hypothesis"} <= pins
    for tool in ("lab", "nbconvert"):
        r = subprocess.run([sys.executable, "-m", "jupyter", tool, "--version"], capture_output=True, text=True,
                           timeout=120, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
        assert r.returncode == 0, r.stderr


def test_notebook_run_by_hand_is_recorded_like_a_custom_run(runs_dir):
    import papermill
    edits = {"strategy": "mp", "epochs": 1, "subset": 256, "test_subset": 100, "arch": TINY}
    out = runs_dir.parent / "out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=edits, cwd=str(NOTEBOOK.parent),
                               kernel_name="python3", progress_bar=False, extra_arguments=runs.KERNEL_ARGUMENTS)
    expected = grids.custom_run(edits)
    folder = runs_dir / "custom" / expected.run_id
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"] == train.config_dict(expected.config) and metrics["run_id"] == expected.run_id
    assert metrics["profile"] == "custom" and (folder / "model.pemn").is_file()
    assert runs.is_complete(folder, expected.config)


# --- 4. every field checked before anything is created ---------------------------------------

def would_start(cfg: TrainConfig) -> None:
    """What a run does first with each field: build, optimizer, schedule, one step, subsets, seeds."""
    model = train.make_model(cfg, 10)
    opt = train.make_optimizer(cfg, model)
    for g in opt.param_groups:
        g["lr"] = train.lr_at(cfg, 0.5)
    out = model(torch.zeros(2, 3, 32, 32))
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 1]), label_smoothing=cfg.label_smoothing).backward()
    opt.step()
    labels = torch.arange(train.SPLIT_SIZES[0]) % 10
    for size in (cfg.subset, cfg.test_subset):
        if size:
            data_mod.stratified_subset(labels, size, cfg.seed)
    torch.Generator().manual_seed(cfg.seed)


ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["dim", "depth", "heads", "x"]), st.one_of(st.integers(-3, 70), st.text(max_size=2)),
                    max_size=2))
FIELDS = [f.name for f in fields(TrainConfig)]


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=ANY_VALUE, typed=st.booleans())
def test_any_single_value_is_rejected_in_one_line_or_runs(field, value, typed):
    """Through the command line's parser (text) or as a Python value: a ConfigError in one line, or a config
    whose run starts."""
    overrides = {field: value} if typed else grids.parse_overrides([f"{field}={json.dumps(value)}"])
    try:
        run = grids.custom_run(overrides)
        train.pick_device(run.config.device)  # checked by the pipeline before it creates a folder
    except ConfigError as e:
        assert "\n" not in str(e) and str(e)
        return
    if run.config.backbone == "resnet56" or (run.config.arch.get("dim", 0) or 0) > 256:
        return  # valid, only slow to build here
    would_start(run.config)


@pytest.mark.parametrize("setting, message", [
    ("seed=abc", "seed must be an integer"), ("weight_decay=abc", "weight_decay must be a number"),
    ("label_smoothing=2", "label_smoothing must be a number in [0, 1)"), ("rescale=abc", "rescale must be true or false"),
    ("arch=null", "arch must be a mapping"), ("arch=", "arch must be a mapping"), ("arch=[]", "arch must be a mapping"),
    ("seed=-1", "seed must be an integer"), ("subset=60000", "subset must be at most 50,000"),
    ('arch={"dim": 0}', "arch dim must be an integer"), ("lr=true", "lr must be None or a number in (0, 1e+06]"), ("lr=1e30", "lr must be None or a number in (0, 1e+06]"),
    ("backbone=[]", "backbone must be a name"),
])
def test_rejected_configuration_leaves_nothing_behind(setting, message, runs_dir, capsys):
    assert cli.main(["custom", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not runs_dir.exists()


# --- 5. results version ----------------------------------------------------------------------

# The reference run below: final train loss (5 decimals), test accuracy on 40 images, checksum of its masks.
PINNED_LOSS, PINNED_ACC, PINNED_MASKS = 2.30583, 0.075, "9fcfdad26baf8441"  # CPU, results version 2


def test_reference_run_is_pinned():
    """A change that moves these numbers changes results: bump pemn.train.RESULTS_VERSION, then update the pins."""
    cfg = TrainConfig(backbone="convmixer", arch=TINY, strategy="rp", ratio=0.1, epochs=2, batch_size=16, device="cpu")
    result = train.train(cfg, progress=False, data=synthetic_data())
    masks = torch.cat([m.mask().flatten() for _, m in export.masked_layers(result["model"])]).to(torch.uint8)
    got = {"train_loss": round(result["history"][-1]["train_loss"], 5), "test_acc": result["final_test_acc"],
           "masks_sha256": hashlib.sha256(masks.numpy().tobytes()).hexdigest()[:16]}
    pinned = {"train_loss": PINNED_LOSS, "test_acc": PINNED_ACC, "masks_sha256": PINNED_MASKS}
    assert got == pinned, (f"the reference run's results moved ({got} != {pinned}): bump pemn.train.RESULTS_VERSION "
                           f"(now {train.RESULTS_VERSION}) so that older runs count as stale, then update these pins")



def _record(tmp_path, **fields_) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    cfg = grids.grid("smoke")[SMOKE_ID].config
    (folder / "metrics.json").write_text(json.dumps({"config": asdict(cfg), "status": "complete", **fields_}))
    return folder


def test_older_results_version_is_stale_and_said(tmp_path):
    cfg = grids.grid("smoke")[SMOKE_ID].config
    before_fix = "97ee632aca2ec8389f3d65cbe43138cd0d28a549"  # the committed smoke runs' commit, before the fix
    assert runs.why_pending(_record(tmp_path, results_version=train.RESULTS_VERSION), cfg) is None
    assert "stale: recorded by results version 1" in runs.why_pending(_record(tmp_path, results_version=1), cfg)
    assert runs.results_version({"config": asdict(cfg), "git_commit": before_fix}) == 1  # masked, before the fix
    assert runs.results_version({"config": {"strategy": "dense"}, "git_commit": before_fix}) == 2  # untouched by it


def test_committed_runs_are_current():
    """Every committed run of the grids (the cpu runs unversioned, the smoke runs remade) is current: none would be
    remade by `make reproduce`."""
    for profile in ("cpu", "smoke"):
        made = {i: r for i, r in grids.grid(profile).items() if (runs.run_dir(profile, i) / "metrics.json").is_file()}
        assert len(made) >= {"cpu": 124, "smoke": 19}[profile]
        pending = {i: runs.why_pending(runs.run_dir(profile, i), r.config) for i, r in made.items()}
        assert not {i: why for i, why in pending.items() if why}, profile


def test_list_pending_says_which_are_stale(runs_dir, capsys):
    folder = runs.run_dir("smoke", SMOKE_ID)
    folder.mkdir(parents=True)
    cfg = grids.grid("smoke")[SMOKE_ID].config
    (folder / "metrics.json").write_text(json.dumps({"config": asdict(cfg), "status": "complete", "results_version": 1}))
    assert cli.main(["list", "--profile", "smoke", "--pending"]) == 0
    out, err = capsys.readouterr()
    assert SMOKE_ID in out.split() and f"smoke/{SMOKE_ID}: stale: recorded by results version 1" in err


def test_checkpoint_of_another_results_version_is_not_resumed(tmp_path, capsys):
    cfg = TrainConfig(backbone="convmixer", arch=TINY, strategy="mp", epochs=2, batch_size=32, device="cpu")
    data = synthetic_data()
    fresh = train.train(cfg, out_dir=tmp_path, progress=False, data=data)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    ckpt["results_version"] = train.RESULTS_VERSION - 1
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    capsys.readouterr()
    again = train.train(cfg, out_dir=tmp_path, progress=False, data=data)
    assert "not resuming" in capsys.readouterr().err
    assert [h["train_loss"] for h in again["history"]] == [h["train_loss"] for h in fresh["history"]]
    assert all(h["seconds"] != f["seconds"] for h, f in zip(again["history"], fresh["history"]))


# --- 6. progress on the terminal; 5. no host paths in the record ------------------------------

def test_a_run_streams_one_line_per_epoch_and_records_no_host_paths(runs_dir, capfd):
    assert runs.execute(grids.grid("smoke")[SMOKE_ID], "smoke", force=True, progress=True)
    out, err = capfd.readouterr()
    assert "convmixer/mp epoch 1/1: train loss" in out and "without encryption" not in out + err
    metrics = json.loads((runs.run_dir("smoke", SMOKE_ID) / "metrics.json").read_text())
    assert metrics["results_version"] == train.RESULTS_VERSION
    assert metrics["export"]["file"] == "model.pemn" and "/" not in metrics["data_source"]["path"]
    inside = runs.notebook_parameters(grids.grid("smoke")[SMOKE_ID], "smoke", REPO / "runs" / "smoke" / SMOKE_ID)
    assert inside["run_dir"] == f"runs/smoke/{SMOKE_ID}"


# --- 7. the model file -------------------------------------------------------------------------

def test_same_model_same_bytes_and_the_smaller_mode(tmp_path):
    cfg = TrainConfig(backbone="convmixer", arch=TINY, strategy="rp", ratio=0.003)
    torch.manual_seed(0)
    model = train.make_model(cfg, 10)
    blobs = set()
    for i in range(6):
        export.export_model(model, cfg, tmp_path / f"{i}.pemn", verify=False)
        blobs.add((tmp_path / f"{i}.pemn").read_bytes())
    assert len(blobs) == 1
    seed = export.export_model(model, cfg, tmp_path / "seed.pemn", seed_mode=True, verify=False)
    plain = export.export_model(model, cfg, tmp_path / "plain.pemn", verify=False)
    chosen = export.export_model(model, cfg, tmp_path / "chosen.pemn", seed_mode=True, verify=False, smallest=True)
    assert chosen["file_bytes"] == min(seed["file_bytes"], plain["file_bytes"])
    assert ("seed_mode_declined" in chosen) == (seed["file_bytes"] >= plain["file_bytes"])


# --- 8. exit codes and small things ------------------------------------------------------------

def test_list_pending_prints_nothing_when_nothing_is_pending(monkeypatch, capsys):
    monkeypatch.setattr(runs, "why_pending", lambda path, cfg=None: None)
    assert cli.main(["list", "--profile", "smoke", "--pending"]) == 0
    assert capsys.readouterr().out == ""


def test_make_run_all_fails_on_an_unknown_profile():
    r = subprocess.run(["make", "--no-print-directory", "run-all", "PROFILE=nosuch", f"PY={sys.executable}"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unknown profile 'nosuch'" in r.stderr


# --- issue 42: a damaged data cache, the notebook route, the small things --------------------------------------

def fake_mirror(tmp_path, monkeypatch) -> Path:
    """A stand-in for the JPEG archive (checked by its own sha256) that decodes to a few images."""
    import numpy as np
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / data_mod.MIRROR).write_bytes(b"a stand-in for the archive")
    monkeypatch.setattr(data_mod, "MIRROR_SHA256", data_mod.sha256(folder / data_mod.MIRROR))
    arrays = {"x_train": np.zeros((20, 32, 32, 3), np.uint8), "y_train": np.arange(20) % 10,
              "x_test": np.ones((10, 32, 32, 3), np.uint8), "y_test": np.arange(10)}
    monkeypatch.setattr(data_mod, "_decode_mirror", lambda path: arrays)
    monkeypatch.setenv("PEMN_DATA", str(folder))
    monkeypatch.setenv("PEMN_CACHE", str(tmp_path / "cache"))
    return folder


def test_a_damaged_cache_is_rebuilt_from_the_archive_and_said(tmp_path, monkeypatch, capsys):
    fake_mirror(tmp_path, monkeypatch)
    data_mod.load("cifar10")
    cache = next((tmp_path / "cache").glob("cifar10-*.npz"))
    cache.write_bytes(cache.read_bytes()[:cache.stat().st_size // 2])  # truncated
    capsys.readouterr()
    assert len(data_mod.load("cifar10").y_train) == 20
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{cache} is damaged (" in err and "rebuilding it from" in err
    assert len(data_mod.load("cifar10").y_test) == 10 and capsys.readouterr().err == ""  # rebuilt whole


def test_a_damaged_cache_without_a_source_is_bad_input_and_leaves_no_run(runs_dir, tmp_path, monkeypatch, capsys,
                                                                          no_network):
    (tmp_path / "data").mkdir()
    cache = tmp_path / "cache" / "cifar10-official-download.npz"  # a download made before: the only copy
    cache.parent.mkdir()
    cache.write_bytes(b"PK\x03\x04 the first bytes of a zip file, cut")
    monkeypatch.setenv("PEMN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PEMN_CACHE", str(cache.parent))
    assert cli.main(["custom", "epochs=1"]) == 2
    one_line_error(capsys, f"{cache} is damaged", "PEMN_DOWNLOAD=1")
    assert not runs_dir.exists() and no_network == []
    assert cli.main(["evaluate", str(COMMITTED / "model.pemn")]) == 2
    one_line_error(capsys, f"{cache} is damaged")


def test_the_notebook_suggests_only_routes_that_behave_and_passes_force():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    intro = "".join(cells[0]["source"])
    assert "nbconvert" not in intro and "pemn custom --notebook" in intro and "jupyter lab" in intro
    assert "force = False" in "".join(cells[1]["source"])
    assert "force=force" in "".join("".join(c["source"]) for c in cells[2:])
    run = grids.grid("smoke")["convmixer-w16d2k3p4-c10-mp-s0"]
    assert runs.notebook_parameters(run, "smoke", REPO / "runs" / "smoke" / run.run_id, force=True)["force"] is True


def test_a_complete_run_is_shown_not_trained_again_unless_forced(runs_dir, monkeypatch, capsys):
    from pemn.runs import pipeline
    monkeypatch.setattr(data_mod, "load", lambda name="cifar10", allow_download=None: synthetic_data())
    real, calls = pipeline.train, []
    monkeypatch.setattr(pipeline, "train", lambda *a, **k: calls.append(1) or real(*a, **k))
    run = grids.custom_run({"arch": TINY, "epochs": 1, "subset": None, "batch_size": 32})
    first = runs.train_and_record(run.config, progress=False)  # the notebook by hand: run_dir None
    folder = runs_dir / "custom" / run.run_id
    assert first["figures"] == ["custom"] and json.loads((folder / "metrics.json").read_text())["figures"] == ["custom"]
    files = {n: (folder / n).read_bytes() for n in ("metrics.json", "model.pemn")}
    capsys.readouterr()
    again = runs.train_and_record(run.config, progress=False)
    assert f"skip {folder} (complete; set force = True" in capsys.readouterr().out
    assert calls == [1] and again["final_test_acc"] == first["final_test_acc"]
    assert {n: (folder / n).read_bytes() for n in files} == files
    runs.train_and_record(run.config, progress=False, force=True)
    assert calls == [1, 1]


def test_executing_the_notebook_with_a_complete_runs_parameters_skips_it(runs_dir, tmp_path):
    import papermill
    src = REPO / "runs" / "smoke" / "convmixer-w16d2k3p4-c10-mp-s0"
    folder = runs_dir / "smoke" / src.name
    shutil.copytree(src, folder)
    files = {f.name: f.read_bytes() for f in folder.iterdir()}
    params = runs.notebook_parameters(grids.grid("smoke")[src.name], "smoke", folder)
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                               cwd=str(NOTEBOOK.parent), kernel_name="python3", progress_bar=False,
                               extra_arguments=runs.KERNEL_ARGUMENTS)
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == files
    outputs = json.dumps(json.loads((tmp_path / "out.ipynb").read_text())["cells"])
    assert f"skip {folder} (complete" in outputs and "final test acc" in outputs  # the recorded result, shown


def test_inspect_prints_the_files_own_format_version_and_both_checksums(capsys):
    assert cli.main(["inspect", str(COMMITTED / "model.pemn")]) == 0
    out = capsys.readouterr().out
    recorded = json.loads((COMMITTED / "metrics.json").read_text())["export"]
    assert "pemn format v1," in out and recorded["format_version"] == 1
    assert f"checksum     {recorded['sha256']} (verified" in out
    assert f"file SHA-256 {hashlib.sha256((COMMITTED / 'model.pemn').read_bytes()).hexdigest()} (of the bytes" in out


def test_list_custom_lists_the_custom_runs_on_disk(runs_dir, capsys):
    done, failed = grids.custom_run({"seed": 7}), grids.custom_run({"seed": 8})
    for run in (done, failed):
        runs.run_dir("custom", run.run_id).mkdir(parents=True)
    (runs.run_dir("custom", done.run_id) / "metrics.json").write_text(json.dumps(
        {"config": asdict(done.config), "status": "complete", "results_version": train.RESULTS_VERSION}))
    (runs.run_dir("custom", failed.run_id) / "error.json").write_text("{}")
    assert cli.main(["list", "--profile", "custom"]) == 0
    assert capsys.readouterr().out.split() == sorted([done.run_id, failed.run_id])
    assert cli.main(["list", "--profile", "custom", "--pending"]) == 0
    assert capsys.readouterr().out.split() == [failed.run_id]
    assert cli.main(["list", "--profile", "custom", "--summary"]) == 0
    assert capsys.readouterr().out == ("custom: 2 runs on disk: 1 complete, 1 to make (0 not made yet, 1 failed or "
                                       "unfinished, 0 stale)\n")


def test_readme_says_how_near_an_equal_bytes_competitor_is():
    assert "fits in the same file" not in README and "within 5 % of the same file size" in README
