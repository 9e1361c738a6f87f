"""A run's model file comes back without touching its record (issue 42): `pemn remake` trains in a scratch folder and
writes only model.pemn; `pemn list` and `make reproduce` see a damaged committed model file; `recalibrate` keeps an
existing bn_recalibration.json unless asked."""
import os
import shutil
from pathlib import Path

import pytest

from pemn import __main__ as cli, provenance, runs
from pemn.runs import pipeline

REPO = Path(__file__).resolve().parents[1]
SHARED = os.environ.get("PEMN_DATA", str(REPO.parent / "shared" / "data"))
KEPT_OUT = REPO / "runs" / "smoke" / "resnet32-c10-dense-s0"  # its 1.8 MB model file is not committed
COMMITTED = REPO / "runs" / "smoke" / "convmixer-w16d2k3p4-c10-mp-s0"  # a committed model file (6,200 B)
RECALIBRATED = REPO / "runs" / "cpu" / "convmixer-w64d6k5p4-c10-dense-s0"  # with a bn_recalibration.json


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("PEMN_DATA", SHARED)
    return tmp_path / "runs"


def copy_run(src: Path, runs_dir: Path) -> Path:
    """What a clone holds of a run folder (the files git has), under ``runs_dir``."""
    dst = runs_dir / src.parent.name / src.name
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            shutil.copy(f, dst / f.name)
    return dst


def record_files(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in folder.iterdir() if f.name != "model.pemn"}


# --- 2. pemn remake ----------------------------------------------------------------------------------------

def test_remake_writes_only_the_model_file_and_checks_its_checksum(runs_dir, monkeypatch, capsys):
    folder = copy_run(KEPT_OUT, runs_dir)
    assert not (folder / "model.pemn").exists()
    before = record_files(folder)
    recorded = runs.read_record(folder)
    assert cli.main(["remake", "--profile", "smoke", "--id", KEPT_OUT.name]) == 0
    out = capsys.readouterr().out
    assert record_files(folder) == before  # metrics.json, train.ipynb, .gitignore: as committed
    assert sorted(p.relative_to(runs_dir).as_posix() for p in runs_dir.rglob("*") if p.is_file()) == sorted(
        f"smoke/{KEPT_OUT.name}/{n}" for n in [*before, "model.pemn"])  # nothing else (the scratch folder is gone)
    assert (folder / "model.pemn").stat().st_size == recorded.export["file_bytes"]
    if provenance.same_cpu_kind(recorded.hardware):
        assert "remade bit for bit" in out
        assert runs.model_file_problem(folder, recorded.export, committed_only=False) is None
        monkeypatch.setattr(pipeline, "train_and_record", lambda *a, **k: pytest.fail("trained again"))
        assert cli.main(["remake", str(folder)]) == 0  # the folder form; the file is there: nothing to do
        assert "nothing to remake" in capsys.readouterr().out
    else:
        assert "remade on another CPU kind" in out and "vs recorded" in out


def fake_training(model_bytes: bytes, acc: float):
    """A stand-in for training in the scratch folder: another model file, another checksum."""
    def train_and_record(cfg, folder, profile, run_id, figures, progress=True):
        Path(folder).mkdir(parents=True)
        (Path(folder) / "model.pemn").write_bytes(model_bytes)
        return {"export": {"sha256": "f" * 64}, "final_test_acc": acc}
    return train_and_record


