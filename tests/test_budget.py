"""The training-budget axis: ConvMixer-64/6 on all 50,000 images at 10 epochs and at the top budget."""
import json

from pemn import grids, runs
from pemn.paths import REPO

AXIS = {"budget", "budget_probe"}


def axis_runs():
    return {k: r for k, r in grids.grid("cpu").items() if AXIS & set(r.figures)}


def test_the_axis_holds_the_forty_runs_the_probes_and_pranc():
    g = axis_runs()
    study = [r for r in g.values() if "budget" in r.figures and r.config.strategy != "pranc"]
    assert len(study) == 40  # 50k x 10: 2 seeds x 8 methods; top budget: 3 seeds x 8 methods
    by_budget = {}
    for r in study:
        by_budget.setdefault(r.config.epochs, set()).add(r.config.seed)
    assert by_budget == {10: {0, 1}, grids.BUDGET_TOP_EPOCHS: {0, 1, 2}}
    probes = [r.config.epochs for r in g.values() if "budget_probe" in r.figures]
    assert probes == list(grids.BUDGET_PROBE_EPOCHS)
    pranc = [r for r in g.values() if r.config.strategy == "pranc"]
    assert len(pranc) == 6 and {r.config.epochs for r in pranc} == {grids.BUDGET_TOP_EPOCHS}
    assert len(g) == 40 + 2 + 6  # the 10- and 20-epoch probes are the budgets' dense seed-0 runs


def test_every_axis_run_trains_on_all_images_with_precise_bn_and_names_its_budget():
    arch = {"dim": 64, "depth": 6, "kernel_size": 5, "patch_size": 4}
    arch_json = json.dumps(arch, sort_keys=True)
    for rid, r in axis_runs().items():
        c = r.config
        assert (c.backbone, c.arch, c.subset, c.bn_recalibration) == ("convmixer", arch, None, 10000)
        assert f"-{grids.budget_tag(None, c.epochs)}-s{c.seed}" in rid
        if c.strategy == "quantized":
            assert c.budget_bits == grids.budget_for_keep("convmixer", arch_json, 0.5)
        if c.strategy == "binary":
            assert c.budget_bits == grids.dense_binary_budget("convmixer", arch_json)


def test_the_top_budget_is_the_fewest_probe_epochs_where_dense_reaches_78_percent():
    reached = {}
    for r in axis_runs().values():
        if "budget_probe" not in r.figures:
            continue
        rec = runs.read_record(REPO / "runs" / "cpu" / r.run_id)
        if rec is not None and rec.complete:
            reached[r.config.epochs] = rec.final_test_acc >= grids.BUDGET_TARGET_DENSE
    made = sorted(reached)
    assert made[:2] == [10, 20]  # the probes that settle it are committed
    assert min(e for e in made if reached[e]) == grids.BUDGET_TOP_EPOCHS
