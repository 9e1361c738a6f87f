"""PEMN strategies on the paper's MLP example (512-100-100-100-10) and on small conv nets."""
import copy
import io
import math

import pytest
import torch
from torch import nn

import pemn
from pemn.strategies import plan_mask, plan_mp, plan_one_layer, plan_rp, rp_length

# The paper's MLP example (Sec. 3.2, Alg. 1): 512-100-100-100-10.
MLP_SIZES = (512, 100, 100, 100, 10)
MLP_SHAPES = [("0", (100, 512)), ("1", (100, 100)), ("2", (100, 100)), ("3", (10, 100))]
MLP_NUMEL = [51200, 10000, 10000, 1000]


def make_mlp(bias=False, keep_ratio=0.5):
    torch.manual_seed(0)
    return nn.Sequential(*[pemn.MaskedLinear(a, b, bias=bias, keep_ratio=keep_ratio)
                           for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:])])


@pytest.fixture
def mlp():
    return make_mlp()


def layers(model):
    return [m for _, m in pemn.masked_layers(model)]


def all_weights(model):
    return torch.cat([m.weight.detach().flatten() for m in layers(model)])


def values_id(model):
    return [id(m.source.values) for m in layers(model)]


def distinct_after_labelling(model):
    """Distinct weight values once every stored prototype value is replaced by its own integer label.

    float32 random draws collide (about 20 duplicates among 51,200 Kaiming values), so the raw
    values cannot show the layout exactly; labels (exact in float32 below 2**24) can.
    """
    protos = list({id(m.source.values): m.source.values for m in layers(model)}.values())
    start = 0
    with torch.no_grad():
        for p in protos:
            p.copy_(torch.arange(start, start + p.numel(), dtype=p.dtype))
            start += p.numel()
    return torch.unique(all_weights(model)).numel()


# --- the paper's numbers --------------------------------------------------------

def test_mask_strategy_every_value_distinct(mlp):
    pemn.apply_strategy(mlp, "mask")
    assert pemn.unique_weight_count(mlp) == 72200
    assert len(set(values_id(mlp))) == 4
    assert distinct_after_labelling(mlp) == 72200


def test_one_layer_prototypes_w1_w2_w4(mlp):
    pemn.apply_strategy(mlp, "one_layer")
    l1, l2, l3, l4 = layers(mlp)
    assert l3.source.values is l2.source.values          # w3 reuses w2: the same Parameter object
    assert l3.source.values.data_ptr() == l2.source.values.data_ptr()
    assert len({id(l1.source.values), id(l2.source.values), id(l4.source.values)}) == 3
    assert [l.source.values.numel() for l in (l1, l2, l4)] == [51200, 10000, 1000]
    assert torch.equal(l3.weight, l2.weight)
    assert pemn.unique_weight_count(mlp) == 62200 == 51200 + 10000 + 1000
    # masks stay per layer and independent, whatever the sharing
    assert not torch.equal(l2.mask(), l3.mask())
    assert distinct_after_labelling(mlp) == 62200


def test_mp_layer_l_is_first_d_l_values_of_largest(mlp):
    pemn.apply_strategy(mlp, "mp")
    ls = layers(mlp)
    assert len(set(values_id(mlp))) == 1
    proto = ls[0].source.values.detach()
    assert proto.numel() == 51200
    largest = ls[0].weight.detach().flatten()
    assert torch.equal(largest, proto)
    for layer, d in zip(ls, MLP_NUMEL):
        assert torch.equal(layer.weight.detach().flatten(), largest[:d])
    assert pemn.unique_weight_count(mlp) == 51200
    assert distinct_after_labelling(mlp) == 51200


def test_rp_1e2_vector_of_513_tiled(mlp):
    pemn.apply_strategy(mlp, "rp", ratio=1e-2)
    ls = layers(mlp)
    assert len(set(values_id(mlp))) == 1
    proto = ls[0].source.values.detach()
    assert proto.numel() == 513 == int(1e-2 * 51200) + 1
    for layer, d in zip(ls, MLP_NUMEL):
        w = layer.weight.detach().flatten()
        assert torch.equal(w, proto.repeat(math.ceil(d / 513))[:d])
    # explicitly: values 513..1025 of layer 2 are the prototype again, and the 10,000-value layer
    # ends with the first 10000 - 19 * 513 = 253 prototype values
    w2 = ls[1].weight.detach().flatten()
    assert torch.equal(w2[513:1026], proto)
    assert torch.equal(w2[-253:], proto[:253])
    assert pemn.unique_weight_count(mlp) == 513
    assert torch.unique(all_weights(mlp)).numel() == 513  # 513 draws happen to be distinct


