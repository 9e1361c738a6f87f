"""Every experiment of the paper as a named grid, for each profile.

``smoke``: minutes on 2 CPU cores, tiny models and subsets (CI).
``cpu``: every figure in miniature on 2 CPU cores (``make reproduce``; the README's generated block says how many
runs and hours), with the training-budget axis, the held-out learning-rate check and the scale axis.
``cpu20k``: the ``cpu`` grid at the smallest budgets measured to clear 60 % dense accuracy (proposed, not run).
``gpu``: the paper's models and recipe on all of CIFAR-10 with few epochs: each figure panel at one seed about
8 minutes on one H100 (``scripts/gpu_run.py``).
``paper``: the paper's settings, for GPUs.

A run appears once even when several figures use it (its ``figures`` lists them).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from . import methods
from .cells import ALL_WEIGHTS, Cell, Point, cell_configs, points
from .methods import short_float
from .train import ConfigError, TrainConfig

PROFILES = ("smoke", "cpu", "cpu20k", "gpu", "paper")
FIG3_STRATEGIES = (("dense", None), ("mask", None), ("one_layer", None), ("mp", None),
                   ("rp", 1e-1), ("rp", 1e-2), ("rp", 1e-3), ("rp", 1e-4), ("rp", 1e-5))
COMPRESSIONS = (0.90, 0.92, 0.94, 0.96)
BASELINE_METHODS = ("random_sparse", "magnitude_sparse")
FRONTIER_KEEPS = (0.5, 0.3, 0.2, 0.1)  # PEMN keep ratios whose file sizes set the competitors' budgets
FRONTIER_PEMN = ("rp", 1e-2)
FRONTIER_METHODS = ("erk_random", "erk_magnitude", "quantized", "binary")  # at the budget of every PEMN point
PRANC_KEEPS = (0.5, 0.1)  # PRANC at the bytes of PEMN RP 1e-2 at these keep ratios
# PRANC's peak rate in the study's schedule: the best of 1e-3 (its authors'), 3e-3, 1e-2 and 3e-2 in the
# calibration runs of runs/custom (seed 0, keep 0.5's bytes, 10k x 10; selected on the test set, said in the book)
PRANC_LR = 0.03
WIDTH_STRATEGIES = (("dense", None), ("mask", None), ("mp", None), ("rp", 1e-1), ("rp", 1e-2), ("rp", 1e-3))
BUDGET_STRATEGIES = WIDTH_STRATEGIES  # plus the two equal-bytes competitors (budget_runs)
BUDGET_PROBE_EPOCHS = (10, 20, 30, 40)  # dense alone, seed 0, all 50k images: the top budget is the fewest >= 78 %
BUDGET_TARGET_DENSE = 0.78
# The top budget's epochs, settled by the probes' records (tests/test_budget.py checks it against them): dense
# reached 76.6 % at 10 epochs and 79.7 % at 20 (2026-12-02); the probes beyond it (30, 40 epochs) ran last.
BUDGET_TOP_EPOCHS: int | None = 20
# Past the top budget, at the longest probe's epochs: dense, mask, PEMN's equal-bytes point and the competitor that
# decides it at the top budget (the dense binary network), to see whether the gap keeps growing
BUDGET_BEYOND_STRATEGIES = (("dense", None), ("mask", None), FRONTIER_PEMN)
# The learning-rate check (held-out selection, issue 39): ConvMixer-64/6 on the 45,000 images outside the validation
# split for the top budget's epochs, seed 0, the budget axis's recipe otherwise; (method, ratio, peak rates), each
# method's rate today among them. pemn.report.lr_select holds the rule that reads them.
LR_CHECK = (("dense", None, (0.005, 0.01, 0.02)), ("mask", None, (0.025, 0.05, 0.1, 0.2)),
            ("rp", 1e-2, (0.025, 0.05, 0.1, 0.2)), ("pranc", None, (0.01, 0.03, 0.1)))
LR_CHECK_PRANC_KEEP = 0.5  # PRANC at the file bytes of PEMN RP 1e-2 at this keep ratio


def budget_tag(subset: int | None, epochs: int) -> str:
    """How a budget-axis run id names its training budget: ``n50ke10`` is all 50k images for 10 epochs."""
    return f"n{(subset or 50000) // 1000}ke{epochs}"


@dataclass(frozen=True)
class Run:
    run_id: str
    config: TrainConfig
    figures: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    """The settings of one scale of the study."""
    name: str
    seeds: tuple[int, ...]
    fig3: tuple[tuple[str, dict], ...]         # (backbone, arch) pairs
    fig3_strategies: tuple[tuple[str, float | None], ...]
    fig4: tuple[tuple[str, str], ...]          # (backbone, dataset)
    fig4_pemn: tuple[tuple[str, float | None], ...]
    fig5: tuple[dict, ...]                     # ConvMixer archs
    fig5_pemn: tuple[tuple[str, float | None], ...]
    compressions: tuple[float, ...]
    base: dict                                 # TrainConfig fields shared by every run
    per_backbone: dict                         # TrainConfig fields by backbone
    note: str
    frontier: tuple[tuple[str, dict], ...] = ()   # accuracy vs real file bytes: (backbone, arch) pairs
    frontier_keeps: tuple[float, ...] = FRONTIER_KEEPS
    frontier_methods: tuple[str, ...] = FRONTIER_METHODS
    pranc: tuple[tuple[str, dict], ...] = ()   # PRANC on the frontier: (backbone, arch) pairs, at PRANC_KEEPS' bytes
    bn_recalibration: int = 0                  # training images for precise BN statistics in the frontier runs
    frontier_seeds: tuple[int, ...] = field(default=(0, 1))
    figure_seeds: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (figure, seeds) where they differ from ``seeds``
    width: tuple[tuple[str, dict], ...] = ()  # the width axis: (backbone, arch) pairs at equal depth and budget
    width_strategies: tuple[tuple[str, float | None], ...] = ()
    budget_strategies: tuple[tuple[str, float | None], ...] = BUDGET_STRATEGIES
    # the training-budget axis: (backbone, arch), and (training images or None for all, epochs, seeds) per budget
    budget_model: tuple[str, dict] | None = None
    budgets: tuple[tuple[int | None, int, tuple[int, ...]], ...] = ()
    budget_probe_epochs: tuple[int, ...] = ()
    budget_beyond_seeds: tuple[int, ...] = ()  # seeds of BUDGET_BEYOND_STRATEGIES at the longest probe's epochs
    lr_check_seeds: tuple[int, ...] = ()  # seeds of the learning-rate check (LR_CHECK) on the validation split
    cells: tuple[Cell, ...] = ()  # the profile's own experiment cells (pemn.cells), after the axes above

    def seeds_for(self, figure: str) -> tuple[int, ...]:
        return dict(self.figure_seeds).get(figure, self.seeds)


_ARCH_KEYS = {"dim": "w", "depth": "d", "kernel_size": "k", "patch_size": "p", "heads": "h", "mlp_ratio": "m"}
_ARCH_ORDER = list(_ARCH_KEYS)


# TrainConfig fields that run_id spells out; a custom run adds the others when they differ from its profile.
_NAMED_FIELDS = ("backbone", "arch", "dataset", "strategy", "ratio", "compression", "keep_ratio", "rescale",
                 "budget_bits", "value_bits", "bn_recalibration", "seed")


def run_id(cfg: TrainConfig) -> str:
    """A readable name: backbone, arch, dataset, method, seed (unique within a profile's grid)."""
    arch = "".join(f"{_ARCH_KEYS.get(k, k)}{v}" for k, v in sorted(cfg.arch.items(), key=lambda kv: _ARCH_ORDER.index(kv[0])
                                                                    if kv[0] in _ARCH_ORDER else 99))
    method = methods.get(cfg.strategy).id_part(cfg)
    parts = [cfg.backbone + (f"-{arch}" if arch else ""), cfg.dataset.replace("cifar", "c"), method]
    if cfg.budget_bits is not None:
        parts.append(f"b{cfg.budget_bits:.4g}")
    if cfg.keep_ratio != 0.5:
        parts.append(f"k{cfg.keep_ratio:g}")
    if cfg.rescale:
        parts.append("rescale")
    if cfg.bn_recalibration:
        parts.append("bnr")
    parts.append(f"s{cfg.seed}")
    return "-".join(parts)


_SMOKE = Profile(
    name="smoke", seeds=(0,),
    fig3=(("convmixer", dict(dim=16, depth=2, kernel_size=3, patch_size=4)),
          ("vit", dict(dim=16, depth=1, heads=2, mlp_ratio=2, patch_size=8))),
    fig3_strategies=(("dense", None), ("mask", None), ("one_layer", None), ("mp", None), ("rp", 1e-1), ("rp", 1e-3)),
    fig4=(("resnet32", "cifar10"),), fig4_pemn=(("mp", None), ("rp", 1e-1)),
    fig5=(dict(dim=16, depth=2, kernel_size=3, patch_size=4),), fig5_pemn=(("rp", 1e-1), ("rp", 1e-3)),
    compressions=(0.90,),
    base=dict(epochs=1, batch_size=64, subset=512, test_subset=500),
    per_backbone={"resnet32": dict(subset=256, test_subset=200)},
    note="plumbing check only: 512 training images, 1 epoch; accuracies are near chance",
    frontier=(("convmixer", dict(dim=16, depth=2, kernel_size=3, patch_size=4)),), frontier_keeps=(0.1,),
    bn_recalibration=512, frontier_seeds=(0,),
)

_CPU_CONVMIXER = dict(dim=64, depth=6, kernel_size=5, patch_size=4)
# The scale axis (issue 40): which of width, patch and recipe closes the gap to dense at the top budget? Every run on
# all 50k images for the top budget's epochs, precise BN as on the budget axis; the cpu recipe's ConvMixer-64/6
# point is the budget axis's own. Cheapest first: width 32, the paper's recipe at width 64, width 128 (with the
# dense binary network at PEMN keep 0.5's bytes), patch 2 at width 64, width 256.
_SCALE = dict(subset=None, epochs=BUDGET_TOP_EPOCHS, bn_recalibration=10000)
# the `paper` profile's ConvMixer recipe: batch 512, AdamW at 0.05 for dense and masks alike, weight decay 0.005,
# no label smoothing, the official augmentation
PAPER_CONVMIXER_RECIPE = dict(batch_size=512, weight_decay=0.005, augment="convmixer", label_smoothing=0.0, lr=0.05)
# The held-out learning-rate check's outcome (pemn.report.lr_select's rule on the lr_check runs; tests/test_lr_select.py
# checks it against the records): mask 0.2, which beat 0.05 by more than a point. The budget axis's mask runs are
# remade at it (budget_cells; the runs at 0.05 stay, figure lr_before) and every scale-axis mask run with the study's
# recipe uses it.
HELD_OUT_RATES = {"mask": 0.2}
_DENSE_MASK = (Point("dense"), Point("mask", lr=HELD_OUT_RATES["mask"]))
SCALE_CELLS = (
    Cell("scale", "convmixer", {**_CPU_CONVMIXER, "dim": 32}, (*_DENSE_MASK, Point("rp", 1e-2)), (0, 1),
         settings=_SCALE, tag=budget_tag(None, BUDGET_TOP_EPOCHS)),
    Cell("scale", "convmixer", _CPU_CONVMIXER, points(("dense", None), ("mask", None)), (0, 1),
         settings={**_SCALE, **PAPER_CONVMIXER_RECIPE},
         tag=budget_tag(None, BUDGET_TOP_EPOCHS) + "-recipe-paper"),
    Cell("scale", "convmixer", {**_CPU_CONVMIXER, "dim": 128},
         (*_DENSE_MASK, Point("rp", 1e-2), Point("binary", at_bytes_of=ALL_WEIGHTS)), (0, 1), settings=_SCALE,
         tag=budget_tag(None, BUDGET_TOP_EPOCHS)),
    Cell("scale", "convmixer", {**_CPU_CONVMIXER, "patch_size": 2}, _DENSE_MASK, (0, 1), settings=_SCALE,
         tag=budget_tag(None, BUDGET_TOP_EPOCHS)),
    Cell("scale", "convmixer", {**_CPU_CONVMIXER, "dim": 256}, _DENSE_MASK, (0, 1), settings=_SCALE,
         tag=budget_tag(None, BUDGET_TOP_EPOCHS)),
)
_CPU = Profile(
    name="cpu", seeds=(0, 1),
    fig3=(("convmixer", _CPU_CONVMIXER), ("vit", dict(dim=64, depth=6, heads=4, mlp_ratio=2, patch_size=4))),
    fig3_strategies=FIG3_STRATEGIES,
    fig4=(("resnet32", "cifar10"), ("resnet56", "cifar10")), fig4_pemn=(("mp", None), ("rp", 1e-1), ("rp", 1e-2)),
    fig5=(_CPU_CONVMIXER, dict(dim=64, depth=8, kernel_size=5, patch_size=4)),
    fig5_pemn=(("rp", 1e-1), ("rp", 1e-2), ("rp", 1e-3)),
    compressions=COMPRESSIONS,
    base=dict(epochs=10, batch_size=128, subset=10000),
    per_backbone={"resnet32": dict(epochs=5), "resnet56": dict(epochs=5)},
    note="every figure in miniature: 10k stratified training images; ConvMixer/ViT width 64, patch 4, 10 epochs; "
         "both ResNets 5 epochs; Fig. 3 and 5 with 3 seeds; ConvMixer widths 32-256 at depth 6; a training-budget axis "
         "on all 50k images; a learning-rate check on a held-out split; a scale axis (width, patch, recipe) at the "
         "top budget",
    frontier=(("convmixer", _CPU_CONVMIXER), ("resnet32", {})), bn_recalibration=10000,
    figure_seeds=(("fig3", (0, 1, 2)), ("fig5", (0, 1, 2))),
    width=tuple(("convmixer", {**_CPU_CONVMIXER, "dim": w}) for w in (32, 64, 128, 256)),
    width_strategies=WIDTH_STRATEGIES,
    pranc=(("convmixer", _CPU_CONVMIXER),),
    budget_model=("convmixer", _CPU_CONVMIXER), budget_probe_epochs=BUDGET_PROBE_EPOCHS,
    budgets=((None, 10, (0, 1)),) + (((None, BUDGET_TOP_EPOCHS, (0, 1, 2)),) if BUDGET_TOP_EPOCHS else ()),
    budget_beyond_seeds=(0, 1), lr_check_seeds=(0,), cells=SCALE_CELLS,
)

# The calibration runs under runs/custom/ measured dense ConvMixer-64/6 at 68.7 %, ResNet32 at 70.7 % and ResNet56
# at 69.7 % with these budgets, against about 61 %, 62 % and 51 % in `cpu`.
_CPU20K = replace(
    _CPU, name="cpu20k", base={**_CPU.base, "subset": 20000}, per_backbone={"resnet32": dict(epochs=5),
                                                                           "resnet56": dict(epochs=5)},
    note="the cpu grid on 20k stratified training images, both ResNets 5 epochs: the smallest budgets measured to "
         "clear 60 % dense accuracy (ConvMixer, ResNets); about 15 h on 2 cores, estimated; not run here",
    figure_seeds=(), width=(), budget_model=None, budgets=(), budget_probe_epochs=(), budget_beyond_seeds=(), pranc=(),
    lr_check_seeds=(), cells=(),
)

_PAPER = Profile(
    name="paper", seeds=(0, 1, 2),
    fig3=tuple((b, dict(dim=w, depth=d, **extra)) for b, extra in
               (("convmixer", dict(kernel_size=5, patch_size=2)), ("vit", dict(heads=8, mlp_ratio=2, patch_size=4)))
               for d in (6, 8) for w in (256, 512)),
    fig3_strategies=FIG3_STRATEGIES,
    fig4=tuple((b, ds) for ds in ("cifar10", "cifar100") for b in ("resnet32", "resnet56")),
    fig4_pemn=(("mp", None), ("rp", 1e-1), ("rp", 1e-2)),
    fig5=tuple(dict(dim=256, depth=d, kernel_size=5, patch_size=2) for d in (6, 8)),
    fig5_pemn=(("rp", 1e-1), ("rp", 1e-2), ("rp", 1e-3)),
    compressions=COMPRESSIONS,
    base=dict(epochs=100, batch_size=512, weight_decay=0.005, augment="convmixer", label_smoothing=0.0),
    per_backbone={"convmixer": dict(lr=0.05),  # the official recipe's peak rate, dense and masked alike
                  "resnet32": dict(epochs=200, batch_size=256, optimizer="sgd", lr=0.1, schedule="cosine",
                                   weight_decay=5e-4),
                  "resnet56": dict(epochs=200, batch_size=256, optimizer="sgd", lr=0.1, schedule="cosine",
                                   weight_decay=5e-4)},
    note="the paper's settings (the official ConvMixer recipe: AdamW at 0.05, no label smoothing, erasing after "
         "normalisation; the supplementary SGD recipe for ResNets); needs GPUs",
)

_CM256 = tuple(dict(dim=256, depth=d, kernel_size=5, patch_size=2) for d in (6, 8))
# Epochs: the most at which every panel of the backbone fits 8 minutes on one H100 at the step, evaluation and
# per-run overhead times of bench/paper.json, with the augmentation on the device at 1/10 of the step (the goal);
# `python -m pemn.bench.gpu_estimate` recomputes them ("fits 8 min: N epochs": ConvMixer 13, ViT 7, ResNet32 4,
# ResNet56 2). ConvMixer's is rounded down to a multiple of 5, where the official code's learning-rate knots
# (epochs*2//5, epochs*4//5) fall exactly on ours (2/5 and 4/5 of training). The masked steps there were measured
# before the sort-based threshold (1.4-2x dense): once they are remeasured, more epochs may fit.
_GPU_EPOCHS = {"convmixer": 10, "vit": 7, "resnet32": 4, "resnet56": 2}
_GPU = replace(
    _PAPER, name="gpu", seeds=(0, 1),
    fig3=(*(("convmixer", a) for a in _CM256), ("vit", dict(dim=256, depth=6, heads=8, mlp_ratio=2, patch_size=4))),
    fig4=(("resnet32", "cifar10"), ("resnet56", "cifar10")), fig5=_CM256,
    per_backbone={b: {**_PAPER.per_backbone.get(b, {}), "epochs": e} for b, e in _GPU_EPOCHS.items()},
    note="the paper's models and recipe on all 50k CIFAR-10 training images, few epochs (ConvMixer 10, ViT 7, "
         "ResNet32 4, ResNet56 2): each figure panel at one seed fits 8 min on one H100 (bench/paper.json)",
)

_PROFILES = {p.name: p for p in (_SMOKE, _CPU, _CPU20K, _GPU, _PAPER)}


def get_profile(name: str) -> Profile:
    if name not in _PROFILES:
        raise ConfigError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}")
    return _PROFILES[name]


