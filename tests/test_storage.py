"""Storage accounting (Eq. 10) of ResNet32 by hand, and the sparse baselines it calibrates."""
import math

import pytest
import torch
from torch import nn

import pemn
from pemn import baselines

# ResNet32 (He et al. 2016, Sec. 4.2), written out by hand from the architecture:
# conv1 3->16, then 3 stages of 5 basic blocks (2 convs each) at 16/32/64 channels,
# the first conv of stages 2 and 3 changes the width; option-A shortcuts; fc 64->10.
R32_SHAPES = ([(16, 3, 3, 3)] + [(16, 16, 3, 3)] * 10
              + [(32, 16, 3, 3)] + [(32, 32, 3, 3)] * 9
              + [(64, 32, 3, 3)] + [(64, 64, 3, 3)] * 9
              + [(10, 64)])
R32_BN_CHANNELS = [16] * 11 + [32] * 10 + [64] * 10          # one BN after every conv
W = sum(math.prod(s) for s in R32_SHAPES)                     # conv/linear weights
BN_PARAMS = 2 * sum(R32_BN_CHANNELS)                          # gamma, beta
BN_STATS = 2 * sum(R32_BN_CHANNELS)                           # running mean, var (inference needs them)
FC_BIAS = 10
OTHER = BN_PARAMS + BN_STATS + FC_BIAS
D_MAX = 64 * 64 * 3 * 3
DENSE_BITS = 32 * (W + OTHER)


def test_hand_counts():
    assert W == 432 + 10 * 2304 + 4608 + 9 * 9216 + 18432 + 9 * 36864 + 640 == 461_872
    assert BN_PARAMS == 2272 and OTHER == 4554
    assert W + BN_PARAMS + FC_BIAS == 464_154                  # the dense parameter count
    assert D_MAX == 36_864


@pytest.fixture(scope="module")
def masked_r32():
    torch.manual_seed(0)
    model = pemn.build_model("resnet32", masked=True)
    assert [tuple(m.weight.shape) for _, m in pemn.masked_layers(model)] == R32_SHAPES
    return model


@pytest.fixture(scope="module")
def dense_r32():
    torch.manual_seed(0)
    return pemn.build_model("resnet32")


def expect(weights, masks, other=32 * OTHER):
    total = weights + masks + other
    return {"weights": weights, "masks": masks, "other": other, "total": total, "dense_total": DENSE_BITS,
            "compression": pytest.approx(1 - total / DENSE_BITS, abs=1e-12)}


def check(bits, scheme, expected):
    assert bits["scheme"] == scheme
    for key, value in expected.items():
        assert bits[key] == value, key


def test_dense_resnet32(dense_r32):
    check(pemn.storage_bits(dense_r32, "dense"), "dense", expect(32 * W, 0))
    assert pemn.storage_bits(dense_r32, "dense")["compression"] == 0.0
    assert DENSE_BITS == 32 * 466_426
    # unpruned, the sparse encodings only add index cost
    check(pemn.storage_bits(dense_r32, "csr"), "csr", expect(32 * W, 64 * W))
    check(pemn.storage_bits(dense_r32, "bitmap"), "bitmap", expect(32 * W, W))
    with pytest.raises(ValueError, match="masked model"):
        pemn.storage_bits(dense_r32, "pemn")


# unique random values each strategy stores for ResNet32
ONE_LAYER_UNIQUE = 432 + 2304 + 4608 + 9216 + 18432 + 36864 + 640    # one prototype per distinct shape
RESCALED_LAYERS = 1 + 10 + 10 + 1 + 1  # layers whose fan-in differs from 576: conv1, stage 1, stage 2, first of stage 3, fc


@pytest.mark.parametrize("name, ratio, rescale, unique, scaled", [
    ("mask", None, False, W, 0),
    ("one_layer", None, False, ONE_LAYER_UNIQUE, 0),
    ("mp", None, False, D_MAX, 0),
    ("rp", 1e-1, False, int(0.1 * D_MAX) + 1, 0),
    ("rp", 1e-2, False, 369, 0),
    ("rp", 1e-3, False, 37, 0),
    ("mp", None, True, D_MAX, RESCALED_LAYERS),
    ("rp", 1e-2, True, 369, RESCALED_LAYERS),
])
def test_pemn_resnet32_by_hand(masked_r32, name, ratio, rescale, unique, scaled):
    assert ONE_LAYER_UNIQUE == 72_496 and int(0.1 * D_MAX) + 1 == 3687 and RESCALED_LAYERS == 23
    model = pemn.apply_strategy(masked_r32, name, ratio, seed=0, rescale=rescale)
    assert pemn.unique_weight_count(model) == unique
    # PEMN: 32-bit unique values (+ one float per rescaled layer), 1 mask bit per weight, 32-bit others
    check(pemn.storage_bits(model, "pemn"), "pemn", expect(32 * (unique + scaled), W))
    # with a 64-bit seed instead of the values
    check(pemn.storage_bits(model, "pemn_seed"), "pemn_seed", expect(64 + 32 * scaled, W))
    # the masks keep n - int(0.5 n) = n / 2 in every layer (all counts are even)
    kept = sum(n - int(0.5 * n) for n in map(math.prod, R32_SHAPES))
    assert kept == W // 2 == 230_936
    check(pemn.storage_bits(model, "csr"), "csr", expect(32 * kept, 64 * kept))
    check(pemn.storage_bits(model, "bitmap"), "bitmap", expect(32 * kept, W))


