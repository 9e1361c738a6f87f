"""Write a trained model as a ``.pemn`` file, and inspect and evaluate such files.

The format, its shared helpers and the reader are :mod:`pemn.pemnfile`.
"""
from __future__ import annotations

import copy
import hashlib
import json
import lzma
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import codec, data as data_mod
from . import methods
from .baselines import codes_of, prunable
from .masking import masked_layers, plain_layers, topk_mask
from .paths import write_atomic
from .pemnfile import (BITORDER, FORMAT, FORMAT_VERSION, LZMA_FILTERS, SEED_RECIPE, TOLERANCE, ZSTD_LEVEL, _checksum,
                       _config, encoding_of, ExportError, _f32, file_sha256, _fingerprint, index_dtype, load_model,
                       num_classes_of, other_keys, pack_mask, read_file, _recipe, sparse_file_bits, sparse_mask_bits,
                       structure)
from .storage import storage_bits
from .strategies import make_plan, prototype_values


# --- writing -----------------------------------------------------------------

def _pemn_tensors(model: nn.Module, cfg, seed_mode: bool, tensors: dict) -> dict:
    protos, proto_values, scales, scaled, layer_proto, modes, coding = {}, [], [], [], [], "", ""
    bitmaps, words = [], []
    for i, (name, m) in enumerate(masked_layers(model)):
        src = m.source
        if id(src.values) not in protos:
            protos[id(src.values)] = len(proto_values)
            proto_values.append(src.values)
        layer_proto.append(protos[id(src.values)])
        modes += src.mode[0]  # "s"lice or "t"ile
        if src.scale != 1.0:
            scaled.append(i)
            scales.append(src.scale)
        mask = m.mask()
        n, k = mask.numel(), int(mask.sum())
        if codec.coded_mask_bits(n, k) < n:
            words.append(codec.encode_mask(mask.cpu().numpy()))
            coding += "c"
        else:
            bitmaps.append(pack_mask(mask))
            coding += "b"
    layout = {"layer_prototype": layer_proto, "layer_mode": modes, "scaled_layers": scaled,
              "prototypes": [int(v.numel()) for v in proto_values]}
    layout["mask_coding"] = coding  # per layer: "b"itmap (in ``masks``) or entropy-"c"oded (in ``positions``)
    if bitmaps:
        tensors["masks"] = np.concatenate(bitmaps)
    if words:
        layout["mask_words"] = [len(w) for w in words]
        tensors["positions"] = np.concatenate(words)
    if seed_mode:
        rec = _recipe(model, cfg)
        try:
            plan = make_plan(model, rec["name"], rec["ratio"], tuple(rec["share"]))
        except ValueError as e:
            raise ExportError(f"seed mode impossible: {e}") from None
        regenerated = prototype_values(plan, rec["seed"])
        same_layout = (len(plan.prototypes) == len(proto_values)
                       and [(lp.prototype, lp.mode[0]) for lp in plan.layers] == list(zip(layer_proto, modes)))
        if not same_layout or not all(torch.equal(r, v.detach().cpu().float()) for r, v in zip(regenerated, proto_values)):
            raise ExportError(f"seed mode impossible: the model's random values are not those that strategy "
                              f"{rec['name']!r} draws from seed {rec['seed']}; export without seed mode")
        layout["seed_recipe"] = {**rec, "generator": SEED_RECIPE,
                                 "prototypes": [{"numel": p.numel, "init_shape": list(p.init_shape)}
                                                for p in plan.prototypes],
                                 "fingerprint": _fingerprint(regenerated), "torch": torch.__version__}
        tensors["seed"] = np.array([rec["seed"]], dtype=np.int64)
    else:
        for i, v in enumerate(proto_values):
            tensors[f"prototype.{i}"] = _f32(v.reshape(-1))
        layout["strategy"] = _recipe(model, cfg)
    if scales:
        tensors["scales"] = np.asarray(scales, dtype=np.float32)
    return layout