def profile_defaults(p: Profile, backbone: str) -> dict:
    """The TrainConfig fields a profile gives every run of ``backbone`` (a cell's settings go on top)."""
    return {**p.base, **p.per_backbone.get(backbone, {})}


def lr_check_tag(lr: float, epochs: int) -> str:
    """How a learning-rate check's run id names it: ``val-lr0.05-n45ke20`` (validation split held out, peak rate
    0.05, the 45k images outside it for 20 epochs)."""
    from .data import VALIDATION_SIZE
    return f"val-lr{lr:g}-n{(50000 - VALIDATION_SIZE) // 1000}ke{epochs}"


def _paper_cells(p: Profile):
    """Fig. 3 (the strategy axis), then Fig. 5 and Fig. 4 (PEMN against the paper's sparse baselines)."""
    for seed in p.seeds_for("fig3"):
        for backbone, arch in p.fig3:
            yield Cell("fig3", backbone, arch, points(*p.fig3_strategies), (seed,))
    for figure, items, pemn_points in (("fig5", [("convmixer", a, "cifar10") for a in p.fig5], p.fig5_pemn),
                                       ("fig4", [(b, {}, ds) for b, ds in p.fig4], p.fig4_pemn)):
        pts = (Point("dense"), *points(*pemn_points),
               *(Point(m, compression=c) for m in BASELINE_METHODS for c in p.compressions))
        for seed in p.seeds_for(figure):
            for backbone, arch, dataset in items:
                yield Cell(figure, backbone, arch, pts, (seed,), dataset)