def test_pemn_mp_resnet32_compression_literal(masked_r32):
    model = pemn.apply_strategy(masked_r32, "mp")
    bits = pemn.storage_bits(model, "pemn")
    assert bits["total"] == 32 * 36864 + 461872 + 32 * 4554 == 1_787_248
    assert bits["compression"] == pytest.approx(1 - 1_787_248 / 14_925_632, abs=1e-15)
    assert round(100 * bits["compression"], 2) == 88.03


def test_storage_options(masked_r32):
    model = pemn.apply_strategy(masked_r32, "rp", ratio=1e-2)
    no_stats = pemn.storage_bits(model, "pemn", include_running_stats=False)
    assert no_stats["other"] == 32 * (BN_PARAMS + FC_BIAS)
    assert no_stats["dense_total"] == 32 * (W + BN_PARAMS + FC_BIAS)
    half = pemn.storage_bits(model, "pemn", value_bits=16)
    assert (half["weights"], half["masks"], half["other"]) == (16 * 369, W, 16 * OTHER)
    assert half["dense_total"] == 16 * (W + OTHER)
    assert pemn.storage_bits(model, "pemn_seed", seed_bits=32)["weights"] == 32
    assert pemn.storage_bits(model, "csr", index_bits=16)["masks"] == 32 * (W // 2)
    with pytest.raises(ValueError, match="dense, pemn, pemn_seed, csr, bitmap"):
        pemn.storage_bits(model, "huffman")


def n_running_stats(model):
    return sum(m.running_mean.numel() + m.running_var.numel() for m in model.modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm))


@pytest.mark.parametrize("name, arch", [
    ("convmixer", dict(dim=16, depth=2, kernel_size=3, patch_size=4)),
    ("vit", dict(dim=16, depth=2, heads=2, patch_size=8)),
])
def test_other_counts_every_non_weight_float(name, arch):
    dense = pemn.build_model(name, **arch)
    masked = pemn.build_model(name, masked=True, **arch)
    n = sum(p.numel() for p in dense.parameters())
    weights = sum(m.weight.numel() for m in dense.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    stats = n_running_stats(dense)
    for model in (dense, masked):
        bits = pemn.storage_bits(model, "dense")
        assert bits["weights"] == 32 * weights
        assert bits["other"] == 32 * (n - weights + stats)   # LayerNorm, biases, cls token, pos embedding, BN
        assert bits["dense_total"] == 32 * (n + stats)


# --- sparse baselines calibrated by the accounting ---------------------------------

TARGETS = (0.90, 0.92, 0.94, 0.96)


def test_keep_fraction_formula(dense_r32):
    c = 0.9
    budget = (1 - c) * DENSE_BITS - 32 * OTHER
    assert pemn.keep_fraction_for(dense_r32, c, "csr") == pytest.approx(budget / (96 * W), rel=1e-12)
    assert pemn.keep_fraction_for(dense_r32, c, "bitmap") == pytest.approx((budget - W) / (32 * W), rel=1e-12)
    # csr costs 3 numbers per kept weight, bitmap 1 number + 1 bit per weight
    # 42088.6 / (3 * 461872) and (32 * 42088.6 - 461872) / (32 * 461872)
    assert pemn.keep_fraction_for(dense_r32, c, "csr") == pytest.approx(0.030375, abs=1e-6)
    assert pemn.keep_fraction_for(dense_r32, c, "bitmap") == pytest.approx(0.059877, abs=1e-6)


@pytest.mark.parametrize("scheme, target", [("csr", c) for c in TARGETS] + [("bitmap", c) for c in TARGETS[:3]])
def test_random_pruning_hits_target_compression(scheme, target):
    torch.manual_seed(0)
    model = pemn.build_model("resnet32")
    keep = pemn.keep_fraction_for(model, target, scheme)
    baselines.prune_random(model, keep)
    layers = baselines.prunable(model)
    assert len(layers) == 32
    kept = 0
    for m in layers:
        n = m.weight.numel()
        k = int(m.weight_mask.sum())
        assert k == n - round((1 - keep) * n)              # torch.nn.utils.prune rounds the pruned count
        assert int((m.weight != 0).sum()) == k
        kept += k
    bits = pemn.storage_bits(model, scheme)
    assert bits["weights"] == 32 * kept
    assert bits["masks"] == (64 * kept if scheme == "csr" else W)
    assert abs(bits["compression"] - target) < 0.001        # within 0.1 percentage point


def test_bitmap_cannot_reach_96_percent_on_resnet32(dense_r32):
    # 4 % of the dense bits is 0.04 * 32 * 466,426 = 597,025 bits, but the bitmap alone costs
    # 461,872 bits and the other floats 32 * 4,554 = 145,728: 607,600 > 597,025 before any value.
    assert W + 32 * OTHER > 0.04 * DENSE_BITS
    with pytest.raises(ValueError, match="out of reach"):
        pemn.keep_fraction_for(dense_r32, 0.96, "bitmap")
    # without the BN running statistics it fits again
    keep = pemn.keep_fraction_for(dense_r32, 0.96, "bitmap", include_running_stats=False)
    assert keep == pytest.approx((0.04 * 32 * (W + OTHER - BN_STATS) - 32 * (OTHER - BN_STATS) - W) / (32 * W))


def test_unreachable_target_and_bad_scheme(dense_r32):
    with pytest.raises(ValueError, match="out of reach"):
        pemn.keep_fraction_for(dense_r32, 0.9999, "csr")
    with pytest.raises(ValueError, match="csr.*bitmap"):
        pemn.keep_fraction_for(dense_r32, 0.9, "pemn")
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"\(0, 1\)"):
            pemn.keep_fraction_for(dense_r32, bad, "csr")


