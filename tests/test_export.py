"""The .pemn model file: round trips with identical logits, sizes vs accounting, seed mode, damaged files, CLI."""
import hashlib
import json
import math
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import save

from pemn import baselines, export
from pemn.data import Data
from pemn import __main__ as pemn_cli
from pemn.export import ExportError, export_model, load_model
from pemn.masking import masked_layers
from pemn.storage import storage_bits
from pemn.train import TrainConfig, evaluate, make_model

ROOT = Path(__file__).resolve().parent.parent
CONVMIXER = {"dim": 16, "depth": 2, "patch_size": 4, "kernel_size": 3}
VIT = {"dim": 16, "depth": 1, "heads": 2, "patch_size": 8}
ARCHS = {"convmixer": CONVMIXER, "vit": VIT}
PEMN_CASES = [  # (strategy, ratio, rescale)
    ("mask", None, False),
    ("one_layer", None, False),
    ("mp", None, False),
    ("mp", None, True),
    ("rp", 0.1, False),
    ("rp", 0.01, True),
]


def config(backbone="convmixer", strategy="mask", ratio=None, rescale=False, compression=None, keep_ratio=0.5, **kw):
    return TrainConfig(backbone=backbone, arch=ARCHS[backbone], strategy=strategy, ratio=ratio, rescale=rescale,
                       compression=compression, keep_ratio=keep_ratio, **kw)


def perturb(model, seed=1):
    """Make every stored quantity non-trivial: random scores, other floats and BN statistics."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, m in masked_layers(model):
            m.scores.add_(torch.randn(m.scores.shape, generator=gen) * 0.1)
        state = model.state_dict()
        for key in export.other_keys(model):
            t = state[key]
            t.copy_(torch.randn(t.shape, generator=gen) * 0.1 + (1.0 if key.endswith("running_var") else 0.0))
            if key.endswith("running_var"):
                t.abs_()
    return model


def trained_like(cfg, seed=1):
    torch.manual_seed(0)
    return perturb(make_model(cfg, 10), seed)


def logits(model, seed=0):
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    model.eval()
    with torch.inference_mode():
        return model(x)


def roundtrip(model, cfg, path, **kw):
    report = export_model(model, cfg, path, verify=False, **kw)
    loaded, cfg2 = load_model(path)
    assert cfg2 == cfg
    assert torch.equal(logits(model), logits(loaded))
    return report, loaded


def check_sizes(report, path, model, scheme):
    """file = header + data; data within 1 % of the accounting; the accounting is pemn.storage's where one applies."""
    blob = Path(path).read_bytes()
    header = 8 + int.from_bytes(blob[:8], "little")
    assert report["file_bytes"] == len(blob)
    assert report["header_bytes"] == header
    assert report["data_bytes"] == len(blob) - header
    acc = storage_bits(model, scheme)["total"] / 8 if scheme else export.sparse_file_bits(model)["total"] / 8
    assert report["accounting_bytes"]["total"] == pytest.approx(acc)
    assert 0.99 * acc + header <= len(blob) <= 1.01 * acc + header
    assert report["within_tolerance"]
    assert sum(report["measured_bytes"].values()) == report["data_bytes"]


# --- round trips ---------------------------------------------------------------

@pytest.mark.parametrize("backbone", ["convmixer", "vit"])
@pytest.mark.parametrize("strategy, ratio, rescale", PEMN_CASES)
def test_pemn_roundtrip_identical_logits(tmp_path, backbone, strategy, ratio, rescale):
    cfg = config(backbone, strategy, ratio, rescale)
    model = trained_like(cfg)
    path = tmp_path / "m.pemn"
    report, loaded = roundtrip(model, cfg, path)
    assert report["encoding"] == "pemn"
    check_sizes(report, path, model, "pemn")
    for (name, a), (_, b) in zip(masked_layers(model), masked_layers(loaded)):
        assert torch.equal(a.mask(), b.mask()), name
        assert b.fixed_mask is not None
        assert b.source.mode == a.source.mode and b.source.scale == pytest.approx(a.source.scale, rel=1e-7)
    # the loaded model shares its prototypes exactly as the trained one (same unique-value count)
    assert storage_bits(loaded, "pemn") == storage_bits(model, "pemn")
    assert "scores" not in " ".join(Path(path).read_bytes()[:report["header_bytes"]].decode("latin1").split('"'))