def _frontier_cells(p: Profile):
    """Accuracy against real file bytes: PEMN at several keep ratios, each competitor at the bytes of every PEMN
    point (the binary network also keeping every weight), PRANC at PRANC_KEEPS' bytes; precise BN for all."""
    settings = {"bn_recalibration": p.bn_recalibration}
    for backbone, arch in p.frontier:
        pts = [Point(*FRONTIER_PEMN, keep_ratio=k) for k in p.frontier_keeps]
        for method in p.frontier_methods:
            sizes = ([ALL_WEIGHTS] if methods.get(method).every_weight_point else []) + list(p.frontier_keeps)
            pts += [Point(method, at_bytes_of=size) for size in sizes]
        yield Cell("frontier", backbone, arch, tuple(pts), p.frontier_seeds, settings=settings)
    for backbone, arch in p.pranc:
        yield Cell("frontier", backbone, arch, tuple(Point("pranc", at_bytes_of=k, lr=PRANC_LR) for k in PRANC_KEEPS),
                   p.frontier_seeds, settings=settings)


def _width_cells(p: Profile):
    for seed in p.seeds:  # the cheap widths first
        for backbone, arch in sorted(p.width, key=lambda ba: ba[1]["dim"]):
            yield Cell("width", backbone, arch, points(*p.width_strategies), (seed,))


