"""The validation split: fixed, stratified, never trained on by a run that holds it out, and the test set unread."""
import torch

from pemn import data as data_mod
from pemn import train as train_mod
from pemn.data import Data, VALIDATION_SIZE, indices_sha256, validation_split
from pemn.train import ConfigError, TrainConfig, run_images

import pytest
from data_fixtures import cifar10  # noqa: F401  (fixture)


def _labelled_data(n_train=50_000, n_test=10_000) -> Data:
    """Images whose first pixels spell their own index (train: index; test: 10**6 + index), so a batch names the
    images it holds."""
    def images(n, offset):
        x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(n))
        ids = torch.arange(n) + offset
        for k in range(3):  # three base-256 digits
            x[:, k, 0, 0] = (ids // 256 ** k % 256).to(torch.uint8)
        return x
    y = torch.arange(n_train) % 10
    return Data("cifar10", images(n_train, 0), y, images(n_test, 10**6 % 256**3), torch.arange(n_test) % 10,
                {"kind": "synthetic", "path": None, "sha256": None})


def _ids(x: torch.Tensor) -> set[int]:
    x = x.long()
    return set((x[:, 0, 0, 0] + 256 * x[:, 1, 0, 0] + 65536 * x[:, 2, 0, 0]).tolist())


def test_split_is_fixed_stratified_and_disjoint():
    y = torch.arange(50_000) % 10
    train, val = validation_split(y)
    assert len(val) == VALIDATION_SIZE and len(train) == 50_000 - VALIDATION_SIZE
    assert not set(train.tolist()) & set(val.tolist())
    assert torch.bincount(y[val]).tolist() == [VALIDATION_SIZE // 10] * 10
    again = validation_split(y)[1]
    assert torch.equal(val, again) and indices_sha256(val) == indices_sha256(again)


def test_split_of_the_real_cifar10_is_the_recorded_one(cifar10):
    """The indices' hash that every record of the check carries is the split this code draws."""
    _, val = validation_split(cifar10.y_train)
    assert indices_sha256(val) == "872745d2633fefa62f07b3872b48ecd0beba89918f091055ecef6a0485e329bc"


@pytest.mark.parametrize("subset", [None, 300])
def test_a_run_holding_out_the_split_never_trains_on_it_nor_reads_the_test_set(monkeypatch, subset):
    data = _labelled_data()
    val_ids = {int(i) for i in validation_split(data.y_train)[1]}
    seen = {"train": set(), "eval": set()}
    real = data_mod.batches

    def spy(x, y, batch_size, mean, std, gen=None, augment=None, shuffle=False, **kw):
        seen["train" if shuffle else "eval"] |= _ids(x)
        return real(x, y, batch_size, mean, std, gen, augment, shuffle, **kw)
    monkeypatch.setattr(data_mod, "batches", spy)
    cfg = TrainConfig(arch={"dim": 8, "depth": 1, "kernel_size": 3, "patch_size": 8}, strategy="dense", epochs=1,
                      subset=subset, validation=True, bn_recalibration=64, batch_size=512)
    if subset is None:  # 45,000 images of a tiny model still take a while: train on what run_images gives, checked
        (x_train, _), (x_eval, _) = run_images(cfg, data)
        seen["train"], seen["eval"] = _ids(x_train), _ids(x_eval)
    else:
        result = train_mod.train(cfg, data=data, progress=False)
        assert "final_val_acc" in result and "final_test_acc" not in result
        assert result["validation_split"]["indices_sha256"] == indices_sha256(validation_split(data.y_train)[1])
        assert result["train_size"] == subset and result["val_size"] == VALIDATION_SIZE
    assert seen["train"] and not seen["train"] & val_ids
    # evaluated on the split, BatchNorm recalibrated on training images: no test image (ids from 10**6) is read
    assert val_ids <= seen["eval"] <= val_ids | seen["train"]
    assert len(seen["train"]) == (subset or 50_000 - VALIDATION_SIZE)


def test_validation_settings_are_checked():
    with pytest.raises(ConfigError, match="subset must be at most 45,000"):
        TrainConfig(validation=True, subset=46_000)
    with pytest.raises(ConfigError, match="test_subset must be None"):
        TrainConfig(validation=True, test_subset=100)
    with pytest.raises(ConfigError, match="validation must be true or false"):
        TrainConfig(validation="yes")


def test_cpu_kind_tells_a_xeon_record_from_an_epyc_machine():
    """Bit-identity is promised per CPU kind (pemn.provenance): records name the kind, old ones the processor."""
    from pemn.provenance import cpu_kind, same_cpu_kind
    epyc = {"cpu_vendor": "AuthenticAMD", "processor": "AMD EPYC", "cpu_capability": "AVX512",
            "cpu_flags": ["avx2", "avx512f"]}
    assert same_cpu_kind({"processor": "AMD EPYC"}, epyc)
    assert not same_cpu_kind({"processor": "Intel(R) Xeon(R) Processor"}, epyc)
    assert not same_cpu_kind({**epyc, "cpu_capability": "AVX2"}, epyc)
    assert not same_cpu_kind({}, epyc)  # nothing to compare: never promised
    here = cpu_kind()
    assert same_cpu_kind(here) and set(here) == {"cpu_vendor", "processor", "cpu_capability", "cpu_flags"}