def test_resnet32_mp_roundtrip(tmp_path):
    cfg = TrainConfig(backbone="resnet32", strategy="rp", ratio=0.01, keep_ratio=0.3)
    model = trained_like(cfg)
    report, _ = roundtrip(model, cfg, tmp_path / "r.pemn")
    check_sizes(report, tmp_path / "r.pemn", model, "pemn")
    assert report["accounting_compression"] > 0.9


@pytest.mark.parametrize("backbone", ["convmixer", "vit"])
def test_dense_roundtrip(tmp_path, backbone):
    cfg = config(backbone, "dense")
    model = trained_like(cfg)
    report, _ = roundtrip(model, cfg, tmp_path / "d.pemn")
    assert report["encoding"] == "dense"
    check_sizes(report, tmp_path / "d.pemn", model, "dense")
    assert report["deviation"] == 0.0


@pytest.mark.parametrize("backbone", ["convmixer", "vit"])
@pytest.mark.parametrize("method, keep", [("random_sparse", None), ("magnitude_sparse", 0.3),
                                          ("magnitude_sparse", 0.03)])
def test_sparse_baselines_roundtrip(tmp_path, backbone, method, keep):
    cfg = config(backbone, method, compression=0.5)
    model = trained_like(cfg)
    with torch.no_grad():
        for m in baselines.prunable(model):
            m.weight_orig.add_(torch.randn(m.weight_orig.shape, generator=torch.Generator().manual_seed(2)))
    if keep is not None:
        baselines.magnitude_step(model, keep)
    path = tmp_path / "s.pemn"
    report, loaded = roundtrip(model, cfg, path)
    assert report["encoding"] == "sparse"
    check_sizes(report, path, model, None)
    for a, b in zip(baselines.prunable(model), baselines.prunable(loaded)):
        assert torch.equal(a.weight_mask, b.weight_mask)
        assert torch.equal(a.weight, b.weight)
    # the file's encoding is never worse than the bitmap accounting; very sparse layers use indices
    assert report["accounting_bytes"]["total"] <= report["reference_bytes"]["bitmap"]
    kinds = {k.split(".", 1)[0] for k in safe_open(str(path), "np").keys()}
    assert ("index" in kinds) == (keep == 0.03)
    if keep == 0.03:
        assert report["accounting_bytes"]["total"] < report["reference_bytes"]["csr"]


def test_verify_and_json_report(tmp_path):
    cfg = config("convmixer", "rp", 0.1)
    model = trained_like(cfg)
    model.train()
    report = export_model(model, cfg, tmp_path / "m.pemn")
    assert report["verified"] and model.training  # verification restores the mode
    json.dumps(report)  # goes into metrics.json as is
    assert report["tensor_bytes"]["prototype"] == 4 * (int(0.1 * 3 * 16 * 4 * 4) + 1)  # RP: 0.1 of the patch conv


def test_reports_name_the_files_sha256_apart_from_its_checksum(tmp_path):
    """A record's "sha256" is pemn's checksum over metadata and tensors; "file_sha256" is the bytes' SHA-256."""
    cfg = config("convmixer", "rp", 0.1)
    report = export_model(trained_like(cfg), cfg, tmp_path / "m.pemn", verify=False)
    blob_sha = hashlib.sha256((tmp_path / "m.pemn").read_bytes()).hexdigest()
    assert report["file_sha256"] == blob_sha != report["sha256"]
    inspected = export.file_report(tmp_path / "m.pemn")
    assert (inspected["file_sha256"], inspected["sha256"]) == (blob_sha, report["sha256"])


# --- seed mode -----------------------------------------------------------------

@pytest.mark.parametrize("strategy, ratio, rescale", PEMN_CASES)
def test_seed_mode_reproduces_prototypes(tmp_path, strategy, ratio, rescale):
    cfg = config("convmixer", strategy, ratio, rescale, seed=3)
    model = trained_like(cfg)
    report, loaded = roundtrip(model, cfg, tmp_path / "s.pemn", seed_mode=True)
    assert report["encoding"] == "pemn_seed"
    assert report["tensor_bytes"].get("prototype") is None and report["tensor_bytes"]["seed"] == 8
    check_sizes(report, tmp_path / "s.pemn", model, "pemn_seed")
    for (_, a), (_, b) in zip(masked_layers(model), masked_layers(loaded)):
        assert torch.equal(a.source.values, b.source.values)
    full = export_model(model, cfg, tmp_path / "f.pemn", verify=False)
    assert report["data_bytes"] < full["data_bytes"]
    # a re-export of the loaded model in seed mode works too (the recipe travels with the file)
    export_model(loaded, cfg, tmp_path / "again.pemn", seed_mode=True)