def _at_held_out_rates(figure: str, backbone: str, arch: dict, pts, seeds, settings: dict, tag: str) -> list[Cell]:
    """The cells of ``pts``: a method whose rate the held-out check moved (``HELD_OUT_RATES``) trains at the chosen
    rate in a cell of its own (the rate in its run ids); its runs at the old rate stay in the grid as figure
    ``lr_before``, so the budget chapter can report which verdicts the change moves."""
    moved = tuple(pt for pt in pts if pt.strategy in HELD_OUT_RATES and pt.lr is None)
    out = [Cell(figure, backbone, arch, tuple(pt for pt in pts if pt not in moved), seeds, settings=settings, tag=tag)]
    for rate in sorted({HELD_OUT_RATES[pt.strategy] for pt in moved}):
        out.append(Cell(figure, backbone, arch, tuple(replace(pt, lr=rate) for pt in moved
                                                      if HELD_OUT_RATES[pt.strategy] == rate),
                        seeds, settings=settings, tag=f"{tag}-lr{rate:g}"))
    if moved:
        out.append(Cell("lr_before", backbone, arch, moved, seeds, settings=settings, tag=tag))
    return out


def budget_cells(p: Profile) -> list[Cell]:
    """The training-budget axis: dense alone at each probe's epochs (seed 0, all images; those past the top budget
    last); at each budget every PEMN point, the dense binary network and the 4-bit ERK network at the bytes of PEMN
    RP 1e-2 keep 0.5 (at the top budget PRANC too, at keep 0.5's and 0.1's bytes); then, at the longest probe's
    epochs, ``BUDGET_BEYOND_STRATEGIES`` and the dense binary network; precise BN statistics for every one; each
    method at its held-out rate (``_at_held_out_rates``)."""
    if p.budget_model is None:
        return []
    backbone, arch = p.budget_model
    common = dict(bn_recalibration=p.bn_recalibration, subset=None)
    top = max((e for _, e, _ in p.budgets), default=None)
    first = [e for e in p.budget_probe_epochs if top is None or e <= top]
    dense_binary = Point("binary", at_bytes_of=ALL_WEIGHTS)

    def probe(epochs):
        return Cell("budget_probe", backbone, arch, (Point("dense"),), (0,), settings={**common, "epochs": epochs},
                    tag=budget_tag(None, epochs))
    cells = [probe(e) for e in first]
    for subset, epochs, seeds in p.budgets:
        settings, tag = {**common, "subset": subset, "epochs": epochs}, budget_tag(subset, epochs)
        cells += _at_held_out_rates("budget", backbone, arch, (*points(*p.budget_strategies), dense_binary,
                                                               Point("quantized", at_bytes_of=0.5)),
                                    seeds, settings, tag)
        if len(p.budgets) > 1 and (subset, epochs) == p.budgets[-1][:2]:  # PRANC at the top budget
            cells.append(Cell("budget", backbone, arch, tuple(Point("pranc", at_bytes_of=k, lr=PRANC_LR)
                                                              for k in PRANC_KEEPS), seeds, settings=settings, tag=tag))
    cells += [probe(e) for e in p.budget_probe_epochs if e not in first]
    if p.budget_beyond_seeds and top is not None and max(p.budget_probe_epochs) > top:
        epochs = max(p.budget_probe_epochs)
        cells += _at_held_out_rates("budget", backbone, arch, (*points(*BUDGET_BEYOND_STRATEGIES), dense_binary),
                                    p.budget_beyond_seeds, {**common, "epochs": epochs}, budget_tag(None, epochs))
    return cells


