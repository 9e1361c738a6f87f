"""scripts/gpu_run.py's parts: runs in process, seed by seed, shared by workers, packed into one archive and back."""
import importlib.util
import json
import tarfile
from pathlib import Path

import pytest

from data_fixtures import cifar10  # noqa: F401  (fixture)
from pemn import grids, runs

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_run.py"


@pytest.fixture
def script():
    spec = importlib.util.spec_from_file_location("gpu_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(runs, "REPO", tmp_path)
    return tmp_path


def _folder(root: Path, run_id: str, files: dict) -> Path:
    d = root / "runs" / "gpu" / run_id
    d.mkdir(parents=True)
    for name, content in files.items():
        (d / name).write_bytes(content)
    return d


def test_archive_carries_results_and_checkpoints_and_unpacks_them(scratch, tmp_path, monkeypatch):
    _folder(scratch, "a-s0", {"metrics.json": b"{}", "model.pemn": b"\x00\x01", "model.pt": b"big",
                              "train.md": b"note"})
    _folder(scratch, "b-s0", {"checkpoint.pt": b"ckpt", "checkpoint.pt.tmp": b"torn"})
    (tmp_path / "gpu.json").write_text("{\"x\": 1}")
    archive = tmp_path / "out.tar.gz"
    packed = runs.archive_runs("gpu", 0.0, archive, {"bench/gpu.json": tmp_path / "gpu.json"})
    assert packed == ["a-s0", "b-s0"]
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["bench/gpu.json", "runs/gpu/a-s0/metrics.json", "runs/gpu/a-s0/model.pemn",
                                          "runs/gpu/a-s0/train.md", "runs/gpu/b-s0/checkpoint.pt"]
    assert runs.archive_runs("gpu", 4e9, tmp_path / "none.tar.gz") == []  # nothing changed since then
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setattr(runs, "REPO", elsewhere)
    monkeypatch.setenv("PEMN_RUNS", str(elsewhere / "runs"))
    written = runs.unpack_runs(archive)
    assert len(written) == 5
    assert (elsewhere / "runs/gpu/a-s0/model.pemn").read_bytes() == b"\x00\x01"
    assert (elsewhere / "runs/gpu/b-s0/checkpoint.pt").read_bytes() == b"ckpt"
    assert json.loads((elsewhere / "bench/gpu.json").read_text()) == {"x": 1}


@pytest.mark.parametrize("name", ["../evil.json", "runs/gpu/x/../../../evil", "etc/passwd", "bench/gpu.sh"])
def test_unpack_refuses_anything_else_before_writing(scratch, tmp_path, name):
    archive = tmp_path / "bad.tar.gz"
    (tmp_path / "f").write_text("x")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "f", arcname="runs/gpu/ok-s0/metrics.json")
        tar.add(tmp_path / "f", arcname=name)
    with pytest.raises(ValueError, match="unexpected member"):
        runs.unpack_runs(archive)
    assert not (scratch / "runs").exists()


def test_pending_runs_come_seed_by_seed_in_grid_order(scratch, script):
    todo = script.pending("gpu")
    order = list(grids.grid("gpu"))
    assert len(todo) == len(order) == 134
    seeds = [r.config.seed for r in todo]
    assert seeds == sorted(seeds)
    seed0 = [r.run_id for r in todo if r.config.seed == 0]
    assert seed0 == [rid for rid in order if rid.endswith("-s0")]


def test_workers_share_the_list_each_run_once(scratch, script, monkeypatch, tmp_path):
    trained = []
    monkeypatch.setattr(runs, "train_in_process", lambda run, profile: trained.append(run.run_id))
    claims = tmp_path / "claims"
    claims.mkdir()
    assert script.worker("smoke", claims) == 0
    assert script.worker("smoke", claims) == 0  # a second worker finds every run claimed
    assert sorted(trained) == sorted(grids.grid("smoke")) and len(set(trained)) == len(trained)


def test_a_failing_run_is_reported_and_the_others_go_on(scratch, script, monkeypatch, tmp_path, capsys):
    def train(run, profile):
        if "vit" in run.run_id:
            raise RuntimeError("out of memory")
    monkeypatch.setattr(runs, "train_in_process", train)
    (tmp_path / "c").mkdir()
    assert script.worker("smoke", tmp_path / "c") == 1
    out = capsys.readouterr().out
    assert "FAILED smoke/vit-w16d1p8h2m2-c10-dense-s0: RuntimeError: out of memory" in out
    assert "done smoke/resnet32-c10-dense-s0" in out


def test_train_in_process_writes_a_run_folder_without_a_notebook(scratch, cifar10):  # noqa: F811
    run = grids.grid("smoke")["convmixer-w16d2k3p4-c10-dense-s0"]
    out = runs.train_in_process(run, "gpu")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.pemn", "model.pt", "train.md"]
    assert runs.is_complete(out, run.config) and "scripts/gpu_run.py" in (out / "train.md").read_text()
    stamp = (out / "metrics.json").stat().st_mtime_ns
    runs.train_in_process(run, "gpu")  # complete: not trained again
    assert (out / "metrics.json").stat().st_mtime_ns == stamp


def test_unpack_from_the_command_line_says_what_is_wrong(script, tmp_path, capsys):
    assert script.main(["--unpack", str(tmp_path / "missing.tar.gz")]) == 2
    assert "cannot unpack" in capsys.readouterr().err
