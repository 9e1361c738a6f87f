"""The ``gpu`` profile: the paper's models on all of CIFAR-10, epochs that fit 8 minutes a panel on one H100."""
import json

import pytest

from pemn import grids
from pemn.bench import gpu_estimate

PAPER = json.loads(gpu_estimate.PAPER_JSON.read_text())


def test_gpu_profile_is_the_papers_models_on_all_of_cifar10_with_fewer_epochs():
    runs = grids.grid("gpu")
    paper = {(r.config.backbone, r.config.strategy): r.config for r in grids.grid("paper").values()}
    archs = {(r.config.backbone, json.dumps(r.config.arch, sort_keys=True)) for r in runs.values()}
    assert archs == {("convmixer", json.dumps(dict(depth=d, dim=256, kernel_size=5, patch_size=2), sort_keys=True))
                     for d in (6, 8)} | {("vit", json.dumps(dict(depth=6, dim=256, heads=8, mlp_ratio=2,
                                                                  patch_size=4), sort_keys=True)),
                                         ("resnet32", "{}"), ("resnet56", "{}")}
    for r in runs.values():
        c = r.config
        assert c.dataset == "cifar10" and c.subset is None and c.test_subset is None
        ref = paper[(c.backbone, c.strategy)]
        assert c.epochs < ref.epochs
        assert (c.batch_size, c.optimizer, c.schedule, c.augment, c.weight_decay) == \
            (ref.batch_size, ref.optimizer, ref.schedule, ref.augment, ref.weight_decay)
    assert {r.config.seed for r in runs.values()} == {0, 1} and len(runs) == 134


def test_every_gpu_panel_fits_eight_minutes_at_the_measured_h100_steps():
    res = gpu_estimate.estimate(PAPER)
    panels = res["profiles"]["gpu"]["panels_at_one_seed"]
    assert len(panels) == 7  # Fig. 3: three backbones, Fig. 5: two, Fig. 4: two
    for key, panel in panels.items():
        assert panel["estimate_s"] <= gpu_estimate.PANEL_BUDGET_S, key
        assert panel["epochs"] <= panel["fitting_epochs"], key
    assert "not measured yet" in res["augment"]  # the assumption is said until bench/gpu.json exists
    assert res["profiles"]["paper"]["runs"] == 408
    assert "fig4 resnet56 cifar10" in gpu_estimate.table(res)


def test_concurrency_needs_a_measured_speedup():
    with pytest.raises(ValueError, match="no measured throughput for 2 runs"):
        gpu_estimate.estimate(PAPER, None, slots=2)
    measured = {"slots": {"2": {"aggregate_speedup": 1.6}}, "augment": {"images_per_s": 500000.0}}
    one, two = gpu_estimate.estimate(PAPER, measured), gpu_estimate.estimate(PAPER, measured, slots=2)
    assert two["profiles"]["paper"]["gpu_hours"] == pytest.approx(one["profiles"]["paper"]["gpu_hours"] / 1.6)
    assert one["augment"].startswith("measured")


@pytest.mark.parametrize("profile", ["gpu", "paper"])
def test_the_convmixer_recipe_follows_the_official_code(profile):
    import numpy as np
    import torch

    from pemn import augment, train as T
    cfg = next(r.config for r in grids.grid(profile).values() if r.config.backbone == "convmixer")
    assert (cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.batch_size, cfg.label_smoothing, cfg.augment) == \
        ("adamw", 0.05, 0.005, 512, 0.0, "convmixer")
    e = cfg.epochs
    for t in np.linspace(0, e, 97):  # the official schedule, interpolated at fractional epochs
        official = np.interp(t, [0, e * 2 // 5, e * 4 // 5, e], [0, cfg.lr, cfg.lr / 20, 0])
        assert T.lr_at(cfg, t / e) == pytest.approx(official, abs=1e-12)
    recipe = T._augment(cfg)
    assert isinstance(recipe, augment.ConvMixerRecipe)
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    plain = augment.ConvMixerRecipe(num_ops=0, jitter=0.0)(x, torch.Generator().manual_seed(0))
    same = (plain == x.float()).flatten(1).all(1)
    mirrored = (plain == x.float().flip(3)).flatten(1).all(1)
    assert bool((same | mirrored).all())  # no crop (RandomResizedCrop at scale 1.0): the image or its mirror


def test_models_measured_again_on_the_device_replace_the_stored_steps():
    import copy
    entry = copy.deepcopy(PAPER["train_step"]["resnet32-b256"])
    dense = entry["variants"]["dense"]["median"]
    entry["variants"]["masked_batched"] = {"median": dense * 1.1}
    measured = {"created": "now", "environment": {"device_name": "H100"}, "train_step": {"resnet32-b256": entry}}
    old, new = gpu_estimate.estimate(PAPER), gpu_estimate.estimate(PAPER, measured)
    rid = "resnet32-c10-mp-s0"
    steps = 4 * (50000 // 256)
    saved = (old["profiles"]["gpu"]["per_run_s"][rid] - new["profiles"]["gpu"]["per_run_s"][rid]) / steps * 1e3
    assert saved == pytest.approx(entry["variants"]["masked"]["median"] - dense * 1.1)
    assert "bench/gpu.json (now, H100) for resnet32-b256" in new["step_times"]