def _lr_check_cells(p: Profile):
    """Each of LR_CHECK's methods at each of its peak rates, trained outside the validation split and evaluated on
    it, at the top budget's epochs."""
    if p.budget_model is None or not p.lr_check_seeds or not BUDGET_TOP_EPOCHS:
        return
    backbone, arch = p.budget_model
    settings = dict(bn_recalibration=p.bn_recalibration, subset=None, epochs=BUDGET_TOP_EPOCHS, validation=True)
    for seed in p.lr_check_seeds:
        for strategy, ratio, rates in LR_CHECK:
            at = LR_CHECK_PRANC_KEEP if methods.get(strategy).placement == "budget_bits" else None
            for lr in rates:
                yield Cell("lr_check", backbone, arch, (Point(strategy, ratio, at_bytes_of=at, lr=lr),), (seed,),
                           settings=settings, tag=lr_check_tag(lr, BUDGET_TOP_EPOCHS))


def experiments(p: Profile) -> list[Cell]:
    """Every cell of a profile, in the order its runs should run: Fig. 3, 5, 4, the frontier, the width axis, the
    budget axis, the learning-rate check, then the profile's own cells (the scale axis)."""
    return [*_paper_cells(p), *_frontier_cells(p), *_width_cells(p), *budget_cells(p), *_lr_check_cells(p), *p.cells]