def _plain_tensors(model: nn.Module, tensors: dict) -> dict:
    codes = ""
    for name, m in plain_layers(model):
        mask = getattr(m, "weight_mask", None)
        if mask is None:
            tensors["weight." + name] = _f32(m.weight)
            codes += "d"
            continue
        keep = mask.detach().cpu().bool()
        tensors["kept." + name] = _f32(m.weight_orig.detach().cpu()[keep])
        enc, _ = sparse_mask_bits(keep.numel(), int(keep.sum()))
        if enc == "index":
            flat = torch.nonzero(keep.reshape(-1)).reshape(-1).numpy()
            tensors["index." + name] = flat.astype(index_dtype(keep.numel()))
        else:
            tensors["mask." + name] = pack_mask(keep)
        codes += enc[0]  # "b"itmap or "i"ndex
    return {"layer_encoding": codes}


def _coded_tensors(model: nn.Module, cfg, tensors: dict) -> dict:
    """Storage-aware baselines: entropy-coded positions, then float32 kept values or packed codes + scales."""
    bits = methods.get(cfg.strategy).value_bits(cfg)
    words, kept, codes, scales, counts = [], [], [], [], []
    for m in prunable(model):
        mask = m.weight_mask.detach().cpu()
        weight = m.weight_orig.detach().cpu().float()
        words.append(codec.encode_mask(mask.bool().numpy()))
        counts.append(int(mask.sum()))
        if bits == 32:
            kept.append(_f32(weight[mask.bool()]))
            continue
        c, scale = codes_of(weight, mask, bits)
        codes.append(codec.pack_codes(c.numpy(), bits))
        scales.append(float(scale))
    tensors["positions"] = np.concatenate(words)
    if bits == 32:
        tensors["kept"] = np.concatenate(kept)
    else:
        tensors["codes"] = np.concatenate(codes)
        tensors["scales"] = np.asarray(scales, dtype=np.float32)
    return {"value_bits": bits, "layer_kept": counts, "layer_words": [len(w) for w in words]}


def export_model(model: nn.Module, cfg, path, seed_mode: bool = False, verify: bool = True,
                 smallest: bool = False) -> dict:
    """Write ``model`` (trained under ``cfg``) to ``path``; returns sizes and accounting (JSON-ready).

    ``seed_mode`` stores the PRNG seed instead of the prototype values (PEMN
    models only; checked: the model's values must be exactly those the seed
    regenerates). With ``smallest`` it does so only when that file is smaller:
    the seed's recipe in the header can outweigh a few hundred stored values
    (the report's ``seed_mode_declined`` then says so). ``verify`` loads the file
    back and checks that its logits on a fixed random batch equal the model's
    (CPU, eval mode). The same model gives the same bytes.
    """
    cfg = _config(cfg)
    path = Path(path)
    kind, found = methods.get(cfg.strategy).encoding, encoding_of(model)
    if (found == "pemn") != cfg.masked:
        raise ExportError(f"the model ({found}) does not fit its config (strategy {cfg.strategy!r})")
    if seed_mode and kind != "pemn":
        raise ExportError(f"seed mode needs a PEMN model with fixed random weights; this one is {kind} "
                          f"(strategy {cfg.strategy!r}): its weights were trained")
    blob, tensors, layout, meta = _serialize(model, cfg, kind, seed_mode)
    declined = None
    if seed_mode and smallest:
        plain = _serialize(model, cfg, kind, False)
        if len(plain[0]) <= len(blob):
            declined = (f"seed mode not used: with the seed the file would take {len(blob):,} B (its recipe in the "
                        f"header outweighs the values it replaces), with the prototype values {len(plain[0]):,} B")
            blob, tensors, layout, meta = plain
    write_atomic(path, lambda tmp: tmp.write_bytes(blob))
    report = size_report(model, cfg, layout["encoding"], tensors, len(blob), _header_bytes(blob),
                         layout.get("value_bits"))
    report.update({"file": str(path), "sha256": meta["sha256"], "file_sha256": hashlib.sha256(blob).hexdigest(),
                   "verified": False})
    if declined:
        report["seed_mode_declined"] = declined
    if verify:
        verify_file(model, path)
        report["verified"] = True
    return report


