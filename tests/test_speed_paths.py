"""The speed changes of issue 6 keep behaviour: the selection-based mask, channels-last
convolutions, the unfold-based augmentation. Correctness only; timings live in ``make bench``."""
import copy

import pytest
import torch

import pemn
import pemn.train as T
from pemn import data
from pemn.bench import augment_former
from pemn.masking import topk_mask


def _topk_reference(scores, keep):
    """The former implementation: torch.topk's index set."""
    flat = scores.abs().flatten()
    k = pemn.kept_count(flat.numel(), keep)
    mask = torch.zeros(flat.numel(), dtype=torch.bool)
    mask[torch.topk(flat, k, sorted=False).indices] = True
    return mask.view_as(scores)


def _device_rule(monkeypatch):
    """Run the mask's sync-free path (CUDA, torch.compile) on the CPU."""
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)


@pytest.mark.parametrize("shape", [(7,), (100,), (16, 3, 3, 3), (64, 64, 3, 3), (10, 64)])
@pytest.mark.parametrize("keep", [0.01, 0.1, 0.5, 0.7, 0.99])
def test_selection_mask_equals_topk_without_ties(shape, keep):
    scores = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    m = topk_mask(scores, keep)
    assert m.dtype == torch.bool and m.shape == scores.shape
    assert int(m.sum()) == pemn.kept_count(scores.numel(), keep)
    assert torch.equal(m, _topk_reference(scores, keep))


@pytest.mark.parametrize("keep", [0.1, 0.3, 0.5, 0.9])
def test_ties_keep_lowest_indices_on_both_paths(keep, monkeypatch):
    gen = torch.Generator().manual_seed(1)
    scores = torch.randint(0, 4, (300,), generator=gen).float() * (torch.randint(0, 2, (300,), generator=gen) * 2 - 1)
    k = pemn.kept_count(300, keep)
    m = topk_mask(scores, keep)
    assert int(m.sum()) == k
    a = scores.abs()
    threshold = a[m].min()
    assert bool((a[~m] <= threshold).all()) and bool((a[m] >= threshold).all())
    tied_kept = torch.nonzero(m & (a == threshold)).flatten()
    tied_dropped = torch.nonzero(~m & (a == threshold)).flatten()
    if len(tied_dropped):
        assert int(tied_kept.max()) < int(tied_dropped.min())  # lowest flat indices first
    _device_rule(monkeypatch)
    assert torch.equal(topk_mask(scores, keep), m)


def test_device_path_matches_cpu_path_on_random_scores(monkeypatch):
    scores = torch.randn(64, 64, 3, 3, generator=torch.Generator().manual_seed(2))
    cpu = topk_mask(scores, 0.5)
    _device_rule(monkeypatch)
    assert torch.equal(topk_mask(scores, 0.5), cpu)


def test_nan_scores_still_keep_the_exact_count():
    scores = torch.randn(50, generator=torch.Generator().manual_seed(3))
    scores[:4] = float("nan")
    assert int(topk_mask(scores, 0.5).sum()) == 25


def test_mask_of_channels_last_scores_is_the_logical_one():
    conv = pemn.MaskedConv2d(8, 16, 3)
    before = conv.mask().clone()
    conv = conv.to(memory_format=torch.channels_last)
    assert torch.equal(conv.mask(), before)


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(groups=8, padding="same", bias=False), dict(stride=2)])
def test_channels_last_conv_same_output_and_gradients(kwargs):
    torch.manual_seed(0)
    conv = pemn.MaskedConv2d(8, 8, 3, keep_ratio=0.3, **kwargs)
    cl = copy.deepcopy(conv).to(memory_format=torch.channels_last)
    x = torch.randn(4, 8, 9, 9)
    out, out_cl = conv(x), cl(x.contiguous(memory_format=torch.channels_last))
    assert out_cl.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out, out_cl, atol=1e-5)
    g = torch.randn_like(out)
    out.backward(g)
    out_cl.backward(g)
    assert torch.allclose(conv.scores.grad, cl.scores.grad, atol=1e-4)
    assert torch.equal(conv.weight, cl.weight)


@pytest.mark.parametrize("crop, flip, erase", [(4, True, 0.0), (4, False, 0.0), (0, True, 0.0), (2, True, 0.0),
                                               (0, False, 0.0), (4, True, 0.5)])
