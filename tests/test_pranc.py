"""PRANC: weights as a combination of seeded random networks; only the coefficients train; the file reloads."""
import math

import pytest
import torch

from pemn import pranc
from pemn.backbones import build_model
from pemn.masking import plain_layers

ARCH = dict(dim=16, depth=2, kernel_size=3, patch_size=4)


def small(seed=0):
    torch.manual_seed(seed)
    return build_model("convmixer", **ARCH)


def test_training_starts_from_basis_network_zero_a_default_initialisation():
    m = small()
    alpha = pranc.attach(m, 7, seed=3)
    assert alpha.tolist() == [1.0] + [0.0] * 6
    for i, (_, layer) in enumerate(plain_layers(m)):
        w = layer.weight
        assert torch.equal(w.reshape(-1), pranc.basis_slice(w.shape, 3, i, 0, 1)[0])
        assert w.abs().max() <= 1 / math.sqrt(pranc.fan_in(w.shape))  # kaiming_uniform(a=sqrt 5)'s bound


def test_only_the_coefficients_and_the_other_floats_train():
    m = small()
    alpha = pranc.attach(m, 5, seed=0)
    trained = [p for p in m.parameters() if p.requires_grad]
    assert sum(p is alpha for p in trained) == 1
    weights = {id(l.parametrizations.weight.original) for _, l in plain_layers(m)}
    assert not weights & {id(p) for p in trained}
    x = torch.randn(4, 3, 32, 32)
    m(x).sum().backward()
    assert alpha.grad is not None and alpha.grad.shape == (5,)


def test_the_regenerated_basis_gives_the_kept_basis_weights_and_gradients(monkeypatch):
    x = torch.randn(4, 3, 32, 32)
    kept = small()
    a = pranc.attach(kept, 300, seed=1)  # more than one chunk of 256
    monkeypatch.setattr(pranc, "BASIS_MEMORY_BYTES", 0)
    regen = small()
    b = pranc.attach(regen, 300, seed=1)
    assert all(l.parametrizations.weight[0].basis is None for _, l in plain_layers(regen))
    with torch.no_grad():
        a.copy_(torch.linspace(-1, 1, 300))
        b.copy_(a)
    kept(x).square().sum().backward()
    regen(x).square().sum().backward()
    torch.testing.assert_close(regen(x), kept(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-4)


def test_coefficients_match_a_budget_of_bits_per_weight():
    m = small()
    weights = sum(l.weight.numel() for _, l in plain_layers(m))
    k = pranc.coefficients_for_budget(m, 1.0)
    assert 64 + 32 * k <= weights < 64 + 32 * (k + 1)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_a_bad_number_of_coefficients_is_refused(k):
    with pytest.raises(ValueError, match="positive number of coefficients"):
        pranc.attach(small(), k, seed=0)
