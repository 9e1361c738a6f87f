"""Fair compression: ERK densities, bit budgets, entropy-coded masks, quantized/binary files, precise BN."""
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from pemn import baselines, codec, methods
from pemn.export import export_model, load_model
from pemn.cells import budget_for_keep
from pemn.grids import grid
from pemn.storage import storage_bits
from pemn.train import ConfigError, TrainConfig, make_model, recalibrate_bn

TINY = {"dim": 8, "depth": 1, "patch_size": 4, "kernel_size": 3}  # conv 8x3x4x4, dw 8x1x3x3, pw 8x8x1x1, fc 10x8
SMALL = {"dim": 48, "depth": 2, "patch_size": 4, "kernel_size": 5}  # 24k weights: whole words cost little


def fair(strategy, budget, arch=SMALL, **kw):
    return TrainConfig(backbone="convmixer", arch=arch, strategy=strategy, budget_bits=budget, **kw)


def trained_like(cfg):
    """The model of ``cfg`` at the end of its pruning schedule, with BatchNorm statistics that are not the init's."""
    torch.manual_seed(0)
    model = make_model(cfg, 10)
    hook = methods.get(cfg.strategy).step_hook(model, cfg)
    if hook is not None:
        hook(9, 10)  # the last step of ten: the schedule's final keep
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 3, 32, 32))
    return model.eval()


def test_erk_scale_and_densities_by_hand():
    shapes = [(8, 3, 4, 4), (8, 1, 3, 3), (8, 8, 1, 1), (10, 8)]
    # ERK factor: sum of dimensions over their product
    assert [baselines.erk_scale(s) for s in shapes] == [19 / 384, 15 / 72, 18 / 64, 18 / 80]
    sizes = [384, 72, 64, 80]
    d = baselines.densities_for_budget(shapes, 4.0, 32)
    kept = [round(x * n) for x, n in zip(d, sizes)]
    # ERK: density in proportion to the factors above, so the small layers keep the larger fractions
    assert kept == [17, 14, 17, 17]
    # by hand: positions in whole 32-bit words of n H(k/n) bits (100.6, 51.1, 53.4, 59.7), 32 bits per value
    words = [math.ceil(n * codec.binary_entropy(k / n) / 32) for n, k in zip(sizes, kept)]
    assert words == [4, 2, 2, 2]
    assert 32 * sum(words) + 32 * sum(kept) == 2400 == 4.0 * sum(sizes)  # one more weight would exceed it


def test_budget_that_pays_every_value_keeps_every_weight():
    assert baselines.densities_for_budget([(64, 64)], 1.01, 1) == [1.0]  # 1 bit per weight + one scale
    assert baselines.densities_for_budget([(64, 64)], 0.99, 1)[0] < 2 / 3  # below: sparse, under the cost's peak


def test_pemn_budget_is_its_mask_bits_plus_the_seed():
    tiny = '{"depth": 1, "dim": 8, "kernel_size": 3, "patch_size": 4}'  # 600 weights
    assert budget_for_keep("convmixer", tiny, 0.5) == round((600 + 64) / 600, 4)  # bitmaps: 1 bit per weight
    words = sum(math.ceil(n * codec.binary_entropy((n - int(0.9 * n)) / n) / 32) for n in (384, 72, 64, 80))
    assert budget_for_keep("convmixer", tiny, 0.1) == round((32 * words + 64) / 600, 4)


def test_entropy_coded_mask_within_two_percent_of_the_bound():
    rng = np.random.default_rng(0)
    n = 100_000
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, 10_000, replace=False)] = True  # keep 0.1
    words = codec.encode_mask(mask)
    bound = n * codec.binary_entropy(0.1)
    assert words.dtype == np.uint32
    assert bound <= 32 * len(words) <= 1.02 * bound
    assert np.array_equal(codec.decode_mask(words, n, 10_000), mask)
    with pytest.raises(ValueError):
        codec.decode_mask(words, n, 9_999)


def test_code_packing_round_trip():
    codes = np.array([0, 15, 7, 8, 1, 14, 3], dtype=np.uint8)
    packed = codec.pack_codes(codes, 4)
    assert packed.tolist() == [0x0F, 0x78, 0x1E, 0x30]
    assert codec.unpack_codes(packed, 4, 7).tolist() == codes.tolist()
    bits = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1], dtype=np.uint8)
    assert codec.pack_codes(bits, 1).tolist() == [0b10110001, 0b10000000]
    with pytest.raises(ValueError):
        codec.pack_codes(np.array([16]), 4)


@pytest.mark.parametrize("strategy,budget", [("erk_random", 1.0), ("erk_magnitude", 0.6), ("quantized", 1.0),
                                             ("binary", 0.6), ("binary", 1.2)])
def test_fair_methods_reload_bit_identical_and_meet_their_budget(tmp_path, strategy, budget):
    cfg = fair(strategy, budget)
    model = trained_like(cfg)
    report = export_model(model, cfg, tmp_path / "m.pemn")  # verify=True: logits compared bit for bit
    assert report["verified"] and report["encoding"] == "coded"
    loaded, _ = load_model(tmp_path / "m.pemn")
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    bits = storage_bits(model, "coded", value_bits=methods.get(strategy).value_bits(cfg))
    weights = sum(m.weight.numel() for m in baselines.prunable(model))
    spent = (bits["weights"] + bits["masks"]) / weights
    if all(bool(m.weight_mask.all()) for m in baselines.prunable(model)):  # every weight kept: cheaper than budget
        assert spent <= budget
    else:
        assert budget * 0.95 <= spent <= budget
    assert abs(report["deviation"]) <= 0.01