def _serialize(model: nn.Module, cfg, kind: str, seed_mode: bool) -> tuple[bytes, dict, dict, dict]:
    """(file bytes, tensors, layout, metadata) of ``model``; the header's keys in sorted order."""
    tensors: dict[str, np.ndarray] = {}
    if kind == "pemn":
        layout = _pemn_tensors(model, cfg, seed_mode, tensors)
    elif kind == "coded":
        layout = _coded_tensors(model, cfg, tensors)
    elif kind in ("dense", "sparse"):
        layout = _plain_tensors(model, tensors)
    else:  # a method with an encoding of its own
        layout = methods.get(cfg.strategy).encode(model, cfg, tensors)
    layout.update({"encoding": "pemn_seed" if seed_mode else kind, "num_classes": num_classes_of(cfg),
                   "bitorder": BITORDER, "structure": structure(model)})
    state = model.state_dict()
    if other_keys(model):
        tensors["other"] = np.concatenate([_f32(state[k]).reshape(-1) for k in other_keys(model)])
    from . import __version__
    from .train import config_dict
    meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "config": json.dumps(config_dict(cfg), sort_keys=True),
            "layout": json.dumps(layout, sort_keys=True), "pemn_version": __version__,
            "torch_version": torch.__version__}
    meta["sha256"] = _checksum(meta, tensors)
    from safetensors.numpy import save
    return _sorted_header(save(tensors, metadata=meta)), tensors, layout, meta


