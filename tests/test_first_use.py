"""A new user's paths, as the README tells them (issue 32): data errors are bad input, FORCE=1 for make custom, the
notebook route, export never overwrites unasked, the README's commands exist, make reproduce says what it will do,
divergence stops in one line, a partial arch completes from the profile, and the small things."""
import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from pemn import __main__ as cli, data as data_mod, export, grids, runs, train
from pemn.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "book" / "notebooks" / "train.ipynb"
README = (REPO / "README.md").read_text()
SHARED = os.environ.get("PEMN_DATA", str(REPO.parent / "shared" / "data"))
TINY = {"dim": 16, "depth": 1, "kernel_size": 3, "patch_size": 8}
COMMITTED = REPO / "runs" / "cpu" / "convmixer-w64d6k5p4-c10-rp1e-3-s0"  # a format-1 model file (20,332 B)


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("PEMN_DATA", SHARED)
    return tmp_path / "runs"


@pytest.fixture
def no_network(monkeypatch):
    """torchvision's datasets record any attempt (a download would create folders and reach the network)."""
    import torchvision
    calls = []

    def attempt(root, train=True, download=False, **kwargs):
        calls.append((root, download))
        raise RuntimeError("no network here")
    for name in ("CIFAR10", "CIFAR100"):
        monkeypatch.setattr(torchvision.datasets, name, attempt)
    monkeypatch.delenv("PEMN_DOWNLOAD", raising=False)
    return calls


def synthetic_data(n=64):
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.arange(n) % 10
    return data_mod.Data("cifar10", x, y, x[:40], y[:40], {"kind": "synthetic"})


def one_line_error(capsys, *words):
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return out, err


# --- 1. missing or corrupt data is bad input -------------------------------------------------

@pytest.mark.parametrize("corrupt", [False, True])
def test_missing_or_corrupt_data_is_bad_input_and_leaves_no_run(corrupt, runs_dir, tmp_path, monkeypatch, capsys,
                                                                no_network):
    empty = tmp_path / "data"
    empty.mkdir()
    if corrupt:
        (empty / data_mod.MIRROR).write_bytes(b"not an archive")
    monkeypatch.setenv("PEMN_DATA", str(empty))
    monkeypatch.setenv("PEMN_CACHE", str(tmp_path / "cache"))
    assert cli.main(["custom", "strategy=rp", "ratio=0.003", "epochs=1"]) == 2
    out, _ = one_line_error(capsys, *(["corrupt: sha256"] if corrupt else ["cifar10 not found", "PEMN_DATA"]))
    assert "FAILED" not in out and not runs_dir.exists() and no_network == []


