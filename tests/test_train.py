"""Training: early validation, determinism, resume, learning on real data, baselines' compression."""
from dataclasses import replace

import pytest
import torch

import pemn.train as T
from pemn import provenance
from data_fixtures import cifar10  # noqa: F401  (fixture)
from pemn.grids import COMPRESSIONS, get_profile, grid
from pemn.storage import storage_bits

TINY = dict(backbone="convmixer", arch=dict(dim=16, depth=2, kernel_size=3, patch_size=4), subset=256,
            test_subset=200, batch_size=64, epochs=2)


def _strip(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.parametrize("bad, message", [
    (dict(strategy="popup"), "valid: dense, mask, one_layer, mp, rp, random_sparse, magnitude_sparse"),
    (dict(backbone="resnet18"), "valid: resnet32, resnet56, convmixer, vit"),
    (dict(strategy="rp"), "rp needs a ratio"),
    (dict(strategy="rp", ratio=1.5), "rp needs a ratio in \\(0, 1\\]"),
    (dict(strategy="mp", ratio=0.1), "takes no ratio"),
    (dict(keep_ratio=0), "keep_ratio must be a number in \\(0, 1\\]"),
    (dict(keep_ratio=True), "keep_ratio must be a number in \\(0, 1\\]"),
    (dict(strategy="random_sparse"), "needs compression in \\(0, 1\\)"),
    (dict(strategy="mask", compression=0.9), "only to baselines"),
    (dict(optimizer="adam"), "valid: adamw, sgd"),
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(dataset="imagenet"), "valid: cifar10, cifar100"),
    (dict(arch=dict(width=3)), "unknown architecture option"),
])
def test_bad_parameters_fail_before_training(bad, message):
    with pytest.raises(T.ConfigError, match=message):
        T.TrainConfig(**{**TINY, **bad})


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(T.ConfigError, match="unknown parameter.*'stratgy'.*valid:.*'strategy'"):
        T.TrainConfig.from_dict({"stratgy": "rp"})


