"""scripts/gpu_run.py's parts: runs in process, seed by seed, shared by workers, packed into one archive and back."""
import importlib.util
import json
import tarfile
from pathlib import Path

import pytest

from data_fixtures import cifar10  # noqa: F401  (fixture)
from pemn import grids, runs

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_run.py"
PREPARE = SCRIPT.parent / "gpu_prepare.py"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def script():
    return _load(SCRIPT)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(runs.transfer, "REPO", tmp_path)
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
    monkeypatch.setattr(runs.transfer, "REPO", elsewhere)
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


def test_unpack_from_the_command_line_says_what_is_wrong(prepare, tmp_path, capsys):
    assert prepare.main(["--unpack", str(tmp_path / "nothing-here")]) == 2
    assert "no gpu-runs" in capsys.readouterr().err


@pytest.fixture
def prepare():
    return _load(PREPARE)


def test_the_job_fits_one_call(prepare, tmp_path, monkeypatch):
    """Tree + carried folder within 60 MiB, a short command, one carried path, 9 minutes at the H100 rates."""
    data = prepare.REPO.parent / "shared" / "data"
    if not (data / "cifar10-jpeg.tar.gz").is_file():
        pytest.skip("no CIFAR-10 mirror beside the repository")
    out = tmp_path / ".gpu"
    job = prepare.prepare(data, out)
    wheels = 1 * 2**20  # safetensors and tqdm: 0.6 MB, made by `make gpu-wheels` (not fetched in a test)
    job = {**job, "total_bytes": job["total_bytes"] + wheels}
    assert prepare.check_job(job) == []
    assert job["carry"] == [".gpu"] and len(job["command"]) <= 2000
    assert job["total_bytes"] <= 60 * 2**20
    plan = json.loads((out / "plan.json").read_text())
    assert (out / "only.txt").read_text().split() == plan["only"]
    assert len(plan["only"]) == 9 and all(r.startswith("convmixer-w256d8k5p2-c10-") and r.endswith("-s0")
                                          for r in plan["only"])
    assert sum(plan["estimate_s"].values()) + plan["bench_s"] <= plan["job_limit_s"] <= 9 * 60
    assert "carries" in prepare.describe(job) and '"carry": [".gpu"]' in prepare.describe(job)


def test_a_job_over_the_limits_is_refused(prepare):
    big = {"command": "x" * 2001, "carry": list("abcdefghi"), "total_bytes": 61 * 2**20}
    assert len(prepare.check_job(big)) == 3


def test_what_comes_back_is_at_most_eight_files_of_16_mib(scratch, script, tmp_path, monkeypatch):
    assert script.MAX_ARCHIVES + 1 <= 8 and script.MAX_ARCHIVE_BYTES <= 16 * 2**20  # + summary.json
    for i in range(4):
        _folder(scratch, f"r{i}-s0", {"model.pemn": bytes(6 * 2**20), "metrics.json": b"{}"})
    out = tmp_path / "out"
    out.mkdir()
    parts = runs.archive_runs_in_parts("gpu", 0.0, out, 13 * 2**20, 3)
    assert [p.name for p in parts] == ["gpu-runs-1.tar.gz", "gpu-runs-2.tar.gz"]
    with tarfile.open(parts[0]) as tar:
        assert len(tar.getnames()) == 4  # two whole folders a part
    assert all(p.stat().st_size <= 13 * 2**20 for p in parts)
    few = runs.archive_runs_in_parts("gpu", 0.0, tmp_path, 7 * 2**20, 2)  # 4 parts needed, 2 allowed
    assert len(few) == 2


def test_a_cut_run_resumes_in_the_next_job(scratch, script, prepare, tmp_path, monkeypatch):
    _folder(scratch, "cut-s0", {"checkpoint.pt": b"epoch 3"})
    _folder(scratch, "done-s0", {"metrics.json": b"{}", "model.pemn": b"m"})
    back = tmp_path / "back"
    back.mkdir()
    runs.archive_runs_in_parts("gpu", 0.0, back, 2**20, 7)
    resume = tmp_path / ".gpu" / "resume"
    (resume / "gpu" / "done-s0").mkdir(parents=True)
    (resume / "gpu" / "done-s0" / "checkpoint.pt").write_bytes(b"old")
    monkeypatch.setattr(prepare, "GPU_DIR", tmp_path / ".gpu")
    here = tmp_path / "here"
    monkeypatch.setenv("PEMN_RUNS", str(here / "runs"))
    prepare.unpack(back)
    assert (resume / "gpu" / "cut-s0" / "checkpoint.pt").read_bytes() == b"epoch 3"
    assert not (resume / "gpu" / "done-s0").exists()  # finished: nothing left to resume
    assert (here / "runs" / "gpu" / "done-s0" / "model.pemn").read_bytes() == b"m"
    machine = tmp_path / "machine"
    monkeypatch.setenv("PEMN_RUNS", str(machine / "runs"))
    assert script.place_checkpoints(resume, "gpu") == ["cut-s0"]
    assert (machine / "runs" / "gpu" / "cut-s0" / "checkpoint.pt").read_bytes() == b"epoch 3"