def test_data_error_inside_the_kernel_is_bad_input_too(runs_dir, monkeypatch, capsys):
    """A source that passes the check but fails to read (a damaged official folder): the kernel's DataError."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    def fails(input_path, output_path, **kwargs):
        Path(output_path).write_text("{}")
        raise PapermillExecutionError(3, 3, "result = ...", "DataError", "cifar10 not found. Looked for: ... (damaged)",
                                      [])
    monkeypatch.setattr(papermill, "execute_notebook", fails)
    assert cli.main(["custom", "epochs=1"]) == 2
    one_line_error(capsys, "cifar10 not found")
    assert not (runs_dir / "custom").exists() or not any((runs_dir / "custom").iterdir())


# --- 2. a PEMN_DATA that does not exist is neither created nor downloaded into -----------------

def test_nonexistent_data_folder_is_not_created_and_nothing_is_downloaded(tmp_path, monkeypatch, capsys, no_network):
    nowhere = tmp_path / "typo" / "data"
    monkeypatch.setenv("PEMN_DATA", str(nowhere))
    monkeypatch.setenv("PEMN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    with pytest.raises(data_mod.DataError, match="does not exist.*PEMN_DOWNLOAD=1"):
        data_mod.load("cifar10")
    assert cli.main(["evaluate", str(COMMITTED / "model.pemn")]) == 2
    one_line_error(capsys, "cifar10 not found", "does not exist")
    assert cli.main(["custom", "epochs=1"]) == 2
    one_line_error(capsys, "cifar10 not found")
    assert not (tmp_path / "typo").exists() and no_network == [] and not (tmp_path / "runs").exists()
    monkeypatch.setenv("PEMN_DOWNLOAD", "1")  # asked for: then, and only then, torchvision is tried
    with pytest.raises(data_mod.DataError, match="no network here"):
        data_mod.load("cifar10")
    assert no_network == [(str(nowhere), True)]


# --- 3. FORCE=1 for make custom -----------------------------------------------------------------

def make_dry(*args) -> str:
    r = subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_make_custom_honours_force():
    assert re.search(r"-m pemn custom strategy=rp ratio=0\.003 --force$",
                     make_dry("custom", "FORCE=1", "ARGS=strategy=rp ratio=0.003"), re.M)
    assert "--force" not in make_dry("custom", "ARGS=strategy=rp ratio=0.003")
    assert 'make custom FORCE=1 ARGS="' in README


# --- 4. the notebook route ---------------------------------------------------------------------

def test_notebook_route_records_the_executed_notebook_prints_epochs_and_leaves_book_alone(runs_dir, tmp_path, capfd):
    import nbformat
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    edits = {"strategy": '"mp"', "epochs": "1", "subset": "256", "test_subset": "100", "arch": json.dumps(TINY)}
    for name, value in edits.items():  # as a user edits the first cell
        cell.source, n = re.subn(rf"^{name} = .*?(\s+#.*)?$", rf"{name} = {value}", cell.source, flags=re.M)
        assert n == 1, name
    edited = tmp_path / "my-train.ipynb"
    nbformat.write(nb, edited)
    book_before = sorted(p.relative_to(REPO) for p in (REPO / "book").rglob("*") if ".ipynb_checkpoints" not in str(p))
    assert cli.main(["custom", "--notebook", str(edited)]) == 0
    out, err = capfd.readouterr()
    expected = grids.custom_run({"strategy": "mp", "epochs": 1, "subset": 256, "test_subset": 100, "arch": TINY})
    folder = runs_dir / "custom" / expected.run_id
    assert "convmixer/mp epoch 1/1: train loss" in out and "without encryption" not in out + err
    executed = nbformat.read(folder / "train.ipynb", as_version=4)  # so the run has its page in the book
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert 'strategy = "mp"' in "".join(c.source for c in executed.cells)
    assert runs.is_complete(folder, expected.config)
    book_after = sorted(p.relative_to(REPO) for p in (REPO / "book").rglob("*") if ".ipynb_checkpoints" not in str(p))
    assert book_after == book_before
    assert ".venv/bin/python -m pemn custom --notebook book/notebooks/train.ipynb" in README
    assert "nbconvert --to notebook --execute" not in README


def test_notebook_option_refuses_what_is_not_a_training_notebook(tmp_path, runs_dir, capsys):
    assert cli.main(["custom", "--notebook", str(tmp_path / "none.ipynb")]) == 2
    one_line_error(capsys, "not a readable notebook")
    import nbformat
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / "other.ipynb")
    assert cli.main(["custom", "--notebook", str(tmp_path / "other.ipynb")]) == 2
    one_line_error(capsys, "no cell tagged 'parameters'")
    assert not runs_dir.exists()


# --- 5. export never overwrites a run's model file unless asked -----------------------------------

def test_export_needs_out_or_in_place_and_says_what_it_replaced(tmp_path, capsys):
    run = tmp_path / COMMITTED.name
    run.mkdir()
    for name in ("model.pemn", "metrics.json"):
        shutil.copy(COMMITTED / name, run / name)
    before = (run / "model.pemn").read_bytes()
    assert cli.main(["export", str(run)]) == 2
    one_line_error(capsys, "--out FILE", "--in-place")
    assert (run / "model.pemn").read_bytes() == before
    assert cli.main(["export", str(run), "--out", str(tmp_path / "a.pemn"), "--in-place"]) == 2
    one_line_error(capsys, "(not both)")
    assert cli.main(["export", str(run), "--out", str(tmp_path / "a.pemn")]) == 0
    assert (run / "model.pemn").read_bytes() == before and "replaced" not in capsys.readouterr().out
    assert cli.main(["export", str(run), "--in-place"]) == 0
    out = capsys.readouterr().out
    assert f"replaced {run / 'model.pemn'} (was format 1, {len(before):,} B; now format 2" in out


# --- 6. evaluate compares configs with defaults filled ---------------------------------------------

def test_evaluate_recognises_a_record_made_before_newer_fields(tmp_path):
    cfg = TrainConfig(backbone="convmixer", arch=TINY, strategy="rp", ratio=0.1, device="cpu")
    torch.manual_seed(0)
    model = train.make_model(cfg, 10)
    run = tmp_path / "run"
    export.export_model(model, cfg, run / "model.pemn")
    older = {k: v for k, v in asdict(cfg).items() if k not in ("value_bits", "budget_bits", "bn_recalibration")}
    (run / "metrics.json").write_text(json.dumps({"config": older, "final_test_acc": 0.125}))
    assert runs.recorded_accuracy(run / "model.pemn", cfg) == 0.125
    (run / "metrics.json").write_text(json.dumps({"config": {**older, "seed": 1}, "final_test_acc": 0.125}))
    assert runs.recorded_accuracy(run / "model.pemn", cfg) is None


# --- 7. every command of the README exists as written ------------------------------------------------

def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return {t for line in re.findall(r"^([A-Za-z0-9_./$()%-][^:=\n]*):(?!=)", text, re.M) for t in line.split()}


def check_command(command: str) -> None:
    """The executable of a README command exists, and so do its make targets or pemn subcommand and options."""
    argv = shlex.split(command)
    while argv and re.match(r"^[A-Z_]+=", argv[0]):  # PEMN_DATA=... make ...
        argv.pop(0)
    exe = argv[0]
    if exe == "make":
        targets, skip = [], False
        for a in argv[1:]:
            if skip or a.startswith("-"):
                skip = a == "-j"
                continue
            if "=" in a:
                name, value = a.split("=", 1)
                if name == "PROFILE":
                    assert value in grids.PROFILES, command
                continue
            targets.append(a)
        missing = [t for t in targets if t not in makefile_targets()]
        assert not missing, f"{command}: no make target {missing}"
    elif exe.startswith(".venv/bin/"):
        assert (REPO / exe).is_file() or not (REPO / ".venv").is_dir(), f"{command}: no {exe}"
        if argv[1:3] == ["-m", "pemn"]:
            try:
                cli.parser().parse_args(argv[3:])
            except SystemExit:
                pytest.fail(f"{command}: `pemn` does not take these arguments")
    elif exe == "bash":
        assert (REPO / argv[1]).is_file(), f"{command}: no {argv[1]}"
    else:
        pytest.fail(f"README command {command!r}: run it as the README's setup makes it (.venv/bin/..., make, bash)")


def readme_fenced_commands() -> list[str]:
    return [line.split("  #", 1)[0].strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)
            for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def readme_inline_commands() -> list[str]:
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", README, flags=re.S))
    return [s for s in spans if re.match(r"(python3?|pip|pytest|jupyter|papermill|make|bash|\.venv/bin/\S+) ", s)]


def test_every_command_of_the_readme_exists_as_written():
    fenced, inline = readme_fenced_commands(), readme_inline_commands()
    assert len(fenced) >= 15 and any("recalibrate" in c for c in inline), (fenced, inline)
    for command in fenced + inline:
        check_command(command.replace("...", "x"))


def test_the_command_check_catches_what_issue_32_found():
    for bad in ("python -m pemn recalibrate --profile cpu --id RUN", "make nosuchtarget",
                ".venv/bin/python -m pemn export RUN --nosuch"):
        with pytest.raises(BaseException):
            check_command(bad)


# --- 8. make reproduce says what it will make; the plumbing check trains for real ----------------------

def test_list_summary_counts_complete_missing_failed_and_stale(runs_dir, capsys):
    ids = list(grids.grid("smoke"))
    complete, stale, failed = (runs.run_dir("smoke", i) for i in ids[:3])
    for folder, version in ((complete, train.RESULTS_VERSION), (stale, 1)):
        folder.mkdir(parents=True)
        cfg = grids.grid("smoke")[folder.name].config
        (folder / "metrics.json").write_text(json.dumps({"config": asdict(cfg), "status": "complete",
                                                         "results_version": version}))
    failed.mkdir(parents=True)
    (failed / "error.json").write_text("{}")
    assert cli.main(["list", "--profile", "smoke", "--summary"]) == 0
    assert capsys.readouterr().out == (f"smoke: {len(ids)} runs in the grid: 1 complete, {len(ids) - 1} to make "
                                       f"({len(ids) - 3} not made yet, 1 failed or unfinished, 1 stale)\n")


def test_make_reproduce_says_first_how_many_runs_it_will_make():
    out = make_dry("reproduce", "PROFILE=smoke")
    assert out.index("pemn list --profile smoke --summary") < out.index("run-all")
    assert "FORCE=1: every run of the smoke profile is made again" in make_dry("reproduce", "PROFILE=smoke", "FORCE=1")


def test_the_plumbing_check_trains_every_smoke_run_outside_runs():
    commands = re.findall(r"pemn run --profile smoke --id (\S+)", make_dry("plumbing"))
    assert sorted(commands) == sorted(grids.grid("smoke"))  # the committed smoke runs would all be skipped
    assert re.search(r"^make plumbing .*plumbing check", README, re.M)
    assert not re.search(r"^make reproduce PROFILE=smoke +# a few minutes", README, re.M)


# --- 9. divergence --------------------------------------------------------------------------------------

def test_an_exploding_but_finite_loss_stops_the_run_in_one_line(tmp_path):
    cfg = TrainConfig(backbone="convmixer", arch=TINY, strategy="rp", ratio=0.003, lr=1e6, epochs=1, batch_size=16,
                      device="cpu")
    with pytest.raises(train.TrainingDiverged) as e:
        train.train(cfg, out_dir=tmp_path, progress=False, data=synthetic_data())
    msg = str(e.value)
    assert "\n" not in msg and "epoch 1/1" in msg and "try a smaller lr, e.g. lr=0.05" in msg
    assert not (tmp_path / "checkpoint.pt").exists()


def test_a_divergent_run_fails_with_that_line_and_no_model_files(runs_dir, capfd):
    assert cli.main(["custom", "lr=1000000", "epochs=1", "subset=512", "batch_size=64", "test_subset=100",
                     f"arch={json.dumps(TINY)}"]) == 1
    out, _ = capfd.readouterr()
    failed = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "TrainingDiverged: training diverged at epoch 1/1" in failed[0]
    folder = next((runs_dir / "custom").iterdir())
    assert not any((folder / f).exists() for f in ("model.pt", "model.pemn", "checkpoint.pt", "metrics.json"))


# --- 10. a partial arch completes from the profile; the id names every field ------------------------------

@pytest.mark.parametrize("settings, run_id, arch", [
    ({"backbone": "vit", "arch": {"dim": 64}}, "vit-w64d6p4h4m2-c10-mask-s0",
     {"dim": 64, "depth": 6, "heads": 4, "mlp_ratio": 2, "patch_size": 4}),
    ({"arch": {"dim": 32}}, "convmixer-w32d6k5p4-c10-mask-s0", {"dim": 32, "depth": 6, "kernel_size": 5, "patch_size": 4}),
    ({"backbone": "vit"}, "vit-w64d6p4h4m2-c10-mask-s0",
     {"dim": 64, "depth": 6, "heads": 4, "mlp_ratio": 2, "patch_size": 4}),
    ({"backbone": "resnet32"}, "resnet32-c10-mask-s0", {}),
])
def test_partial_arch_takes_the_profiles_model_not_the_paper_defaults(settings, run_id, arch):
    run = grids.custom_run(settings)
    assert run.run_id == run_id and run.config.arch == arch
    by_hand = {"profile": "custom", **asdict(run.config), "arch": settings.get("arch", {})}  # the notebook's cell
    assert runs.config_from_parameters(by_hand) == run.config  # the same run, recorded in the same folder


# --- 11. the small things ---------------------------------------------------------------------------------

def test_a_resumed_run_says_so(tmp_path, monkeypatch, capsys):
    cfg = TrainConfig(backbone="convmixer", arch=TINY, strategy="mp", epochs=2, batch_size=32, device="cpu")
    calls = {"n": 0}
    real = train.evaluate

    def killed_in_epoch_two(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(train, "evaluate", killed_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train.train(cfg, out_dir=tmp_path, progress=False, data=synthetic_data())
    monkeypatch.setattr(train, "evaluate", real)
    capsys.readouterr()
    train.train(cfg, out_dir=tmp_path, progress=False, data=synthetic_data())
    assert f"resuming from {tmp_path / 'checkpoint.pt'}: 1 of 2 epochs done" in capsys.readouterr().out


def test_no_notebook_execution_prints_the_tcp_encryption_warning(tmp_path):
    """Whatever executes a notebook in the environment (nbconvert here; papermill, the book build, JupyterLab)."""
    import nbformat
    installed = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    assert installed.is_file() and installed.read_text() == (REPO / "scripts" / "ipython_kernel_config.py").read_text(), \
        "the environment lacks the kernel configuration: `make setup` installs it"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), tmp_path / "t.ipynb")
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout",
                        str(tmp_path / "t.ipynb")], capture_output=True, text=True, timeout=180,
                       env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert r.returncode == 0 and "42" in r.stdout, r.stderr
    assert "without encryption" not in r.stderr


NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def test_readme_counts_the_browser_tests():
    tree = ast.parse((REPO / "tests" / "test_book_html.py").read_text())
    browser_tests = [f.name for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")
                     and "browser" in [a.arg for a in f.args.args]]
    said = re.search(r"The book's (\w+) browser tests? need", README)
    assert said and NUMBERS[said[1]] == len(browser_tests), (said and said[0], browser_tests)


def test_readme_states_the_environments_size_and_its_cuda_part():
    said = re.search(r"environment takes about ([\d.]+) GB, ([\d.]+) GB of it the CUDA libraries", README)
    assert said, "the README should say how large the environment is, and how much of it CUDA"
    site = next((REPO / ".venv" / "lib").glob("python3*/site-packages"), None)
    if site is None or not (site / "nvidia").is_dir():
        pytest.skip("no .venv with the CUDA wheels here to measure")
    r = subprocess.run(["du", "-sk", str(site / "nvidia"), str(site / "triton")], capture_output=True, text=True)
    cuda_gb = sum(int(line.split()[0]) for line in r.stdout.splitlines()) / 2**20  # as `du -h` counts them
    assert abs(cuda_gb - float(said[2])) < 0.6, cuda_gb