def grid(profile: str) -> dict[str, Run]:
    """All runs of a profile, keyed by run id, in the order they should run (``experiments``); a run that several
    cells share appears once, with each of their figures."""
    p = get_profile(profile)
    runs: dict[str, Run] = {}
    for cell in experiments(p):
        for cfg in cell_configs(cell, lambda backbone: profile_defaults(p, backbone)):
            rid = run_id(cfg)
            if cell.tag:  # the id names the cell's budget or recipe before the seed
                head, seed = rid.rsplit("-", 1)
                rid = f"{head}-{cell.tag}-{seed}"
            prev = runs.get(rid)
            figures = (prev.figures if prev else ()) + ((cell.figure,) if not prev or cell.figure not in prev.figures
                                                        else ())
            runs[rid] = Run(rid, cfg, figures)
    return runs


_PY_LITERALS = {"None": None, "True": True, "False": False}


def parse_overrides(pairs: list[str]) -> dict:
    """``key=value`` pairs from the command line; values are JSON (or Python's None/True/False), else strings."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        if value in _PY_LITERALS:
            out[key] = _PY_LITERALS[value]
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _tweak(name: str, value) -> str:
    if value is None:
        return f"{name}-all" if name in ("subset", "test_subset") else f"{name}-none"
    if isinstance(value, bool):
        return name if value else f"no{name}"
    if isinstance(value, float):
        return name + (short_float(value) if 0 < abs(value) < 1e-3 else f"{value:g}")
    return f"{name}{value}" if isinstance(value, int) else f"{name}-{value}"


def profile_arch(p: Profile, backbone: str) -> dict:
    """A profile's architecture for ``backbone`` (its first model of that backbone), ``{}`` where it has none."""
    for b, arch in (*p.fig3, *p.frontier, *p.width):
        if b == backbone:
            return dict(arch)
    return {}