def test_rp_vector_is_first_values_of_mp_largest_layer():
    # official code: RP's vector is the first d_v values of the largest layer's weights
    mp = pemn.apply_strategy(make_mlp(), "mp", seed=7)
    rp = pemn.apply_strategy(make_mlp(), "rp", ratio=0.1, seed=7)
    assert layers(rp)[0].source.values.numel() == 5121
    assert torch.equal(layers(rp)[0].source.values, layers(mp)[0].source.values[:5121])


@pytest.mark.parametrize("name, ratio, expected", [
    ("mask", None, 72200), ("one_layer", None, 62200), ("mp", None, 51200),
    ("rp", 1e-1, 5121), ("rp", 1e-2, 513), ("rp", 1e-3, 52), ("rp", 1e-5, 1), ("rp", 1.0, 51200),
])
def test_unique_count_matches_torch_unique(mlp, name, ratio, expected):
    pemn.apply_strategy(mlp, name, ratio=ratio)
    assert pemn.unique_weight_count(mlp) == expected
    # memory really holds only the unique values: distinct storages add up to the count
    storages = {m.source.values.data_ptr(): m.source.values for m in layers(mlp)}
    assert sum(v.numel() for v in storages.values()) == expected
    # the layers hold no value that is not stored in a prototype, and every stored value is used
    stored = torch.unique(torch.cat([v.detach() for v in storages.values()]))
    assert torch.equal(torch.unique(all_weights(mlp)), stored)
    assert distinct_after_labelling(mlp) == expected


def test_fresh_masked_model_counts_all_weights(mlp):
    assert pemn.unique_weight_count(mlp) == 72200


def test_unique_count_dense_layers_counts_every_weight():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8, 4))
    assert pemn.unique_weight_count(model) == 216 + 32


# --- pure plan functions -----------------------------------------------------------

def test_plan_functions_without_a_model():
    p = plan_one_layer(MLP_SHAPES)
    assert p.unique_values == 62200
    assert [proto.numel for proto in p.prototypes] == [51200, 10000, 1000]
    assert [lp.prototype for lp in p.layers] == [0, 1, 1, 2]
    assert plan_mp(MLP_SHAPES).unique_values == 51200
    assert [lp.mode for lp in plan_mp(MLP_SHAPES).layers] == ["slice"] * 4
    rp = plan_rp(MLP_SHAPES, 1e-2)
    assert rp.unique_values == 513
    assert [lp.mode for lp in rp.layers] == ["tile"] * 4
    assert rp.prototypes[0].init_shape == (100, 512)   # drawn at the largest layer's scale
    assert plan_mask(MLP_SHAPES).unique_values == 72200
    assert pemn.make_plan(MLP_SHAPES, "one_layer").unique_values == 62200
    assert pemn.make_plan(MLP_SHAPES, "mp").unique_values == 51200
    assert pemn.make_plan(MLP_SHAPES, "rp", ratio=1e-2).unique_values == 513
    assert pemn.make_plan(MLP_SHAPES, "mask").unique_values == 72200
    assert pemn.make_plan(MLP_SHAPES, "one_layer", share=("conv",)).unique_values == 72200
    assert [lp.name for lp in p.layers] == ["0", "1", "2", "3"]
    assert [lp.numel for lp in p.layers] == MLP_NUMEL


def test_plan_from_model_equals_plan_from_shapes(mlp):
    for name, ratio in [("mask", None), ("one_layer", None), ("mp", None), ("rp", 1e-2)]:
        assert pemn.make_plan(mlp, name, ratio) == pemn.make_plan(MLP_SHAPES, name, ratio)


def test_rp_length_official_rule():
    assert rp_length(51200, 1e-2) == 513
    assert rp_length(36864, 1e-1) == 3687
    assert rp_length(36864, 1e-3) == 37
    assert plan_rp([("a", (4, 5))], 1.0).unique_values == 20  # never longer than the largest layer


def test_largest_layer_first_on_ties():
    p = plan_mp([("a", (3, 4)), ("b", (4, 3)), ("c", (2, 2))])
    assert p.prototypes[0].init_shape == (3, 4)


def small_convnet():
    torch.manual_seed(0)
    return nn.Sequential(pemn.MaskedConv2d(3, 8, 3, padding=1, bias=False),
                         pemn.MaskedConv2d(8, 8, 3, padding=1, bias=False),
                         pemn.MaskedConv2d(8, 8, 3, padding=1, bias=False),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         pemn.MaskedLinear(8, 8), pemn.MaskedLinear(8, 8))