def test_quantized_values_take_few_levels_and_pruned_positions_are_zero():
    cfg = fair("quantized", 1.0, value_bits=3)
    model = trained_like(cfg)
    for m in baselines.prunable(model):
        model(torch.zeros(1, 3, 32, 32))  # the hook sets m.weight
        w = m.weight.detach()
        assert torch.all(w[m.weight_mask == 0] == 0)
        assert len(torch.unique(w[m.weight_mask.bool()])) <= 2 ** 3 - 1


def test_exact_bytes_of_a_binary_file(tmp_path):
    """Dense binary weights: 1 bit per weight, each layer padded to a byte, one float32 scale per layer."""
    cfg = fair("binary", 1.3, arch=TINY)
    model = trained_like(cfg)
    report = export_model(model, cfg, tmp_path / "b.pemn")
    other = sum(p.numel() for n, p in model.state_dict().items()
                if not n.endswith(("weight_orig", "weight_mask", "num_batches_tracked")) and "." in n
                and not any(n == f"{k}.weight" for k, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))))
    codes = sum(math.ceil(n / 8) for n in (384, 72, 64, 80))  # 600 bits + 4 scales of 32 bits < 1.3 x 600
    assert report["tensor_bytes"] == {"positions": 0, "codes": codes, "scales": 4 * 4, "other": 4 * other}
    assert report["data_bytes"] == codes + 16 + 4 * other


def test_exact_bytes_of_a_quantized_file(tmp_path):
    cfg = fair("quantized", 1.0, value_bits=4)
    model = trained_like(cfg)
    report = export_model(model, cfg, tmp_path / "q.pemn")
    kept = [int(m.weight_mask.sum()) for m in baselines.prunable(model)]
    words = [len(codec.encode_mask(m.weight_mask.bool().numpy())) for m in baselines.prunable(model)]
    t = report["tensor_bytes"]
    assert t["codes"] == sum(math.ceil(4 * k / 8) for k in kept)
    assert t["scales"] == 4 * len(kept) and t["positions"] == 4 * sum(words)
    assert report["data_bytes"] == sum(t.values())


@pytest.mark.parametrize("keep", [0.1, 0.3])
def test_pemn_masks_below_half_are_entropy_coded(tmp_path, keep):
    cfg = TrainConfig(backbone="convmixer", arch=SMALL, strategy="rp", ratio=0.01, keep_ratio=keep)
    torch.manual_seed(0)
    model = make_model(cfg, 10).eval()
    report = export_model(model, cfg, tmp_path / "p.pemn")
    assert report["verified"] and "mask" not in report["tensor_bytes"]
    n = sum(m.source.numel for _, m in __import__("pemn.masking", fromlist=["x"]).masked_layers(model))
    assert report["tensor_bytes"]["positions"] * 8 < 1.01 * n * codec.binary_entropy(keep) + 32 * 8


def test_config_checks_for_the_fair_methods():
    with pytest.raises(ConfigError, match="budget_bits"):
        TrainConfig(strategy="quantized")
    with pytest.raises(ConfigError, match="budget_bits"):
        TrainConfig(strategy="rp", ratio=0.1, budget_bits=1.0)
    with pytest.raises(ConfigError, match="value_bits"):
        TrainConfig(strategy="quantized", budget_bits=1.0, value_bits=9)
    with pytest.raises(ConfigError, match="bn_recalibration"):
        TrainConfig(bn_recalibration=-1)


def test_recalibrated_statistics_are_the_exact_average():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    x = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8)
    mean, std = torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.25, 0.25, 0.25])
    recalibrate_bn(model, x, 10, mean, std, torch.device("cpu"))
    with torch.no_grad():
        feats = [model[0](((xb.float() - mean.view(1, 3, 1, 1) * 255) / (std.view(1, 3, 1, 1) * 255)))
                 for xb in x.split(10)]
    bn = model[1]
    assert torch.allclose(bn.running_mean, torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0), atol=1e-6)
    assert bn.momentum == 0.1 and not model.training


def test_frontier_grid_matches_every_pemn_point():
    runs = [r for r in grid("cpu").values() if "frontier" in r.figures]
    by_backbone = {}
    for r in runs:
        by_backbone.setdefault(r.config.backbone, []).append(r.config)
    assert set(by_backbone) == {"convmixer", "resnet32"}
    pranc = {b: [c for c in cfgs if c.strategy == "pranc"] for b, cfgs in by_backbone.items()}
    assert {b: len(c) for b, c in pranc.items()} == {"convmixer": 2 * 2, "resnet32": 0}  # 2 seeds x keep 0.5, 0.1
    assert {c.budget_bits for c in pranc["convmixer"]} == {budget_for_keep("convmixer", json.dumps(
        pranc["convmixer"][0].arch, sort_keys=True), k) for k in (0.5, 0.1)}
    for b, cfgs in by_backbone.items():
        cfgs = [c for c in cfgs if c.strategy != "pranc"]
        assert len(cfgs) == 2 * (4 + 4 * 4 + 1)  # 2 seeds x (PEMN at 4 keeps + 4 methods at 4 budgets + dense binary)
        assert all(c.bn_recalibration == 10000 for c in cfgs)
        assert sorted({c.keep_ratio for c in cfgs if c.strategy == "rp"}) == [0.1, 0.2, 0.3, 0.5]
        assert len({c.budget_bits for c in cfgs if c.budget_bits}) == 5