def test_seed_mode_refuses_values_it_cannot_regenerate(tmp_path):
    cfg = config("convmixer", "mp")
    model = trained_like(cfg)
    with torch.no_grad():
        masked_layers(model)[0][1].source.values[0] += 1.0
    with pytest.raises(ExportError, match="seed mode impossible"):
        export_model(model, cfg, tmp_path / "x.pemn", seed_mode=True)
    dense_cfg = config("convmixer", "dense")
    with pytest.raises(ExportError, match="seed mode needs a PEMN model"):
        export_model(trained_like(dense_cfg), dense_cfg, tmp_path / "y.pemn", seed_mode=True)
    with pytest.raises(ExportError, match="does not fit its config"):
        export_model(model, dense_cfg, tmp_path / "z.pemn")


# --- damaged and foreign files ---------------------------------------------------

@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    cfg = config("convmixer", "rp", 0.1)
    path = tmp_path_factory.mktemp("good") / "m.pemn"
    export_model(trained_like(cfg), cfg, path, verify=False)
    return path


def rewrite(src, dst, meta_update=None, tensor_update=None, checksum=True):
    with safe_open(str(src), "np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(meta_update or {})
    tensors.update(tensor_update or {})
    if checksum:
        meta["sha256"] = export._checksum(meta, tensors)
    Path(dst).write_bytes(save(tensors, metadata=meta))
    return dst


def test_truncated_file(tmp_path, good_file):
    blob = good_file.read_bytes()
    for n, name in ((len(blob) - 10, "short.pemn"), (5, "tiny.pemn"), (0, "empty.pemn")):
        p = tmp_path / name
        p.write_bytes(blob[:n])
        with pytest.raises(ExportError, match="truncated or damaged"):
            load_model(p)


def test_corrupted_data_fails_checksum(tmp_path, good_file):
    blob = bytearray(good_file.read_bytes())
    blob[-3] ^= 0x10
    (tmp_path / "c.pemn").write_bytes(bytes(blob))
    with pytest.raises(ExportError, match="checksum mismatch"):
        load_model(tmp_path / "c.pemn")
    # an edited config (still valid JSON) is caught by the checksum as well
    meta = safe_open(str(good_file), "np").metadata()
    p = rewrite(good_file, tmp_path / "e.pemn", {"config": meta["config"].replace('"seed": 0', '"seed": 1')},
                checksum=False)
    with pytest.raises(ExportError, match="checksum mismatch"):
        load_model(p)


def test_damaged_header(tmp_path, good_file):
    blob = bytearray(good_file.read_bytes())
    blob[9] = ord("#")  # inside the JSON header
    (tmp_path / "h.pemn").write_bytes(bytes(blob))
    with pytest.raises(ExportError, match="not a readable safetensors file"):
        load_model(tmp_path / "h.pemn")


def test_wrong_version_and_foreign_files(tmp_path, good_file):
    with pytest.raises(ExportError, match="format version 3 is not supported"):
        load_model(rewrite(good_file, tmp_path / "v3.pemn", {"format_version": "3"}))
    (tmp_path / "plain.safetensors").write_bytes(save({"w": np.zeros(3, np.float32)}))
    with pytest.raises(ExportError, match="not a pemn model file"):
        load_model(tmp_path / "plain.safetensors")
    with pytest.raises(ExportError, match="no such file"):
        load_model(tmp_path / "missing.pemn")


def test_other_architecture(tmp_path, good_file):
    # a well-formed file whose tensors do not fit the architecture its config names
    other = json.dumps(asdict(TrainConfig(backbone="convmixer", arch={**CONVMIXER, "dim": 24}, strategy="rp",
                                          ratio=0.1)), sort_keys=True)
    with pytest.raises(ExportError, match="architecture mismatch"):
        load_model(rewrite(good_file, tmp_path / "a.pemn", {"config": other}))
    vit = json.dumps(asdict(config("vit", "rp", 0.1)), sort_keys=True)
    with pytest.raises(ExportError, match="architecture mismatch"):
        load_model(rewrite(good_file, tmp_path / "b.pemn", {"config": vit}))
    with pytest.raises(ExportError, match="holds another model than expected: backbone is 'convmixer'"):
        load_model(good_file, expect=config("vit", "rp", 0.1))
    with pytest.raises(ExportError, match="architecture mismatch"):  # an extra tensor has no place
        load_model(rewrite(good_file, tmp_path / "x.pemn", tensor_update={"param.extra": np.zeros(2, np.float32)}))


# --- command line ----------------------------------------------------------------

def cli(argv):
    return pemn_cli.main(argv)


def test_cli_bad_file_exits_2_with_one_line(tmp_path, good_file, capsys):
    bad = tmp_path / "bad.pemn"
    bad.write_bytes(good_file.read_bytes()[:-7])
    for cmd in ("inspect", "evaluate"):
        assert cli([cmd, str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert cli(["export", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert cli(["export", str(tmp_path)]) == 2
    assert "neither model.pt nor model.pemn here" in capsys.readouterr().err
    assert cli(["inspect", str(good_file.parent)]) == 2
    assert f"{good_file.parent}: a folder, not a model file" in capsys.readouterr().err


def test_cli_subprocess_no_traceback(tmp_path):
    bad = tmp_path / "bad.pemn"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    r = subprocess.run([sys.executable, "-m", "pemn", "inspect", str(bad)], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def tiny_data(n=40):
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.arange(n) % 10
    return Data("cifar10", x, y, x, y, {"kind": "test"})


def test_cli_export_inspect_evaluate_run_folder(tmp_path, capsys, monkeypatch):
    cfg = config("convmixer", "one_layer", keep_ratio=0.3)
    model = trained_like(cfg)
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, run / "model.pt")
    assert cli(["export", str(run), "--in-place"]) == 0
    assert "deviation" in capsys.readouterr().out
    assert cli(["export", str(run), "--seed-mode", "--in-place"]) == 0
    for name in ("model.pemn", "model-seed.pemn"):
        loaded, _ = load_model(run / name)
        assert torch.equal(logits(model), logits(loaded))
    assert cli(["inspect", str(run / "model-seed.pemn")]) == 0
    out = capsys.readouterr().out
    for word in ("seed", "masks (C_m)", "other learned floats", "header (safetensors + metadata)", "deviation",
                 "lzma", "zstd"):
        assert word in out
    assert cli(["inspect", "--json", str(run / "model.pemn")]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["within_tolerance"] and rep["masks_entropy_coded"]["raw"] == rep["measured_bytes"]["masks"]

    data = tiny_data()
    monkeypatch.setattr(export.data_mod, "load", lambda name: data)
    (run / "metrics.json").write_text(json.dumps({"config": asdict(cfg), "final_test_acc": 0.5}))
    assert cli(["evaluate", str(run / "model.pemn")]) == 0
    out = capsys.readouterr().out
    acc, _ = evaluate(model, data.x_test, data.y_test, *data.mean_std(), torch.device("cpu"))
    assert f"test accuracy {acc:.4f} on 40 images" in out and "recorded at training: 0.5000" in out


# --- masks under entropy coding ------------------------------------------------------

def test_mask_entropy_table():
    cfg = TrainConfig(backbone="convmixer", arch={"dim": 32, "depth": 2, "patch_size": 4}, strategy="mask")
    torch.manual_seed(0)
    model = make_model(cfg, 10)
    rows = export.mask_entropy_table(model, (0.1, 0.5, 0.9))
    assert [r["keep_ratio"] for r in rows] == [0.1, 0.5, 0.9]
    n = rows[0]["weights"]
    assert all(r["bitmap_bytes"] == sum(math.ceil(m.scores.numel() / 8) for _, m in masked_layers(model))
               for r in rows)
    for r in rows:
        assert r["kept"] == pytest.approx(r["keep_ratio"] * n, abs=len(masked_layers(model)))
        assert r["lzma_bytes"] >= 0.95 * r["iid_entropy_bytes"]  # no coder beats the entropy of random masks
        assert r["zstd_bytes"] >= 0.95 * r["iid_entropy_bytes"]
    for r in (rows[0], rows[2]):  # skewed masks compress; 1 bit/weight at 0.5 does not
        assert r["lzma_bytes"] < 0.85 * r["bitmap_bytes"] and r["zstd_bytes"] < r["bitmap_bytes"]
    assert rows[0]["entropy_bits_per_weight"] == pytest.approx(rows[2]["entropy_bits_per_weight"], abs=0.01)
    # a builder (e.g. models trained at each ratio) works the same way
    built = export.mask_entropy_table(lambda k: make_model(TrainConfig(**{**asdict(cfg), "keep_ratio": k}), 10),
                                      (0.3,))
    assert built[0]["kept"] == pytest.approx(0.3 * n, abs=len(masked_layers(model)))