def test_one_layer_share_conv_only_keeps_linears_unshared():
    model = pemn.apply_strategy(small_convnet(), "one_layer")
    c1, c2, c3, f1, f2 = layers(model)
    assert c2.source.values is c3.source.values and f1.source.values is f2.source.values
    assert pemn.unique_weight_count(model) == 216 + 576 + 64
    model = pemn.apply_strategy(small_convnet(), "one_layer", share=("conv",))
    c1, c2, c3, f1, f2 = layers(model)
    assert c2.source.values is c3.source.values
    assert f1.source.values is not f2.source.values
    assert not torch.equal(f1.weight, f2.weight)
    assert pemn.unique_weight_count(model) == 216 + 576 + 64 + 64
    assert distinct_after_labelling(model) == 920
    assert model.pemn_strategy["share"] == ["conv"]


def test_model_forward_and_backward_after_strategy():
    model = pemn.apply_strategy(small_convnet(), "rp", ratio=0.1)  # d_max 576 -> 58 values
    assert pemn.unique_weight_count(model) == 58
    out = model(torch.randn(2, 3, 5, 5))
    assert out.shape == (2, 8)
    out.sum().backward()
    assert layers(model)[0].source.values.grad is None
    assert all(m.scores.grad is not None for m in layers(model))


# --- determinism and rescaling ----------------------------------------------------------

@pytest.mark.parametrize("name, ratio", [("mask", None), ("one_layer", None), ("mp", None), ("rp", 1e-2)])
def test_deterministic_from_seed(name, ratio):
    torch.manual_seed(123)
    a = pemn.apply_strategy(make_mlp(), name, ratio, seed=3)
    torch.manual_seed(456)  # the global RNG does not matter
    b = pemn.apply_strategy(make_mlp(), name, ratio, seed=3)
    c = pemn.apply_strategy(make_mlp(), name, ratio, seed=4)
    assert torch.equal(all_weights(a), all_weights(b))
    assert not torch.equal(all_weights(a), all_weights(c))
    assert a.pemn_strategy == {"name": name, "ratio": ratio, "seed": 3, "rescale": False,
                               "share": ["conv", "linear"]}


def test_prototype_scale_is_kaiming_of_largest_layer():
    model = pemn.apply_strategy(make_mlp(), "mp", seed=0)
    proto = layers(model)[0].source.values
    gen = torch.Generator().manual_seed(0)
    expected = torch.randn(51200, generator=gen) * math.sqrt(2.0 / 512)
    assert torch.equal(proto.detach(), expected)


@pytest.mark.parametrize("name, ratio", [("mp", None), ("rp", 1e-2)])
def test_rescale_per_layer_kaiming_std(name, ratio):
    plain = pemn.apply_strategy(make_mlp(), name, ratio, seed=0)
    assert all(m.source.scale == 1.0 for m in layers(plain))  # off by default (the paper's behaviour)
    scaled = pemn.apply_strategy(make_mlp(), name, ratio, seed=0, rescale=True)
    factor = math.sqrt(2 / 100) / math.sqrt(2 / 512)  # fan_in 100 over the prototype's fan_in 512
    assert factor == pytest.approx(math.sqrt(5.12))
    assert [m.source.scale for m in layers(scaled)] == pytest.approx([1.0, factor, factor, factor])
    p, s = layers(plain), layers(scaled)
    assert torch.equal(s[0].weight, p[0].weight)
    for i in (1, 2, 3):
        assert torch.allclose(s[i].weight, p[i].weight * math.sqrt(5.12), rtol=1e-6, atol=0)
    # still one stored prototype; rescaling costs one float per layer, not more values
    assert s[1].source.values is s[0].source.values
    assert pemn.unique_weight_count(scaled) == pemn.unique_weight_count(plain)
    assert scaled.pemn_strategy["rescale"] is True


def test_rescale_is_identity_for_one_layer():
    model = pemn.apply_strategy(make_mlp(), "one_layer", rescale=True)
    assert all(m.source.scale == 1.0 for m in layers(model))


# --- sharing survives dtype moves, deepcopy and state_dict ------------------------

def assert_mp_shared(model):
    ls = layers(model)
    assert all(m.source.values is ls[0].source.values for m in ls)
    assert len({m.source.values.data_ptr() for m in ls}) == 1


