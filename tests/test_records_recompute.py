"""Nothing moves when the code is reorganised: every committed record's storage terms recompute from its
configuration, and every committed model file re-serialises to its own bytes."""
from collections import Counter

import numpy as np
import torch

from pemn import methods, runs
from pemn.export import _serialize, load_model
from pemn.paths import REPO
from pemn.pemnfile import num_classes_of, read_file
from pemn.train import TrainConfig, make_model

RECORDS = [r for p in runs.profiles_on_disk() for r in runs.read_records(p) if r.path.is_relative_to(REPO)]


def config_of(rec) -> TrainConfig:
    known = TrainConfig.__dataclass_fields__
    return TrainConfig.from_dict({k: v for k, v in rec.config.items() if k in known})


def at_the_end_of_training(cfg: TrainConfig) -> torch.nn.Module:
    """The untrained model of ``cfg`` with its schedule's last step applied (the storage terms depend on the
    kept counts only, which the config sets)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = make_model(cfg, num_classes_of(cfg))
    hook = methods.get(cfg.strategy).step_hook(model, cfg)
    if hook is not None:
        hook(99, 100)
    return model


def test_every_committed_records_storage_terms_recompute_exactly():
    assert len(RECORDS) > 300
    for rec in RECORDS:
        cfg = config_of(rec)
        model = at_the_end_of_training(cfg)
        method = methods.get(cfg.strategy)
        now = method.storage_summary(model, cfg)
        assert set(now) == set(rec.storage), rec.run_id
        for scheme, terms in rec.storage.items():  # older records lack terms added since (compression_weights_only)
            assert {k: now[scheme][k] for k in terms} == terms, (rec.run_id, scheme)
        assert method.headline_scheme(cfg) == rec.headline_scheme, rec.run_id


def test_every_committed_model_file_reserialises_to_its_own_bytes():
    """The same size, metadata and tensors, except the per-layer scales of quantised and binary files:
    re-deriving a scale from values already quantised can move it in its last bits."""
    formats = Counter()
    for rec in RECORDS:
        path = rec.path / "model.pemn"
        if not path.is_file():
            continue
        meta, _, size, _ = read_file(path)
        formats[meta["format_version"]] += 1
        if meta["format_version"] != "2":
            continue  # format-1 files load (tests/test_export.py) but are written as format 2 now
        model, cfg = load_model(path)
        blob, tensors, _, meta_now = _serialize(model, cfg, methods.get(cfg.strategy).encoding,
                                                '"pemn_seed"' in meta["layout"])
        assert len(blob) == size == rec.export["file_bytes"], rec.run_id
        stored = read_file(path)[1]
        assert sorted(tensors) == sorted(stored), rec.run_id
        for name, values in tensors.items():
            if name == "scales":
                np.testing.assert_allclose(values, stored[name], rtol=2e-6)  # codes equal, scales to float32
            else:
                assert np.array_equal(values, stored[name]), (rec.run_id, name)
        if "scales" not in tensors:
            assert meta_now == meta, rec.run_id
    assert formats["2"] >= 100, formats