def test_remake_on_another_cpu_kind_writes_the_file_and_says_how_it_compares(runs_dir, monkeypatch, capsys):
    folder = copy_run(COMMITTED, runs_dir)
    (folder / "model.pemn").write_bytes(b"truncated")
    before = record_files(folder)
    monkeypatch.setattr(pipeline, "train_and_record", fake_training(b"another file", 0.123))
    monkeypatch.setattr(provenance, "same_cpu_kind", lambda recorded, here=None: False)
    assert cli.main(["remake", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "remade on another CPU kind (" in out and "Intel(R) Xeon(R) Processor): checksum differs as expected; " \
                                                  "test accuracy 12.3 % vs recorded 10.4 %" in out
    assert (folder / "model.pemn").read_bytes() == b"another file" and record_files(folder) == before


def test_remake_on_the_recording_cpu_kind_refuses_a_file_of_another_checksum(runs_dir, monkeypatch, capsys):
    folder = copy_run(COMMITTED, runs_dir)
    (folder / "model.pemn").write_bytes(b"truncated")
    monkeypatch.setattr(pipeline, "train_and_record", fake_training(b"another file", 0.123))
    monkeypatch.setattr(provenance, "same_cpu_kind", lambda recorded, here=None: True)
    assert cli.main(["remake", "--profile", "smoke", "--id", COMMITTED.name]) == 1
    assert "not written" in capsys.readouterr().out
    assert (folder / "model.pemn").read_bytes() == b"truncated"


def test_remake_refuses_what_it_cannot_remake_in_one_line(runs_dir, tmp_path, capsys):
    assert cli.main(["remake"]) == 2
    assert "name one run" in capsys.readouterr().err
    assert cli.main(["remake", "--profile", "smoke", "--id", "nosuch"]) == 2
    assert "no such run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["remake", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no complete run record" in err and err.count("\n") == 1


# --- 4. a damaged committed model file is pending; one kept out of git is not -----------------------------

def test_list_sees_a_damaged_committed_model_file(runs_dir, capsys):
    damaged, kept_out = copy_run(COMMITTED, runs_dir), copy_run(KEPT_OUT, runs_dir)
    blob = (damaged / "model.pemn").read_bytes()
    (damaged / "model.pemn").write_bytes(blob[:1000])
    assert cli.main(["list", "--profile", "smoke", "--summary"]) == 0
    out = capsys.readouterr().out
    assert ": 1 complete, " in out and ", 1 with a damaged model file)" in out
    assert cli.main(["list", "--profile", "smoke", "--pending"]) == 0
    out, err = capsys.readouterr()
    assert COMMITTED.name in out.split() and KEPT_OUT.name not in out.split()
    assert f"smoke/{COMMITTED.name}: model.pemn damaged: 1,000 bytes, record says 6,200" in err
    flipped = bytearray(blob)
    flipped[-5] ^= 1  # the same size: the checksum tells
    (damaged / "model.pemn").write_bytes(bytes(flipped))
    assert "fails its checksum" in runs.why_pending(damaged)
    (damaged / "model.pemn").write_bytes(blob)
    assert runs.why_pending(damaged) is None and runs.why_pending(kept_out) is None


def test_make_reproduce_remakes_a_damaged_model_file_alone(runs_dir, monkeypatch, capsys):
    """`make reproduce` runs `pemn run --id` for a pending run: for a damaged model file, that is a remake."""
    import papermill
    folder = copy_run(COMMITTED, runs_dir)
    (folder / "model.pemn").write_bytes(b"truncated")
    remade = []
    monkeypatch.setattr(pipeline, "remake_model_file", lambda f, progress=True: remade.append(f) or (True, "remade"))
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("the whole run was made again"))
    assert cli.main(["run", "--profile", "smoke", "--id", COMMITTED.name]) == 0
    assert remade == [folder] and "remade" in capsys.readouterr().out


# --- 2. recalibrate keeps what exists --------------------------------------------------------------------------

def test_recalibrate_keeps_an_existing_file_unless_forced(runs_dir, monkeypatch, capsys):
    folder = copy_run(RECALIBRATED, runs_dir)
    before = (folder / runs.RECALIBRATION_FILE).read_bytes()
    calls = []
    monkeypatch.setattr(runs, "recalibrate_run", lambda *a: calls.append(a) or {"test_acc_before": 0.5,
                                                                                 "test_acc": 0.6})
    assert cli.main(["recalibrate", "--profile", "cpu", "--id", RECALIBRATED.name]) == 0
    assert f"skip {RECALIBRATED.name} (bn_recalibration.json exists; --force" in capsys.readouterr().out
    assert calls == [] and (folder / runs.RECALIBRATION_FILE).read_bytes() == before
    assert cli.main(["recalibrate", "--profile", "cpu", "--id", RECALIBRATED.name, "--force"]) == 0
    assert len(calls) == 1 and "50.0% -> 60.0%" in capsys.readouterr().out