def _sorted_header(blob: bytes) -> bytes:
    """The safetensors file with its JSON header's keys sorted (the writer orders metadata at random)."""
    n = int.from_bytes(blob[:8], "little")
    text = json.dumps(json.loads(blob[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + blob[8 + n:]


def verify_file(model: nn.Module, path, batch: int = 2) -> None:
    """Raise ExportError unless the file's model gives the same logits as ``model`` (CPU, eval mode)."""
    loaded, _ = load_model(path)
    on_cpu = all(t.device.type == "cpu" for t in model.state_dict().values())
    ref = model if on_cpu else copy.deepcopy(model).cpu()
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    was_training = ref.training
    ref.eval()
    try:
        with torch.inference_mode():
            same = torch.equal(ref(x), loaded(x))
    finally:
        ref.train(was_training)
    if not same:
        raise ExportError(f"{path}: the written file does not reproduce the model's logits")


def _header_bytes(blob: bytes) -> int:
    return 8 + int.from_bytes(blob[:8], "little")


_TERM_OF_PREFIX = {"prototype": "weights", "seed": "weights", "scales": "weights", "weight": "weights",
                   "kept": "weights", "codes": "weights", "mask": "masks", "masks": "masks", "index": "masks",
                   "positions": "masks",
                   "other": "other"}


def tensor_terms(tensors: dict) -> dict:
    """Bytes per tensor kind (prefix) in a file's data."""
    out: dict[str, int] = {}
    for name, a in tensors.items():
        prefix = name.split(".", 1)[0]
        out[prefix] = out.get(prefix, 0) + int(a.nbytes)
    return out


def accounting(model: nn.Module, cfg, encoding: str, value_bits: int | None = None) -> dict:
    """The accounting a file of ``encoding`` is measured against, in bits (plus references for sparse)."""
    if encoding in ("pemn", "pemn_seed", "dense"):
        return storage_bits(model, encoding)
    if encoding == "coded":
        return storage_bits(model, "coded", value_bits=value_bits)
    if encoding == "sparse":
        return sparse_file_bits(model)
    method = methods.get(cfg.strategy)  # a method with an encoding of its own accounts for it
    return method.storage_summary(model, cfg)[method.headline_scheme(cfg)]


def size_report(model: nn.Module, cfg, encoding: str, tensors: dict, file_bytes: int, header_bytes: int,
                value_bits: int | None = None) -> dict:
    """Measured bytes (total, header, data by Eq. 10 term) next to the accounting of ``encoding``."""
    fine = tensor_terms(tensors)
    measured = {"weights": 0, "masks": 0, "other": 0}
    for prefix, b in fine.items():
        measured[_TERM_OF_PREFIX[prefix]] += b
    acc = accounting(model, cfg, encoding, value_bits)
    data_bytes = file_bytes - header_bytes
    acc_bytes = acc["total"] / 8
    report = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "encoding": encoding,
        "file_bytes": file_bytes, "header_bytes": header_bytes, "data_bytes": data_bytes,
        "measured_bytes": measured, "tensor_bytes": fine,
        "accounting_scheme": acc["scheme"],
        "accounting_bytes": {k: acc[k] / 8 for k in ("weights", "masks", "other", "total")},
        "dense_bytes": acc["dense_total"] / 8,
        "deviation": data_bytes / acc_bytes - 1.0,
        "tolerance": TOLERANCE,
        "within_tolerance": abs(data_bytes / acc_bytes - 1.0) <= TOLERANCE,
        "accounting_compression": acc["compression"],
        "file_compression": 1.0 - file_bytes / (acc["dense_total"] / 8),
    }
    if encoding in ("sparse", "coded"):
        report["reference_bytes"] = {s: storage_bits(model, s)["total"] / 8 for s in ("csr", "bitmap", "dense")}
    return report


def export_run(run_dir, seed_mode: bool = False, out=None, verify: bool = True, in_place: bool = False) -> dict:
    """Export a run folder's model to ``out``: from ``model.pt`` (``{"config", "state_dict"}``, written locally by
    training) or else from the committed ``model.pemn``.

    A run folder's model file is replaced only when asked (``in_place``: ``model.pemn``, or ``model-seed.pemn`` in
    seed mode); the report's ``replaced`` then says what the file was. In seed mode the seed file is written only
    where it is the smaller (see :func:`export_model`).
    """
    run_dir = Path(run_dir)
    src = run_dir / "model.pt"
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: no such run folder")
    if not src.is_file() and not (run_dir / "model.pemn").is_file():
        raise ExportError(f"{run_dir}: neither model.pt nor model.pemn here (a run folder of runs/ holds model.pemn)")
    own = run_dir / ("model-seed.pemn" if seed_mode else "model.pemn")
    if (out is None) != in_place:
        raise ExportError(f"{run_dir}: say where to write: an output file (--out FILE), or --in-place to replace "
                          f"{own.name} there" + (" (not both)" if in_place else ""))
    out = Path(out) if out is not None else own
    before = _file_summary(out) if out.is_file() else None
    if src.is_file():
        cfg, model = _checkpoint_model(src)
    else:
        model, cfg = load_model(run_dir / "model.pemn")
    report = export_model(model, cfg, out, seed_mode=seed_mode, verify=verify, smallest=True)
    if before is not None:
        report["replaced"] = f"replaced {out} ({before}; now format {FORMAT_VERSION}, {report['file_bytes']:,} B)"
    return report


def _file_summary(path: Path) -> str:
    """What a model file about to be replaced was: its format version and bytes."""
    size = path.stat().st_size
    try:
        version = read_file(path)[0].get("format_version", "?")
    except (ExportError, OSError):
        return f"was an unreadable file of {size:,} B"
    return f"was format {version}, {size:,} B"


def _checkpoint_model(src: Path):
    """(config, model) of a run's ``model.pt``."""
    from .train import make_model
    try:
        saved = torch.load(src, map_location="cpu", weights_only=True)
        cfg = _config(saved["config"])
        state = saved["state_dict"]
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"{src}: not a readable run checkpoint ({type(e).__name__}: {e})") from None
    with torch.random.fork_rng(devices=[]):
        model = make_model(cfg, num_classes_of(cfg))
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise ExportError(f"{src}: its state does not fit a model of its config "
                          f"({first[1].strip() if len(first) > 1 else first[0]})") from None
    return cfg, model


# --- inspection and evaluation -----------------------------------------------

def compressed_sizes(data: bytes, zstd_level: int = ZSTD_LEVEL) -> dict:
    """Bytes of ``data`` after raw LZMA2 (preset 9e, no container) and zstd (``zstd_level``); round trips checked."""
    import zstandard
    lz = lzma.compress(data, format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)
    zs = zstandard.ZstdCompressor(level=zstd_level).compress(data)
    if (lzma.decompress(lz, format=lzma.FORMAT_RAW, filters=LZMA_FILTERS) != data
            or zstandard.ZstdDecompressor().decompress(zs) != data):
        raise RuntimeError("entropy coder round trip failed")
    return {"lzma": len(lz), "zstd": len(zs)}


def file_report(path) -> dict:
    """Everything ``inspect`` shows: sizes by term, header, accounting, deviation, entropy-coded masks."""
    meta, tensors, size, header = read_file(path)
    model, cfg = load_model(path)
    layout = json.loads(meta["layout"])
    report = size_report(model, cfg, layout["encoding"], tensors, size, header, layout.get("value_bits"))
    masks = b"".join(tensors[k].tobytes() for k in sorted(tensors)
                     if k.split(".", 1)[0] in ("mask", "masks", "index", "positions"))
    report.update({"file": str(path), "format_version": int(meta["format_version"]), "config": asdict(cfg),
                   "sha256": meta["sha256"], "file_sha256": file_sha256(path), "tensors": len(tensors),
                   "masks_entropy_coded": {"raw": len(masks), **(compressed_sizes(masks) if masks else {})},
                   "pemn_version": meta.get("pemn_version"), "torch_version": meta.get("torch_version")})
    if layout["encoding"] == "pemn_seed":
        report["seed"] = int(tensors["seed"][0])
    return report


def format_report(r: dict) -> str:
    cfg = r["config"]
    arch = ", ".join(f"{k}={v}" for k, v in sorted(cfg["arch"].items())) or "default size"
    strat = cfg["strategy"] + (f" {cfg['ratio']:g}" if cfg["ratio"] is not None else "")
    if cfg["compression"] is not None:
        strat += f" (target compression {cfg['compression']:.0%})"
    t = r["tensor_bytes"]
    acc = r["accounting_bytes"]
    head = {"pemn": "prototype values", "pemn_seed": "seed", "dense": "weights", "sparse": "kept values",
            "coded": "kept values (quantized)"}.get(r["encoding"]) or methods.get(cfg["strategy"]).weights_term
    w_detail = " + ".join(f"{k} {v:,}" for k, v in t.items() if _TERM_OF_PREFIX[k] == "weights")
    lines = [
        f"{r['file']}: pemn format v{r['format_version']}, encoding {r['encoding']} "
        f"(written by pemn {r['pemn_version']}, torch {r['torch_version']})",
        f"checksum     {r['sha256']} (verified: SHA-256 over metadata and tensors; a record's sha256)",
        f"file SHA-256 {r['file_sha256']} (of the bytes, as sha256sum prints it; a record's file_sha256)",
        f"model: {cfg['backbone']} ({arch}), {cfg['dataset']}, {strat}, keep ratio {cfg['keep_ratio']:g}"
        + (", rescaled" if cfg["rescale"] else ""),
        "",
        f"{'term':<34}{'measured B':>14}{'accounting B':>16}",
        f"{head + ' (C_w)':<34}{r['measured_bytes']['weights']:>14,}{acc['weights']:>16,.1f}   [{w_detail}]",
        f"{'masks (C_m)':<34}{r['measured_bytes']['masks']:>14,}{acc['masks']:>16,.1f}",
        f"{'other learned floats':<34}{r['measured_bytes']['other']:>14,}{acc['other']:>16,.1f}",
        f"{'data total':<34}{r['data_bytes']:>14,}{acc['total']:>16,.1f}   "
        f"deviation {r['deviation']:+.3%} (tolerance {r['tolerance']:.0%})",
        f"{'header (safetensors + metadata)':<34}{r['header_bytes']:>14,}{'-':>16}",
        f"{'file':<34}{r['file_bytes']:>14,}",
        "",
        f"accounting scheme {r['accounting_scheme']}: compression {r['accounting_compression']:.2%} vs dense float32 "
        f"({r['dense_bytes']:,.0f} B); measured file: {r['file_compression']:.2%}",
    ]
    if "reference_bytes" in r:
        ref = r["reference_bytes"]
        lines.append(f"sparse references (accounting): paper CSR {ref['csr']:,.0f} B, bitmap {ref['bitmap']:,.0f} B")
    e = r["masks_entropy_coded"]
    if e.get("raw"):
        lines.append(f"masks entropy-coded: {e['raw']:,} B packed -> lzma {e['lzma']:,} B "
                     f"({e['lzma'] / e['raw']:.1%}), zstd-{ZSTD_LEVEL} {e['zstd']:,} B ({e['zstd'] / e['raw']:.1%})")
    return "\n".join(lines)


def evaluate_file(path, full_test: bool = False, device: str = "cpu", data=None) -> dict:
    """Test accuracy of the model in ``path`` (the run's test subset, if it had one, unless ``full_test``)."""
    from .train import evaluate, memory_format_for, pick_device
    model, cfg = load_model(path)
    data = data or data_mod.load(cfg.dataset)
    x, y = data.x_test, data.y_test
    if cfg.test_subset and not full_test:
        idx = data_mod.stratified_subset(y, cfg.test_subset, seed=0)  # as pemn.train does
        x, y = x[idx], y[idx]
    mean, std = data.mean_std()
    dev = pick_device(device)
    # exactly as training evaluates (its layout, batch size and precision), so a CPU run's record and its file agree
    fmt = memory_format_for(cfg.backbone)
    acc, loss = evaluate(model.to(dev, memory_format=fmt), x, y, mean, std, dev, memory_format=fmt)
    return {"file": str(path), "dataset": cfg.dataset, "test_size": len(y), "test_acc": acc, "test_loss": loss,
            "device": str(dev), "config": cfg}


# --- masks under entropy coding (beyond the paper) ----------------------------

def _binary_entropy(p: float) -> float:
    return 0.0 if p <= 0.0 or p >= 1.0 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def mask_entropy_table(model_or_builder, keep_ratios=(0.1, 0.3, 0.5, 0.7, 0.9), zstd_level: int = ZSTD_LEVEL) -> list[dict]:
    """How far a model's packed masks compress with lzma and zstd, per keep ratio.

    ``model_or_builder`` is a masked model, whose scores are thresholded at
    each keep ratio (the top-k of the same scores), or a callable
    ``keep_ratio -> masked model`` (e.g. models trained at each ratio). The
    masks of all layers are packed as in the file (1 bit per weight) into one
    stream and compressed whole. Each row gives the bitmap, lzma and zstd bytes,
    and the i.i.d. Shannon bound ``sum_l n_l H(k_l)`` for comparison.
    """
    rows = []
    for k in keep_ratios:
        if isinstance(model_or_builder, nn.Module):
            model = model_or_builder
            layers = masked_layers(model)
            if any(getattr(m, "fixed_mask", None) is not None for _, m in layers):
                raise ValueError("this model's masks are fixed (loaded from a file): pass a builder "
                                 "keep_ratio -> model instead")
            masks = [topk_mask(m.scores, k) for _, m in layers]
        else:
            model = model_or_builder(k)
            masks = [m.mask() for _, m in masked_layers(model)]
        if not masks:
            raise ValueError("mask_entropy_table needs a model with masked layers")
        packed = b"".join(pack_mask(m).tobytes() for m in masks)
        n = sum(m.numel() for m in masks)
        kept = sum(int(m.sum()) for m in masks)
        h_bits = sum(m.numel() * _binary_entropy(int(m.sum()) / m.numel()) for m in masks)
        sizes = compressed_sizes(packed, zstd_level)
        rows.append({"keep_ratio": k, "weights": n, "kept": kept, "bitmap_bytes": len(packed),
                     "lzma_bytes": sizes["lzma"], "zstd_bytes": sizes["zstd"],
                     "iid_entropy_bytes": h_bits / 8,
                     "lzma_bits_per_weight": 8 * sizes["lzma"] / n, "zstd_bits_per_weight": 8 * sizes["zstd"] / n,
                     "entropy_bits_per_weight": h_bits / n})
    return rows