def test_same_config_same_numbers(cifar10):
    cfg = T.TrainConfig(**TINY, strategy="rp", ratio=0.01)
    a, b = T.train(cfg, data=cifar10, progress=False), T.train(cfg, data=cifar10, progress=False)
    assert _strip(a["history"]) == _strip(b["history"])
    for (ka, va), (kb, vb) in zip(a["model"].state_dict().items(), b["model"].state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_killed_run_resumes_to_the_same_result(cifar10, tmp_path, monkeypatch):
    cfg = T.TrainConfig(**{**TINY, "epochs": 3}, strategy="mask")
    straight = T.train(cfg, data=cifar10, progress=False)
    calls = {"n": 0}
    real_evaluate = T.evaluate

    def dies_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(T, "evaluate", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        T.train(cfg, out_dir=tmp_path, data=cifar10, progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["epoch"] == 1
    monkeypatch.setattr(T, "evaluate", real_evaluate)
    resumed = T.train(cfg, out_dir=tmp_path, data=cifar10, progress=False)
    assert _strip(resumed["history"]) == _strip(straight["history"])
    for va, vb in zip(resumed["model"].state_dict().values(), straight["model"].state_dict().values()):
        assert torch.equal(va, vb)


def test_checkpoint_of_another_config_is_refused(cifar10, tmp_path):
    cfg = T.TrainConfig(**{**TINY, "epochs": 1}, strategy="mp")
    T.train(cfg, out_dir=tmp_path, data=cifar10, progress=False)
    with pytest.raises(T.ConfigError, match="another configuration"):
        T.train(replace(cfg, seed=1), out_dir=tmp_path, data=cifar10, progress=False)


def test_non_finite_loss_stops_with_a_clear_error(cifar10):
    cfg = T.TrainConfig(**TINY, strategy="dense", lr=T.MAX_LR, schedule="constant")  # larger: rejected
    with pytest.raises(T.TrainingDiverged, match=r"diverged at epoch 1/.*try a smaller lr"):
        T.train(cfg, data=cifar10, progress=False)


@pytest.mark.parametrize("strategy, ratio", [("dense", None), ("mask", None), ("rp", 0.01)])
def test_loss_decreases_on_real_cifar10(cifar10, strategy, ratio):
    cfg = T.TrainConfig(backbone="convmixer", arch=dict(dim=64, depth=2, kernel_size=3, patch_size=4),
                        strategy=strategy, ratio=ratio, subset=1000, test_subset=500, batch_size=50, epochs=4,
                        schedule="constant", lr=0.01 if strategy == "dense" else 0.05, weight_decay=0.0)
    r = T.train(cfg, data=cifar10, progress=False)
    losses = [h["train_loss"] for h in r["history"]]
    assert losses[-1] < losses[0] - 0.1, losses
    assert r["final_test_acc"] > 0.15  # chance is 0.10


@pytest.mark.parametrize("method", ["random_sparse", "magnitude_sparse"])
def test_baselines_reach_their_target_compression(cifar10, method):
    for c in COMPRESSIONS:
        cfg = T.TrainConfig(backbone="resnet32", strategy=method, compression=c, epochs=1, subset=64,
                            test_subset=50, batch_size=32)
        if method == "random_sparse":
            model = T.make_model(cfg, 10)
        else:  # magnitude reaches its target only at the end of training
            model = T.train(cfg, data=cifar10, progress=False)["model"]
        got = storage_bits(model, cfg.sparse_scheme)["compression_weights_only"]
        assert abs(got - c) < 0.001, (method, c, got)


def test_result_records_provenance(cifar10):
    r = T.train(T.TrainConfig(**{**TINY, "epochs": 1}, strategy="one_layer"), data=cifar10, progress=False)
    assert r["config"]["strategy"] == "one_layer" and r["config"]["seed"] == 0
    assert r["versions"]["torch"] == torch.__version__
    assert r["data_source"]["kind"] in ("jpeg-mirror", "official")
    assert set(r["storage"]) == {"dense", "pemn", "pemn_seed"}
    assert r["unique_values"] == T.unique_weight_count(r["model"])
    assert r["best_epoch_test_acc"] >= r["final_test_acc"]
    assert len(r["history"]) == 1 and r["train_size"] == 256 and r["test_size"] == 200


def test_every_grid_config_is_valid_and_ids_are_unique():
    for profile in ("smoke", "cpu", "cpu20k", "paper"):
        runs = grid(profile)
        assert len({repr(r.config) for r in runs.values()}) == len(runs)
        assert get_profile(profile).note
    axes = {"budget", "budget_probe", "lr_check", "lr_before", "scale"}  # the budget axis (tests/test_budget.py), the check, scale
    cpu = {k: r for k, r in grid("cpu").items() if not axes & set(r.figures) and r.config.strategy != "pranc"}
    big = grid("cpu20k")  # the figure and frontier runs of cpu with more images (no width axis, no third seed)
    assert list(big) == [k for k in cpu if cpu[k].figures != ("width",) and cpu[k].config.seed < 2]
    assert {r.config.subset for r in big.values()} == {20000}
    assert {r.config.epochs for r in big.values() if r.config.backbone.startswith("resnet")} == {5}
    assert all(big[k].config == replace(cpu[k].config, subset=20000) for k in big)
    assert sum(1 for r in cpu.values() if r.config.seed == 0) == sum(1 for r in cpu.values() if r.config.seed == 1)
    third = [r for r in cpu.values() if r.config.seed == 2]  # Fig. 3 and Fig. 5 only, sharing ConvMixer-64/6 runs
    assert all(set(r.figures) <= {"fig3", "fig5"} for r in third)
    assert sum("fig3" in r.figures for r in third) == 18 and sum("fig5" in r.figures for r in third) == 24
    assert len(third) == 38
    figs = {f for r in cpu.values() for f in r.figures}
    assert figs == {"fig3", "fig4", "fig5", "frontier", "width"}
    assert {f for r in grid("cpu").values() for f in r.figures} == figs | axes


def test_run_records_the_commit_it_started_from(cifar10, monkeypatch):
    states = iter([{"git_commit": "at-start", "git_dirty": False}])
    monkeypatch.setattr(provenance, "git_state", lambda: next(states, {"git_commit": "committed-later", "git_dirty": True}))
    result = T.train(T.TrainConfig(**{**TINY, "epochs": 1}), progress=False, data=cifar10)
    assert result["git_commit"] == "at-start" and result["git_dirty"] is False
    assert provenance.environment()["git_commit"] == "committed-later"
