"""The batched ConvMixer recipe (``pemn.augment``): each image its own draws, the same images for the same seed,
and the same operations and distributions as torchvision's transforms applied image by image."""
import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from data_fixtures import cifar10  # noqa: F401  (fixture)
from pemn import augment, data


def _images(n, seed=0):
    """Images with structure (smooth colour ramps plus noise), so that every operation changes them."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, 32)
    base = ramp[None, None, :, None] * torch.rand(n, 3, 1, 1, generator=g) + ramp[None, None, None, :] * 0.5
    noise = torch.rand(n, 3, 32, 32, generator=g) * 0.3
    return ((base + noise) / 1.8 * 255).clamp(0, 255).to(torch.uint8)


def _ks(a: torch.Tensor, b: torch.Tensor) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the empirical distribution functions)."""
    values = torch.cat([a, b]).sort().values
    cdf = lambda s: torch.searchsorted(s.sort().values, values, right=True).double() / len(s)  # noqa: E731
    return float((cdf(a) - cdf(b)).abs().max())


@pytest.mark.parametrize("index", range(len(augment.OPERATIONS)))
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_each_operation_is_torchvisions_on_every_image(index, sign):
    ra = v2.RandAugment(num_ops=2, magnitude=12)
    name, _, signed = augment.OPERATIONS[index]
    magnitudes = ra._AUGMENTATION_SPACE[name][0](augment.NUM_BINS, 32, 32)
    expected_magnitude = float(magnitudes[12]) if magnitudes is not None else 0.0
    assert augment.operation_magnitude(index, 12, 32) == expected_magnitude
    assert ra._AUGMENTATION_SPACE[name][1] == signed and list(ra._AUGMENTATION_SPACE)[index] == name
    value = expected_magnitude * (sign if signed else 1.0)
    x = _images(12)
    batched = augment.apply_operation(x, index, value)
    one_by_one = torch.stack([ra._apply_image_or_video_transform(img, name, value, interpolation=ra.interpolation,
                                                                 fill=ra._fill) for img in x])
    assert batched.dtype == torch.uint8 and torch.equal(batched, one_by_one)


def test_rand_augment_draws_per_image():
    x = _images(1).expand(400, -1, -1, -1).contiguous()  # one image, 400 times
    out = augment.rand_augment(x, torch.Generator().manual_seed(0))
    distinct = {hash(img.numpy().tobytes()) for img in out}
    # 14 x 14 operation pairs with signs: hundreds of outcomes; one draw per batch would give a single one
    assert len(distinct) > 100


def test_same_seed_same_images_other_seed_others():
    x = _images(64)
    recipe = augment.ConvMixerRecipe()

    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        out = recipe.after_normalize(recipe(x, gen), gen)
        return out, gen.get_state()
    torch.manual_seed(123)  # the global generator plays no part
    (a, sa), (b, sb), (c, _) = run(5), run(5), run(6)
    assert a.dtype == torch.float32 and a.shape == x.shape
    assert torch.equal(a, b) and torch.equal(sa, sb) and not torch.equal(a, c)


def test_color_jitter_is_torchvisions_with_each_images_factors_and_order():
    x = _images(300, seed=1)
    gen = torch.Generator().manual_seed(9)
    out = augment.color_jitter(x, gen, 0.2)
    replay = torch.Generator().manual_seed(9)
    factors = 1.0 + 0.2 * (2 * torch.rand(300, 3, generator=replay) - 1)
    order = torch.argsort(torch.rand(300, 3, generator=replay), dim=1)
    fns = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation)
    ref = []
    for img, f, o in zip(x, factors, order):
        for i in o.tolist():
            img = fns[i](img, float(f[i]))
        ref.append(img)
    # the blend's float rounding differs from torchvision's by one level in about 1 pixel in 10^4, which a later
    # contrast step can stretch to two
    diff = (out.int() - torch.stack(ref).int()).abs()
    assert int(diff.max()) <= 2 and float((diff == 0).float().mean()) > 0.999
    for i, fn in enumerate(fns):  # each function alone
        alone = augment.JITTERS[i](x, factors[:, i].view(-1, 1, 1, 1))
        diff = (alone.int() - torch.stack([fn(img, float(f)) for img, f in zip(x, factors[:, i])]).int()).abs()
        assert int(diff.max()) <= 1 and float((diff == 0).float().mean()) > 0.999
    assert 0.8 <= float(factors.min()) and float(factors.max()) <= 1.2 and len({tuple(o.tolist()) for o in order}) == 6


def test_erasing_follows_torchvisions_rule_per_image():
    n, p = 4000, 0.5
    boxes = augment.erase_boxes(n, 32, 32, torch.Generator().manual_seed(2), p)
    area = boxes.flatten(1).sum(1)
    erased = area > 0
    assert abs(float(erased.float().mean()) - p) < 0.03
    rows, cols = boxes.any(2), boxes.any(1)  # a box is a full rectangle
    assert torch.equal(area, rows.sum(1) * cols.sum(1))
    torch.manual_seed(0)
    rule = v2.RandomErasing(p=1.0, value=0)
    ref = torch.stack([(rule(torch.ones(1, 32, 32)) == 0).sum() for _ in range(1000)]).double()
    assert _ks(area[erased].double(), ref) < 0.08  # same distribution of erased areas (n=2000 vs 1000)


def test_after_normalize_erases_with_the_mean_colour():
    recipe = augment.ConvMixerRecipe(erase_prob=1.0)
    x = torch.ones(16, 3, 32, 32)
    out = recipe.after_normalize(x, torch.Generator().manual_seed(0))
    zero = out == 0
    assert bool(zero.any()) and bool((out[~zero] == 1).all())
    assert torch.equal(zero[:, 0], zero[:, 2])  # all channels of a box


def test_the_recipe_agrees_in_distribution_with_torchvision_image_by_image(cifar10):
    x = cifar10.x_train[:1500]
    ours = augment.ConvMixerRecipe(erase_prob=0.0)(x, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    policy = v2.Compose([v2.RandomHorizontalFlip(), v2.RandAugment(num_ops=2, magnitude=12),
                         v2.ColorJitter(0.2, 0.2, 0.2)])
    ref = torch.stack([policy(img) for img in x]).float()
    # statistics of each augmented image: brightness, contrast, distance from the original
    for stat in (lambda t: t.mean(dim=(1, 2, 3)), lambda t: t.std(dim=(1, 2, 3)),
                 lambda t: (t - x.float()).abs().mean(dim=(1, 2, 3))):
        assert _ks(stat(ours), stat(ref)) < 0.07  # critical value at 1 % for n = m = 1500: 0.060; same for both
    assert _ks((ours - x.float()).abs().mean(dim=(1, 2, 3)), torch.zeros(1500)) > 0.9  # it did change images


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_gives_the_cpus_images():
    x = _images(256)
    recipe = augment.ConvMixerRecipe()
    cpu = recipe(x, torch.Generator().manual_seed(3))
    cuda = recipe(x.cuda(), torch.Generator().manual_seed(3)).cpu()
    # the same draws; the kernels may round differently (a nearest-neighbour sample on a pixel boundary)
    assert float(((cpu - cuda).abs() == 0).float().mean()) > 0.99
    crop = data.Augment(erase_prob=0.5)
    assert torch.equal(crop(x, torch.Generator().manual_seed(4)), crop(x.cuda(), torch.Generator().manual_seed(4)).cpu())
