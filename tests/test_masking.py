"""Masked layers: kept counts, masks, frozen weights, straight-through gradients."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import pemn
from pemn.masking import topk_mask


# --- kept count: the official rule n - int((1 - k) * n) -----------------------

@pytest.mark.parametrize("n, keep, expected", [
    (432, 0.1, 44),   # round(0.1 * 432) would be 43: the official rule keeps 44
    (432, 0.5, 216),
    (1000, 0.3, 300),
    (27, 0.7, 19),    # 0.3 * 27 = 8.1 -> int 8 dropped
    (7, 0.5, 4),      # 3.5 -> int 3 dropped, 4 kept
    (5, 1.0, 5),
])
def test_kept_count_official_rule(n, keep, expected):
    assert pemn.kept_count(n, keep) == expected
    assert int(topk_mask(torch.randn(n), keep).sum()) == expected


def test_conv_mask_432_keep_01_keeps_44():
    torch.manual_seed(0)
    conv = pemn.MaskedConv2d(3, 16, 3, keep_ratio=0.1)  # 16*3*3*3 = 432 weights
    m = conv.mask()
    assert m.dtype == torch.bool
    assert m.shape == (16, 3, 3, 3)
    assert int(m.sum()) == 44


def test_linear_mask_count_and_default_keep_ratio():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(30, 7)  # 210 weights, default keep 0.5
    assert lin.keep_ratio == 0.5
    assert int(lin.mask().sum()) == 105
    lin = pemn.MaskedLinear(30, 7, keep_ratio=0.3)
    assert int(lin.mask().sum()) == 210 - int(0.7 * 210) == 63


def test_mask_keeps_largest_absolute_scores():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(5, 4, bias=False, keep_ratio=0.25)  # 20 weights, keep 5
    # |scores| are 1..20 with alternating signs: the kept ones must be 16..20.
    vals = torch.arange(1, 21, dtype=torch.float32) * torch.tensor([1.0, -1.0]).repeat(10)
    perm = torch.randperm(20)
    with torch.no_grad():
        lin.scores.copy_(vals[perm].view(4, 5))
    m = lin.mask()
    assert int(m.sum()) == 5
    assert torch.equal(m, lin.scores.detach().abs() >= 16)


def test_ties_all_equal_give_exact_count_and_same_mask():
    scores = torch.ones(16, 3, 3, 3)
    m1, m2 = topk_mask(scores, 0.1), topk_mask(scores, 0.1)
    assert int(m1.sum()) == 44
    assert torch.equal(m1, m2)
    lin = pemn.MaskedLinear(10, 10, keep_ratio=0.3)
    with torch.no_grad():
        lin.scores.fill_(-0.5)
    masks = [lin.mask() for _ in range(3)]
    assert all(int(m.sum()) == 30 for m in masks)
    assert torch.equal(masks[0], masks[1]) and torch.equal(masks[1], masks[2])


def test_partial_ties_at_the_threshold():
    # 10 values: 4 clearly large, then six tied at 1.0; keep 0.5 -> 5 kept:
    # the 4 large ones and exactly one of the tied values.
    s = torch.tensor([5.0, 1.0, -1.0, 6.0, 1.0, 7.0, -1.0, 1.0, 8.0, 1.0])
    m = topk_mask(s, 0.5)
    assert int(m.sum()) == 5
    assert m[[0, 3, 5, 8]].all()
    assert int(m[[1, 2, 4, 6, 7, 9]].sum()) == 1
    assert torch.equal(m, topk_mask(s.clone(), 0.5))


def test_keep_ratio_one_keeps_everything():
    lin = pemn.MaskedLinear(6, 4, keep_ratio=1.0)
    assert bool(lin.mask().all())
    x = torch.randn(3, 6)
    assert torch.allclose(lin(x), F.linear(x, lin.weight, lin.bias))


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.0001, 2, float("nan"), None, "0.5"])
def test_bad_keep_ratio_raises(bad):
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        pemn.MaskedLinear(4, 4, keep_ratio=bad)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        pemn.MaskedConv2d(3, 4, 3, keep_ratio=bad)


def test_keep_ratio_is_keyword_only():
    with pytest.raises(TypeError):
        pemn.MaskedLinear(4, 4, True, None, None, 0.3)


def test_padding_mode_other_than_zeros_raises():
    with pytest.raises(ValueError, match="zeros"):
        pemn.MaskedConv2d(3, 4, 3, padding=1, padding_mode="reflect")


# --- same arguments and shapes as nn.Conv2d / nn.Linear -------------------------

@pytest.mark.parametrize("args, kwargs", [
    ((3, 8, 3), dict(stride=2, padding=1, bias=False)),
    ((4, 6, 3), dict(groups=2, padding=1)),
    ((8, 8, 5), dict(groups=8, padding="same", bias=False)),   # depthwise, as in ConvMixer
    ((3, 5, (3, 1)), dict(dilation=2)),
])
def test_conv_matches_f_conv2d_with_masked_weight(args, kwargs):
    torch.manual_seed(0)
    ref = nn.Conv2d(*args, **kwargs)
    conv = pemn.MaskedConv2d(*args, **kwargs, keep_ratio=0.3)
    assert conv.weight.shape == ref.weight.shape
    assert (conv.bias is None) == (ref.bias is None)
    if conv.bias is not None:
        with torch.no_grad():
            conv.bias.copy_(torch.randn_like(conv.bias))
    x = torch.randn(2, args[0], 9, 9)
    w = conv.weight * conv.mask()
    expected = F.conv2d(x, w, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    assert conv(x).shape == ref(x).shape
    assert torch.allclose(conv(x), expected, atol=1e-6)
    # the masked-out weights really are absent
    assert int((w != 0).sum()) == pemn.kept_count(w.numel(), 0.3)


def test_linear_matches_f_linear_with_masked_weight():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(20, 7, keep_ratio=0.4)
    assert lin.weight.shape == nn.Linear(20, 7).weight.shape == (7, 20)
    with torch.no_grad():
        lin.bias.copy_(torch.randn(7))
    x = torch.randn(3, 5, 20)  # extra leading dims, as in a ViT
    expected = F.linear(x, lin.weight * lin.mask(), lin.bias)
    assert torch.allclose(lin(x), expected, atol=1e-6)


def test_dtype_and_device_arguments():
    lin = pemn.MaskedLinear(4, 3, dtype=torch.float64, device="cpu")
    assert lin.weight.dtype == lin.scores.dtype == lin.bias.dtype == torch.float64
    assert lin(torch.randn(2, 4, dtype=torch.float64)).dtype == torch.float64


# --- init as in the official code -------------------------------------------------

def test_init_kaiming_normal_weights_and_kaiming_uniform_scores():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(800, 250, bias=False)  # 200,000 values
    w, s = lin.weight.detach(), lin.scores.detach()
    std = math.sqrt(2.0 / 800)  # fan_in, ReLU gain
    assert abs(w.std().item() / std - 1) < 0.01
    assert abs(w.mean().item()) < 0.01 * std
    bound = 1 / math.sqrt(800)  # kaiming_uniform_(a=sqrt(5)) on fan_in 800
    assert s.abs().max().item() <= bound
    assert s.abs().max().item() > 0.999 * bound
    assert abs(s.std().item() / (bound / math.sqrt(3)) - 1) < 0.01
    conv = pemn.MaskedConv2d(64, 64, 3)
    std = math.sqrt(2.0 / (64 * 9))
    assert abs(conv.weight.std().item() / std - 1) < 0.02


# --- frozen weight, learnable scores, straight-through gradient -------------------

def test_weight_frozen_scores_learn():
    torch.manual_seed(0)
    model = nn.Sequential(pemn.MaskedConv2d(3, 4, 3, padding=1), nn.Flatten(), pemn.MaskedLinear(4 * 6 * 6, 5))
    w0 = [m.weight.detach().clone() for m in (model[0], model[2])]
    s0 = [m.scores.detach().clone() for m in (model[0], model[2])]
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9, weight_decay=0.1)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(torch.randn(8, 3, 6, 6)), torch.arange(8) % 5).backward()
        for m in (model[0], model[2]):
            assert m.source.values.requires_grad is False
            assert m.source.values.grad is None
            assert m.scores.grad is not None and bool((m.scores.grad != 0).any())
        opt.step()
    for m, w, s in zip((model[0], model[2]), w0, s0):
        assert torch.equal(m.weight, w)
        assert not torch.equal(m.scores.detach(), s)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"0.scores", "0.bias", "2.scores", "2.bias"}


def test_straight_through_gradient_linear_manual():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(6, 4, keep_ratio=0.25)
    x, g = torch.randn(3, 6), torch.randn(3, 4)
    lin(x).backward(g)
    # y = x W_eff^T + b, so dL/dW_eff = g^T x; the mask of |s| passes straight through: dL/ds = dL/dW_eff * W * sign(s).
    expected = (g.t() @ x) * lin.weight.detach() * lin.scores.detach().sign()
    assert torch.allclose(lin.scores.grad, expected, atol=1e-6)
    # straight-through: the pruned positions get gradient too (18 of 24 weights are masked out)
    pruned = ~lin.mask()
    assert int(pruned.sum()) == 18
    assert bool((lin.scores.grad[pruned] != 0).all())
    assert torch.allclose(lin.bias.grad, g.sum(0))


def test_straight_through_gradient_conv_against_reference():
    torch.manual_seed(0)
    conv = pemn.MaskedConv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False, keep_ratio=0.2)
    x = torch.randn(2, 4, 7, 7)
    g = torch.randn(2, 6, 4, 4)
    conv(x).backward(g)
    w_eff = (conv.weight * conv.mask()).detach().requires_grad_()
    F.conv2d(x, w_eff, None, 2, 1, 1, 2).backward(g)
    expected = w_eff.grad * conv.weight.detach() * conv.scores.detach().sign()
    assert torch.allclose(conv.scores.grad, expected, atol=1e-5)
    assert bool((conv.scores.grad[~conv.mask()] != 0).any())


def test_a_step_that_favours_a_weight_grows_its_score_whatever_the_sign():
    lin = pemn.MaskedLinear(2, 1, bias=False, keep_ratio=0.5)
    with torch.no_grad():
        lin.source.values.copy_(torch.tensor([1.0, 1.0]))
        lin.scores.copy_(torch.tensor([[-0.1, 0.2]]))
    assert lin.mask().tolist() == [[False, True]]
    (-lin(torch.ones(1, 2)).sum()).backward()  # both weights raise the output: keeping either lowers the loss
    torch.optim.SGD([lin.scores], lr=0.05).step()
    assert torch.allclose(lin.scores.detach().abs(), torch.tensor([[0.15, 0.25]]))
    assert lin.scores[0, 0] < 0  # the negative score grew in magnitude, not towards zero


def test_mask_follows_scores_after_update():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(4, 2, bias=False, keep_ratio=0.5)  # 8 weights, 4 kept
    with torch.no_grad():
        lin.scores.copy_(torch.tensor([[0.1, -0.9, 0.2, 0.8], [-0.3, 0.05, 0.7, -0.6]]))
    expected = torch.tensor([[False, True, False, True], [False, False, True, True]])
    assert torch.equal(lin.mask(), expected)
    x = torch.randn(1, 4)
    assert torch.allclose(lin(x), x @ (lin.weight * expected).t(), atol=1e-6)


def test_masked_layers_in_definition_order():
    model = nn.Sequential(pemn.MaskedConv2d(3, 4, 3), nn.ReLU(), nn.Sequential(nn.BatchNorm2d(4), pemn.MaskedLinear(4, 2)),
                          nn.Linear(2, 2))
    names = [n for n, _ in pemn.masked_layers(model)]
    assert names == ["0", "2.1"]


# --- fixed masks (a stored mask replaces the top-k of the scores, e.g. after loading an export) ---

def test_fix_mask_freezes_current_topk():
    torch.manual_seed(0)
    lin = pemn.MaskedLinear(6, 4, keep_ratio=0.25)
    before = lin.mask().clone()
    lin.fix_mask()
    with torch.no_grad():
        lin.scores.neg_().add_(torch.randn_like(lin.scores))   # the scores no longer matter
    assert torch.equal(lin.mask(), before) and int(lin.mask().sum()) == 6
    x = torch.randn(3, 6)
    out = lin(x)
    assert torch.allclose(out, F.linear(x, lin.weight * before, lin.bias), atol=1e-6)
    out.sum().backward()
    assert lin.scores.grad is None


def test_fix_mask_given_mask_and_bad_shape():
    conv = pemn.MaskedConv2d(2, 3, 1, bias=False)                # 6 weights
    given = torch.tensor([1, 0, 0, 1, 1, 0], dtype=torch.bool).view(3, 2, 1, 1)
    conv.fix_mask(given)
    assert torch.equal(conv.mask(), given) and conv.mask() is not given
    x = torch.randn(1, 2, 2, 2)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * given), atol=1e-6)
    # survives dtype moves and copies (a bool buffer), not part of the state_dict (persistent=False)
    clone = copy.deepcopy(conv).double()
    assert torch.equal(clone.mask(), given) and clone.mask().dtype == torch.bool
    assert "fixed_mask" not in conv.state_dict()
    with pytest.raises(ValueError, match="does not fit"):
        conv.fix_mask(torch.ones(6, dtype=torch.bool))