def small_dense():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 7, 3), nn.BatchNorm2d(7), nn.Flatten(), nn.Linear(7 * 4 * 4, 13))


def test_magnitude_pruning_per_layer_counts_and_order():
    model = small_dense()
    baselines.start_magnitude(model)
    assert baselines.kept_fraction(model) == 1.0
    masks = [m.weight_mask for m in baselines.prunable(model)]
    prev = None
    for keep in (0.7, 0.45, 0.2):
        baselines.magnitude_step(model, keep)
        for m, mask in zip(baselines.prunable(model), masks):
            assert m.weight_mask is mask                       # updated in place (optimizer state survives)
            n = m.weight.numel()
            k = int(m.weight_mask.sum())
            assert k == n - round((1 - keep) * n)
            w = m.weight_orig.detach().abs()
            kept, pruned = w[m.weight_mask.bool()], w[~m.weight_mask.bool()]
            assert kept.min() >= pruned.max()                  # the largest magnitudes survive
        cur = [mask.clone() for mask in masks]
        if prev is not None:                                   # pruned weights stay pruned
            assert all(bool((c <= p).all()) for c, p in zip(cur, prev))
        prev = cur
    # 189 and 1456 weights: 189 - round(0.8 * 189) = 38, 1456 - round(0.8 * 1456) = 291
    assert [int(m.sum()) for m in masks] == [38, 291]
    assert baselines.kept_fraction(model) == (38 + 291) / (189 + 1456)
    bits = pemn.storage_bits(model, "csr")
    assert bits["weights"] == 32 * (38 + 291) and bits["masks"] == 64 * (38 + 291)
    assert bits["other"] == 32 * (7 + 13 + 2 * 7 + 2 * 7)     # conv bias, fc bias, BN affine, BN stats


def test_magnitude_pruning_keeps_pruned_after_weights_change():
    model = small_dense()
    baselines.start_magnitude(model)
    baselines.magnitude_step(model, 0.5)
    conv = model[0]
    before = conv.weight_mask.clone()
    with torch.no_grad():                                      # a pruned weight grows large during training
        conv.weight_orig[~before.bool()] = 100.0
    baselines.magnitude_step(model, 0.4)
    assert not bool(conv.weight_mask[~before.bool()].any())
    assert int(conv.weight_mask.sum()) == 189 - round(0.6 * 189) == 76


def test_cubic_schedule():
    assert baselines.cubic_keep(0, 100, 0.1) == 1.0
    assert baselines.cubic_keep(30, 100, 0.1) == pytest.approx(1 - 0.9 * (1 - 0.5 ** 3))   # t = 0.5
    assert baselines.cubic_keep(60, 100, 0.1) == 0.1
    assert baselines.cubic_keep(100, 100, 0.1) == 0.1
    keeps = [baselines.cubic_keep(s, 100, 0.05) for s in range(101)]
    assert all(a >= b for a, b in zip(keeps, keeps[1:]))