@pytest.mark.parametrize("convert", [lambda m: m.to(torch.float64), lambda m: m.double(),
                                     lambda m: m.to("cpu"), lambda m: m.float()])
def test_sharing_survives_to(convert):
    model = pemn.apply_strategy(make_mlp(), "mp")
    before = all_weights(model).double()
    model = convert(model)
    assert_mp_shared(model)
    assert torch.equal(all_weights(model).double(), before)
    out = model(torch.randn(2, 512, dtype=layers(model)[0].scores.dtype))
    assert out.shape == (2, 10)


def test_one_layer_sharing_survives_double():
    model = pemn.apply_strategy(make_mlp(), "one_layer").double()
    l1, l2, l3, l4 = layers(model)
    assert l2.source.values is l3.source.values and l2.source.values.dtype == torch.float64
    assert pemn.unique_weight_count(model) == 62200


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sharing_survives_to_cuda():
    model = pemn.apply_strategy(make_mlp(), "rp", ratio=1e-2).to("cuda")
    assert_mp_shared(model)
    assert layers(model)[0].source.values.is_cuda
    assert pemn.unique_weight_count(model) == 513


def test_sharing_survives_deepcopy():
    model = pemn.apply_strategy(make_mlp(), "mp")
    clone = copy.deepcopy(model)
    assert_mp_shared(clone)
    assert layers(clone)[0].source.values is not layers(model)[0].source.values
    assert torch.equal(all_weights(clone), all_weights(model))
    assert pemn.unique_weight_count(clone) == 51200
    # the copy's sharing is real: an in-place change shows in every layer
    with torch.no_grad():
        layers(clone)[0].source.values.mul_(2)
    assert torch.equal(layers(clone)[3].weight, 2 * layers(model)[3].weight)


@pytest.mark.parametrize("name, ratio, n_protos", [("one_layer", None, 3), ("mp", None, 1), ("rp", 1e-2, 1)])
def test_sharing_survives_state_dict_roundtrip(name, ratio, n_protos):
    src = pemn.apply_strategy(make_mlp(), name, ratio, seed=1)
    buf = io.BytesIO()
    torch.save(src.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    torch.manual_seed(99)
    dst = pemn.apply_strategy(make_mlp(), name, ratio, seed=2)   # different values before loading
    assert not torch.equal(all_weights(dst), all_weights(src))
    ids_before = values_id(dst)
    dst.load_state_dict(state)
    assert values_id(dst) == ids_before                      # still the same shared Parameter objects
    assert len({m.source.values.data_ptr() for m in layers(dst)}) == n_protos
    assert torch.equal(all_weights(dst), all_weights(src))
    for a, b in zip(layers(src), layers(dst)):
        assert torch.equal(a.scores, b.scores) and torch.equal(a.mask(), b.mask())
    x = torch.randn(3, 512)
    assert torch.equal(src(x), dst(x))


# --- bad input ----------------------------------------------------------------------

VALID = "dense, mask, one_layer, mp, rp"


def test_unknown_strategy_names_valid_choices(mlp):
    with pytest.raises(ValueError, match=VALID):
        pemn.apply_strategy(mlp, "bogus")
    with pytest.raises(ValueError, match=VALID):
        pemn.make_plan(MLP_SHAPES, "MP")


@pytest.mark.parametrize("ratio", [None, 0, 0.0, -0.1, 1.5, True, "0.1"])
def test_rp_bad_ratio(mlp, ratio):
    with pytest.raises(ValueError, match=r"ratio in \(0, 1\]"):
        pemn.apply_strategy(mlp, "rp", ratio=ratio)


@pytest.mark.parametrize("name", ["mask", "one_layer", "mp", "dense"])
def test_ratio_given_to_non_rp_strategy(mlp, name):
    with pytest.raises(ValueError, match="only 'rp'"):
        pemn.apply_strategy(mlp, name, ratio=0.1)


def test_dense_strategy_rules(mlp):
    with pytest.raises(ValueError, match="masked=False"):
        pemn.apply_strategy(mlp, "dense")
    dense = nn.Sequential(nn.Linear(4, 3))
    assert pemn.apply_strategy(dense, "dense") is dense
    with pytest.raises(ValueError, match="no masked"):
        pemn.apply_strategy(dense, "mp")


def test_bad_input_changes_nothing(mlp):
    before = all_weights(mlp).clone()
    with pytest.raises(ValueError):
        pemn.apply_strategy(mlp, "rp", ratio=2.0)
    assert torch.equal(all_weights(mlp), before)
    assert not hasattr(mlp, "pemn_strategy")