def test_augment_is_bit_identical_to_the_reference(crop, flip, erase):
    x = torch.randint(0, 256, (96, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(4))
    aug = data.Augment(crop_pad=crop, flip=flip, erase_prob=erase)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    out = aug(x, g1)
    assert out.dtype == torch.float32 and out.is_contiguous()
    assert torch.equal(out, augment_former(aug)(x, g2))
    assert torch.equal(g1.get_state(), g2.get_state())  # the same random draws


def test_memory_format_choice_and_evaluate_layouts_agree():
    assert T.memory_format_for("convmixer") == torch.channels_last
    assert T.memory_format_for("resnet32") == torch.channels_last
    assert T.memory_format_for("vit") == torch.contiguous_format
    torch.manual_seed(0)
    model = pemn.build_model("convmixer", masked=True, dim=16, depth=2, kernel_size=3, patch_size=4)
    x = torch.randint(0, 256, (50, 3, 32, 32), dtype=torch.uint8)
    y = torch.arange(50) % 10
    mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
    acc, loss = T.evaluate(model, x, y, mean, std, torch.device("cpu"))
    cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    acc_cl, loss_cl = T.evaluate(cl, x, y, mean, std, torch.device("cpu"), memory_format=torch.channels_last)
    assert acc == acc_cl and abs(loss - loss_cl) < 1e-4


@pytest.mark.parametrize("tied", [False, True])
def test_every_selection_gives_the_same_kth_value(tied):
    from pemn.masking import _kth_by_sort, _kth_smallest
    gen = torch.Generator().manual_seed(5)
    flat = (torch.randint(0, 5, (999,), generator=gen).float() if tied else torch.randn(999, generator=gen))
    for j in (1, 2, 500, 998, 999):
        value = _kth_smallest(flat, j)  # the CPU's NumPy selection
        assert value == flat.kthvalue(j).values == _kth_by_sort(flat, j) == flat.sort().values[j - 1]


def _model_with_scores(keep=0.5, tied=False):
    torch.manual_seed(0)
    model = pemn.build_model("convmixer", masked=True, keep_ratio=keep, dim=16, depth=2, kernel_size=3, patch_size=4)
    if tied:  # few distinct |score| values: many ties at every threshold
        g = torch.Generator().manual_seed(1)
        for _, m in pemn.masking.masked_layers(model):
            with torch.no_grad():
                m.scores.copy_(torch.randint(-3, 4, m.scores.shape, generator=g).float())
    return model


@pytest.mark.parametrize("keep, tied", [(0.5, False), (0.5, True), (0.05, True), (0.93, False), (1.0, False)])
def test_batched_masks_are_each_layers_topk_mask(keep, tied):
    from pemn.masking import BatchedMasks, masked_layers
    model = _model_with_scores(keep, tied)
    layers = [m for _, m in masked_layers(model)]
    layers[1].keep_ratio = 0.3  # layers may keep different fractions
    batched = BatchedMasks(model).masks()
    assert len(batched) == len(layers) > 3
    for m, mask in zip(layers, batched):
        assert mask.dtype == torch.bool and torch.equal(mask, topk_mask(m.scores, m.keep_ratio))


def test_batched_masks_give_the_same_outputs_and_gradients():
    from pemn.masking import BatchedMasks, masked_layers
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    results = []
    for batched in (False, True):
        model = _model_with_scores()
        hooks = BatchedMasks(model) if batched else None
        out = model(x)
        out.square().sum().backward()
        results.append((out.detach(), [m.scores.grad.clone() for _, m in masked_layers(model)]))
        assert all("batched_mask" not in m.__dict__ for _, m in masked_layers(model))  # none left behind
        if hooks:
            hooks.remove()
            assert torch.equal(model(x), out.detach())  # without the hooks: the per-layer path, same output
    assert torch.equal(results[0][0], results[1][0])
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1]))


def test_batched_masks_leave_a_fixed_mask_alone():
    from pemn.masking import BatchedMasks, masked_layers
    model = _model_with_scores()
    first = masked_layers(model)[0][1]
    fixed = torch.zeros_like(first.scores, dtype=torch.bool)
    fixed.view(-1)[:5] = True
    first.fix_mask(fixed)
    BatchedMasks(model)
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    assert torch.equal(first.mask(), fixed)
