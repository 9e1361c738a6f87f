"""Backbones: exact parameter counts, shapes, masked/dense parity, bad options."""
import pytest
import torch
from torch import nn

import pemn
from pemn.masking import MASKED_TYPES


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def cifar_resnet_params(n, num_classes, widths=(16, 32, 64)):
    """By hand: 3x3 convs without bias, BN (2 floats per channel), option-A shortcuts (no parameters), fc with bias."""
    convs = 3 * widths[0] * 9
    bns = 2 * widths[0]
    c_in = widths[0]
    for w in widths:
        convs += c_in * w * 9 + (2 * n - 1) * w * w * 9   # first conv of the stage may change width
        bns += 2 * n * 2 * w
        c_in = w
    return convs + bns + widths[-1] * num_classes + num_classes


def convmixer_params(dim, depth, kernel_size, patch_size, num_classes):
    """Patch conv, depth x [depthwise conv, pointwise conv], a BN after each conv, linear head; no biases."""
    patch = 3 * dim * patch_size ** 2 + 2 * dim
    block = dim * kernel_size ** 2 + 2 * dim + dim * dim + 2 * dim
    return patch + depth * block + dim * num_classes


def vit_params(dim, depth, heads, mlp_ratio, patch_size, num_classes, image_size=32):
    tokens = (image_size // patch_size) ** 2 + 1
    embed = 3 * patch_size ** 2 * dim + dim
    hidden = dim * mlp_ratio
    block = 2 * 2 * dim + 4 * (dim * dim + dim) + (dim * hidden + hidden) + (hidden * dim + dim)
    return embed + dim + tokens * dim + depth * block + 2 * dim + dim * num_classes + num_classes


def test_resnet_formula_matches_paper_counts():
    assert cifar_resnet_params(5, 10) == 464_154     # ResNet32, "0.46 M"
    assert cifar_resnet_params(9, 10) == 853_018     # ResNet56, "0.85 M"


@pytest.mark.parametrize("name, num_classes, expected", [
    ("resnet32", 10, 464_154), ("resnet56", 10, 853_018),
    ("resnet32", 100, 464_154 + 90 * 65), ("resnet56", 100, 853_018 + 90 * 65),
])
def test_resnet_parameter_counts(name, num_classes, expected):
    model = pemn.build_model(name, num_classes=num_classes)
    assert n_params(model) == expected
    n = {"resnet32": 5, "resnet56": 9}[name]
    assert n_params(model) == cifar_resnet_params(n, num_classes)


@pytest.mark.parametrize("arch, num_classes", [
    (dict(), 10),                                                       # defaults: 256/8/5/2
    (dict(dim=256, depth=6, kernel_size=5, patch_size=2), 10),
    (dict(dim=64, depth=6, kernel_size=5, patch_size=4), 100),
    (dict(dim=32, depth=2, kernel_size=3, patch_size=1), 10),
])
def test_convmixer_parameter_counts(arch, num_classes):
    full = dict(dim=256, depth=8, kernel_size=5, patch_size=2) | arch
    model = pemn.build_model("convmixer", num_classes=num_classes, **arch)
    assert n_params(model) == convmixer_params(num_classes=num_classes, **full)


def test_convmixer_256_8_count_literal():
    # 3*256*4 + 512 + 8 * (256*25 + 512 + 256*256 + 512) + 256*10
    assert n_params(pemn.build_model("convmixer", dim=256, depth=8)) == 589_824


@pytest.mark.parametrize("arch, num_classes", [
    (dict(), 10),                                                        # defaults: 256/6/8 heads/mlp 2/patch 4
    (dict(dim=512, depth=8, heads=8, mlp_ratio=2, patch_size=4), 100),
    (dict(dim=32, depth=2, heads=4, mlp_ratio=4, patch_size=8), 10),
])
def test_vit_parameter_counts(arch, num_classes):
    full = dict(dim=256, depth=6, heads=8, mlp_ratio=2, patch_size=4) | arch
    model = pemn.build_model("vit", num_classes=num_classes, **arch)
    assert n_params(model) == vit_params(num_classes=num_classes, **full)


def test_vit_256_6_count_literal():
    # embed 48*256+256, cls 256, pos 65*256, 6 blocks of 1024 + 4*65792 + 131584 + 131328 = 527104, norm 512, head 2570
    assert n_params(pemn.build_model("vit")) == 12544 + 256 + 16640 + 6 * 527104 + 512 + 2570 == 3_195_146


SMALL = {
    "resnet32": dict(),
    "resnet56": dict(),
    "convmixer": dict(dim=16, depth=2, kernel_size=3, patch_size=4),
    "vit": dict(dim=16, depth=2, heads=2, mlp_ratio=2, patch_size=8),
}
N_LAYERS = {"resnet32": 32, "resnet56": 56, "convmixer": 1 + 2 * 2 + 1, "vit": 1 + 2 * 6 + 1}


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("num_classes", [10, 100])
def test_output_shapes_dense_and_masked(name, num_classes):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    for masked in (False, True):
        model = pemn.build_model(name, num_classes=num_classes, masked=masked, **SMALL[name]).eval()
        with torch.no_grad():
            out = model(x)
        assert out.shape == (2, num_classes)
        assert torch.isfinite(out).all()


def weight_layers(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear, *MASKED_TYPES))]


