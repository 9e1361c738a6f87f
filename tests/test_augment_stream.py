"""The CPU crop-and-flip stream of the committed ``smoke`` and ``cpu`` runs stays exactly as it was.

The digests were computed before the device augmentation (issue 15) was written: any change to the draws,
their order or the pixels of ``Augment`` on the CPU changes them, and the committed runs would no longer be
what ``make reproduce`` makes.
"""
import hashlib

import pytest
import torch

from pemn import data

PINNED = {  # (batches and labels, generator state after one epoch), sha256
    "crop_flip": ("dd75ee5578750f3f6e6be75330f635d63af0372c4dedfa365e3778a5f5fbec46",
                  "1f439654220b979ffd541cd7b2a16d5abe1d3a075977c16c476e64c6d7f59ae1"),
    "crop_flip_erase": ("3cd75939e19d7b12626748d055b146e806f7b071f30a3390a8b6d1c28cbb601f",
                        "d548d1dc2aaf1877689d68a1ac48897621945a0616735c6de6e16fc2503ab7c5"),
}


@pytest.mark.parametrize("name, erase_prob", [("crop_flip", 0.0), ("crop_flip_erase", 0.2)])
def test_cpu_augmentation_stream_is_pinned(name, erase_prob):
    x = torch.randint(0, 256, (200, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(11))
    y = torch.arange(200) % 10
    mean, std = torch.tensor([0.49, 0.48, 0.45]), torch.tensor([0.25, 0.24, 0.26])
    gen = torch.Generator().manual_seed(7)
    h = hashlib.sha256()
    for xb, yb in data.batches(x, y, 64, mean, std, gen, data.Augment(erase_prob=erase_prob), shuffle=True,
                               drop_last=True):
        h.update(xb.numpy().tobytes())
        h.update(yb.numpy().tobytes())
    assert (h.hexdigest(), hashlib.sha256(gen.get_state().numpy().tobytes()).hexdigest()) == PINNED[name]