def custom_arch(backbone, arch, base_profile: str = "cpu"):
    """A custom run's ``arch``: the profile's for that backbone with the given fields on top, so that a partial
    arch (``{"dim": 32}``) never falls back to the backbone's paper-size defaults unseen. Anything but a mapping
    is left as it is, for TrainConfig to refuse in one line."""
    if not isinstance(arch, dict) or not isinstance(backbone, str):
        return arch
    return {**profile_arch(get_profile(base_profile), backbone), **arch}


def custom_run(overrides: dict, base_profile: str = "cpu") -> Run:
    """A single configuration: the ``cpu`` profile's ConvMixer settings changed by ``overrides``; a partial
    ``arch`` completes from the profile's model of that backbone (the run id then names every field)."""
    p = get_profile(base_profile)
    backbone = overrides.get("backbone", "convmixer")
    arch = custom_arch(backbone, overrides.get("arch", {}), base_profile)
    per_backbone = p.per_backbone.get(backbone, {}) if isinstance(backbone, str) else {}  # else TrainConfig says why
    fields = {"backbone": backbone, "arch": arch, **p.base, **per_backbone}
    cfg = TrainConfig.from_dict(fields | overrides | {"arch": arch})
    # Fields outside run_id's name (epochs, subset, lr, ...) go into the id when they differ from the profile, so
    # that two custom runs never share a folder (a different config in an existing folder would be rerun over it).
    base = TrainConfig.from_dict({**fields, **{k: getattr(cfg, k) for k in _NAMED_FIELDS}})
    tweaks = [_tweak(k, v) for k in sorted(TrainConfig.__dataclass_fields__)
              if k not in _NAMED_FIELDS and (v := getattr(cfg, k)) != getattr(base, k)]
    rid = run_id(cfg)
    if tweaks:
        head, seed = rid.rsplit("-", 1)
        rid = "-".join([head, *tweaks, seed])
    return Run(rid, cfg, ("custom",))

