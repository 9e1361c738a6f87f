"""Shared fixtures: tiny models, one CPU thread (the machines are shared)."""
import pytest
import torch
from torch import nn

import pemn

torch.set_num_threads(1)

# The paper's MLP example (Sec. 3.2, Alg. 1): 512-100-100-100-10.
MLP_SIZES = (512, 100, 100, 100, 10)


def make_mlp(bias=False, keep_ratio=0.5):
    torch.manual_seed(0)
    return nn.Sequential(*[pemn.MaskedLinear(a, b, bias=bias, keep_ratio=keep_ratio)
                           for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:])])


@pytest.fixture
def mlp():
    return make_mlp()
