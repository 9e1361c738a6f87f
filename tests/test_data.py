"""Data: sources in order, clear errors, caching, subsets and batch augmentation."""
import numpy as np
import pytest
import torch

from data_fixtures import cifar10  # noqa: F401  (fixture)
from pemn import data


@pytest.fixture
def empty_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("PEMN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PEMN_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    return tmp_path


def test_missing_data_says_where_it_looked(empty_dirs):
    with pytest.raises(data.DataError) as e:
        data.load("cifar10", allow_download=False)
    msg = str(e.value)
    assert "cifar-10-batches-py" in msg and data.MIRROR in msg and "PEMN_DATA" in msg


def test_data_dir_default_matches_the_makefile(tmp_path, monkeypatch):
    monkeypatch.delenv("PEMN_DATA", raising=False)
    monkeypatch.setattr(data, "SHARED_DATA", tmp_path)
    assert data.data_dir() == data.Path("data")  # no mirror beside the checkout
    (tmp_path / data.MIRROR).write_bytes(b"")
    assert data.data_dir() == tmp_path
    monkeypatch.setenv("PEMN_DATA", str(tmp_path / "elsewhere"))
    assert data.data_dir() == tmp_path / "elsewhere"


def test_corrupt_mirror_is_rejected_by_checksum(empty_dirs):
    (empty_dirs / "data" / data.MIRROR).write_bytes(b"not an archive")
    with pytest.raises(data.DataError, match="corrupt: sha256"):
        data.load("cifar10", allow_download=False)


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match="cifar10, cifar100"):
        data.load("mnist")


class _FakeCIFAR100:
    """Stands in for torchvision's CIFAR100: records how it was called, returns small arrays."""
    calls = []

    def __init__(self, root, train, download):
        self.calls.append((root, train, download))
        n = 200 if train else 100
        self.data = np.full((n, 32, 32, 3), 7, dtype=np.uint8)
        self.targets = list(np.arange(n) % 100)


def test_cifar100_goes_through_torchvision_download(empty_dirs, monkeypatch):
    import torchvision
    monkeypatch.setenv("PEMN_DOWNLOAD", "1")  # asked for: never by default (tests/test_first_use.py)
    _FakeCIFAR100.calls = []
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", _FakeCIFAR100)
    d = data.load("cifar100")
    assert [c[1:] for c in _FakeCIFAR100.calls] == [(True, True), (False, True)]
    assert d.num_classes == 100 and d.x_train.shape == (200, 3, 32, 32) and d.source["kind"] == "official-download"
    assert int(d.y_train.max()) == 99
    # second load comes from the cache, without calling torchvision again, even once the download is not allowed
    _FakeCIFAR100.calls = []
    assert torch.equal(data.load("cifar100").x_test, d.x_test) and _FakeCIFAR100.calls == []
    monkeypatch.delenv("PEMN_DOWNLOAD")
    assert torch.equal(data.load("cifar100").x_test, d.x_test) and _FakeCIFAR100.calls == []


def test_cifar100_without_network_gives_one_clear_error(empty_dirs, monkeypatch):
    import torchvision

    def offline(*a, **k):
        raise RuntimeError("Failed to download (no network)")
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    monkeypatch.setenv("PEMN_DOWNLOAD", "1")
    with pytest.raises(data.DataError, match="cifar100 not found.*no network"):
        data.load("cifar100")


def test_mirror_loads_official_split(cifar10):
    assert cifar10.x_train.shape == (50000, 3, 32, 32) and cifar10.x_test.shape == (10000, 3, 32, 32)
    assert cifar10.x_train.dtype == torch.uint8
    assert torch.bincount(cifar10.y_train).tolist() == [5000] * 10
    assert torch.bincount(cifar10.y_test).tolist() == [1000] * 10
    assert cifar10.source["sha256"] == data.MIRROR_SHA256


def test_stratified_subset_is_balanced_and_seeded():
    y = torch.arange(1000) % 10
    a = data.stratified_subset(y, 105, seed=3)
    assert len(a) == 105 and len(set(a.tolist())) == 105
    counts = torch.bincount(y[a], minlength=10).tolist()
    assert sorted(counts) == [10] * 5 + [11] * 5
    assert torch.equal(a, data.stratified_subset(y, 105, seed=3))
    assert not torch.equal(a, data.stratified_subset(y, 105, seed=4))


def test_augment_crops_and_flips_whole_batches():
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(0)
    out = data.Augment(crop_pad=4, flip=True)(x, gen)
    assert out.shape == (64, 3, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 255
    assert not torch.equal(out, x.float())  # something moved
    # without crop, flip only: each image equals itself or its mirror
    out = data.Augment(crop_pad=0, flip=True)(x, gen)
    same = (out == x.float()).flatten(1).all(1)
    mirrored = (out == x.float().flip(3)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and same.any() and mirrored.any()
    # a crop is a shifted window of the reflect-padded image
    one = torch.arange(3 * 32 * 32, dtype=torch.float32).view(1, 3, 32, 32).to(torch.uint8)
    out = data.Augment(crop_pad=4, flip=False)(one, torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(one.float(), (4, 4, 4, 4), mode="reflect")
    windows = [padded[..., dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
    assert any(torch.equal(out, w) for w in windows)


def test_batches_normalize_and_cover_everything():
    x = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    y = torch.arange(10)
    mean, std = torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.25, 0.25, 0.25])
    got = list(data.batches(x, y, 4, mean, std))
    assert [len(b[1]) for b in got] == [4, 4, 2]
    assert torch.allclose(got[0][0], (x[:4].float() - 127.5) / 63.75)
    shuffled = list(data.batches(x, y, 4, mean, std, gen=torch.Generator().manual_seed(0), shuffle=True,
                                 drop_last=True))
    assert len(shuffled) == 2 and sorted(torch.cat([b[1] for b in shuffled]).tolist()) != list(range(8))