@pytest.mark.parametrize("name", list(SMALL))
def test_masked_and_dense_have_same_layout(name):
    torch.manual_seed(0)
    dense = pemn.build_model(name, **SMALL[name])
    masked = pemn.build_model(name, masked=True, keep_ratio=0.3, **SMALL[name])
    d, m = weight_layers(dense), weight_layers(masked)
    assert len(d) == len(m) == N_LAYERS[name]
    for (dn, dl), (mn, ml) in zip(d, m):
        assert dn == mn
        assert dl.weight.shape == ml.weight.shape == ml.scores.shape
        assert (dl.bias is None) == (ml.bias is None)
        assert ml.keep_ratio == 0.3
    # every conv/linear of the masked model is ours; none of torch's, no packed attention
    assert all(isinstance(ml, MASKED_TYPES) for _, ml in m)
    assert not any(type(x) in (nn.Conv2d, nn.Linear, nn.MultiheadAttention) for x in masked.modules())
    # scores replace the weights one for one: the masked model learns as many numbers as the dense one
    assert sum(p.numel() for p in masked.parameters() if p.requires_grad) == n_params(dense)
    frozen = [n for n, p in masked.named_parameters() if not p.requires_grad]
    assert len(frozen) == N_LAYERS[name] and all(n.endswith("source.values") for n in frozen)


def test_resnet_stage_shapes_and_option_a_shortcut():
    model = pemn.build_model("resnet32").eval()
    shapes = []
    for i in (4, 9, 14):
        model.blocks[i].register_forward_hook(lambda mod, inp, out: shapes.append(tuple(out.shape)))
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    assert shapes == [(1, 16, 32, 32), (1, 32, 16, 16), (1, 64, 8, 8)]
    assert len(model.blocks) == 15
    # option A: a parameter-free shortcut (subsample, zero-pad channels)
    block = model.blocks[5]
    x = torch.randn(1, 16, 8, 8)
    sc = block.shortcut(x)
    assert sc.shape == (1, 32, 4, 4)
    assert torch.equal(sc[:, 8:24], x[:, :, ::2, ::2])
    assert bool((sc[:, :8] == 0).all()) and bool((sc[:, 24:] == 0).all())


def test_convmixer_layers():
    model = pemn.build_model("convmixer", dim=16, depth=2, kernel_size=3, patch_size=4, masked=True)
    convs = [m for m in model.modules() if isinstance(m, pemn.MaskedConv2d)]
    assert [c.weight.shape for c in convs] == [(16, 3, 4, 4), (16, 1, 3, 3), (16, 16, 1, 1), (16, 1, 3, 3), (16, 16, 1, 1)]
    assert convs[0].stride == (4, 4)
    assert convs[1].groups == 16
    assert all(c.bias is None for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 5
    assert sum(isinstance(m, nn.GELU) for m in model.modules()) == 5


def test_vit_attention_equals_multihead_attention():
    torch.manual_seed(0)
    model = pemn.build_model("vit", dim=16, depth=1, heads=4, patch_size=8)
    attn = model.blocks[0].attn
    ref = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        for lin in (attn.q, attn.k, attn.v, attn.proj):
            lin.bias.copy_(torch.randn(16))
        ref.in_proj_weight.copy_(torch.cat([attn.q.weight, attn.k.weight, attn.v.weight]))
        ref.in_proj_bias.copy_(torch.cat([attn.q.bias, attn.k.bias, attn.v.bias]))
        ref.out_proj.weight.copy_(attn.proj.weight)
        ref.out_proj.bias.copy_(attn.proj.bias)
        x = torch.randn(2, 5, 16)
        expected, _ = ref(x, x, x, need_weights=False)
        assert torch.allclose(attn(x), expected, atol=1e-5)


def test_vit_masked_uses_our_linear_layers():
    model = pemn.build_model("vit", dim=16, depth=2, heads=2, patch_size=8, masked=True)
    attn = model.blocks[0].attn
    assert all(isinstance(l, pemn.MaskedLinear) for l in (attn.q, attn.k, attn.v, attn.proj))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad and "blocks" not in n}
    assert {"cls_token", "pos_embed", "norm.weight", "norm.bias"} <= trainable


def test_masked_model_trains_scores_only():
    torch.manual_seed(0)
    model = pemn.build_model("convmixer", dim=8, depth=1, kernel_size=3, patch_size=8, masked=True)
    values = [m.source.values.detach().clone() for _, m in pemn.masked_layers(model)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3])).backward()
    opt.step()
    assert all(torch.equal(v, m.source.values) for v, (_, m) in zip(values, pemn.masked_layers(model)))


# --- bad input ---------------------------------------------------------------------

def test_unknown_backbone_names_valid_choices():
    with pytest.raises(ValueError, match="resnet32, resnet56, convmixer, vit"):
        pemn.build_model("resnet18")


@pytest.mark.parametrize("name, arch, valid", [
    ("convmixer", dict(width=64), "['depth', 'dim', 'kernel_size', 'patch_size']"),
    ("vit", dict(hidden=64), "['depth', 'dim', 'heads', 'image_size', 'mlp_ratio', 'patch_size']"),
    ("resnet32", dict(depth=44), "[]"),
    ("resnet56", dict(dim=8), "[]"),
])
def test_unknown_arch_option_names_valid_choices(name, arch, valid):
    with pytest.raises(ValueError, match="valid: " + valid.replace("[", r"\[").replace("]", r"\]")):
        pemn.build_model(name, **arch)


@pytest.mark.parametrize("kwargs", [dict(num_classes=1), dict(num_classes=10.0), dict(num_classes=True),
                                    dict(masked=True, keep_ratio=0.0), dict(masked=True, keep_ratio=1.5)])
def test_bad_build_arguments(kwargs):
    with pytest.raises(ValueError):
        pemn.build_model("convmixer", dim=8, depth=1, **kwargs)


def test_vit_bad_geometry():
    with pytest.raises(ValueError, match="divisible"):
        pemn.build_model("vit", dim=30, heads=4)
    with pytest.raises(ValueError, match="patch_size"):
        pemn.build_model("vit", dim=16, heads=2, patch_size=5)
