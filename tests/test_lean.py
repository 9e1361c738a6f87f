"""The repository stays small enough to travel in one GPU job: tracked bytes, model files, run notebooks."""
from __future__ import annotations

import base64
import json
import subprocess

import torch

from pemn import runs
from pemn.paths import REPO

# 38 MiB: the limit a fresh clone must stay under. The GPU job carries the tree, CIFAR-10 (18.5 MiB), wheels
# (0.5 MiB) and any checkpoints in the 60 MiB that scripts/gpu_prepare.py allows itself: 38 MiB leaves 3 MiB for
# checkpoints. A ConvMixer run adds some 30-200 KB; model files over MAX_COMMITTED_MODEL_BYTES stay out.
MAX_TRACKED_BYTES = 38 * 1024 * 1024


def tracked_sizes() -> dict[str, int]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    return {n: (REPO / n).stat().st_size for n in names if n and (REPO / n).is_file()}


def test_tracked_bytes_stay_under_the_limit():
    sizes = tracked_sizes()
    total = sum(sizes.values())
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:10]
    assert total <= MAX_TRACKED_BYTES, (
        f"tracked files weigh {total / 2**20:.1f} MiB, over {MAX_TRACKED_BYTES / 2**20:.0f} MiB; largest: "
        + ", ".join(f"{n} ({b / 1024:.0f} KiB)" for n, b in largest))


def test_no_large_model_file_checkpoint_or_cache_is_tracked():
    sizes = tracked_sizes()
    big = [n for n, b in sizes.items() if n.endswith(".pemn") and b > runs.MAX_COMMITTED_MODEL_BYTES]
    assert not big, f"model files over the limit are tracked: {big}"
    stray = [n for n in sizes if n.startswith("runs/") and n.rsplit("/", 1)[-1] in ("model.pt", "checkpoint.pt")]
    assert not stray


def test_every_record_with_an_uncommitted_model_file_keeps_its_bytes_and_checksum():
    sizes = tracked_sizes()
    kept_out = 0
    for profile in runs.profiles_on_disk():
        for rec in runs.read_records(profile):
            folder = rec.path.relative_to(REPO).as_posix()
            if not rec.export:
                continue
            tracked = f"{folder}/model.pemn" in sizes
            if rec.export["file_bytes"] > runs.MAX_COMMITTED_MODEL_BYTES:
                kept_out += 1
                assert not tracked and f"{folder}/.gitignore" in sizes, folder
                assert len(rec.export["sha256"]) == 64
            else:
                assert tracked, f"{folder}: a small model file must be committed"
                assert sizes[f"{folder}/model.pemn"] == rec.export["file_bytes"], folder
    assert kept_out >= 26  # the 26 of 2026-12-02 at least


def test_run_notebooks_keep_a_small_learning_curve():
    sizes = tracked_sizes()
    for name in (n for n in sizes if n.startswith("runs/") and n.endswith("train.ipynb")):
        nb = json.loads((REPO / name).read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", ()):
                png = out.get("data", {}).get("image/png")
                if png:
                    assert len(base64.b64decode(png)) <= runs.MAX_CURVE_BYTES, name


def test_a_missing_model_file_names_the_command_that_remakes_it(tmp_path, monkeypatch, capsys):
    from pemn.__main__ import main
    src = REPO / "runs" / "smoke" / "resnet32-c10-dense-s0"
    folder = tmp_path / "runs" / "smoke" / src.name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_bytes((src / "metrics.json").read_bytes())
    (folder / ".gitignore").write_bytes((src / ".gitignore").read_bytes())
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    for command in (["inspect", str(folder / "model.pemn")], ["evaluate", str(folder / "model.pemn")],
                    ["export", str(folder), "--out", str(tmp_path / "x.pemn")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is not in the repository" in err
        assert f"python -m pemn remake --profile smoke --id {src.name}`" in err  # the record stays as it is
    (folder / ".gitignore").unlink()  # a committed file, lost: git has it, and remake makes it
    assert main(["inspect", str(folder / "model.pemn")]) == 2
    err = capsys.readouterr().err
    assert "is missing" in err and "restore it from git" in err and "pemn remake --profile smoke" in err


REMAKE_TOLERANCE = 0.05  # test accuracy a remake on another CPU kind may differ by (10 of the run's 200 images)


def test_remaking_an_uncommitted_model_file_gives_the_recorded_checksum(tmp_path, monkeypatch):
    """The smoke ResNet32 dense file (1.8 MB) is kept out of git; its run remakes it bit for bit on the CPU kind
    that recorded it. Another kind runs other kernels (pemn.provenance): there two remakes are identical and agree
    with the record within ``REMAKE_TOLERANCE``."""
    from pemn import grids, provenance
    run = grids.grid("smoke")["resnet32-c10-dense-s0"]
    recorded = runs.read_record(REPO / "runs" / "smoke" / run.run_id)
    assert recorded.export["file_bytes"] > runs.MAX_COMMITTED_MODEL_BYTES
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path))
    same_kind = provenance.same_cpu_kind(recorded.hardware)
    threads = torch.get_num_threads()
    torch.set_num_threads(recorded.hardware["torch_threads"])  # float sums depend on the thread count
    try:
        remakes = [runs.train_and_record(run.config, tmp_path / str(i) / run.run_id, "smoke", run.run_id,
                                         run.figures, progress=False) for i in range(1 if same_kind else 2)]
    finally:
        torch.set_num_threads(threads)
    out = tmp_path / "0" / run.run_id
    result = remakes[0]
    if same_kind:
        assert result["export"]["sha256"] == recorded.export["sha256"]
    else:
        assert remakes[1]["export"]["sha256"] == result["export"]["sha256"]
        assert abs(result["final_test_acc"] - recorded.final_test_acc) <= REMAKE_TOLERANCE
    assert (out / "model.pemn").stat().st_size == recorded.export["file_bytes"]
    assert (out / ".gitignore").read_text() == runs.UNCOMMITTED_NOTE
