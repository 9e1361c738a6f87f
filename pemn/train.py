"""Training: one frozen config in, one result out (per-epoch history, accuracy, storage, provenance).

Runs on CUDA with bfloat16 autocast when present, on the CPU otherwise.
Checkpoints every epoch into the run folder; a killed run started again
resumes and ends with the same numbers as an uninterrupted one.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import data as data_mod
from . import methods, provenance
from .augment import ConvMixerRecipe
from .backbones import arch_options, build_model, check_backbone
from .masking import BatchedMasks, check_keep_ratio
from .paths import write_atomic
from .storage import storage_bits
from .strategies import unique_weight_count

METHODS = methods.names()
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("piecewise", "cosine", "constant")
AUGMENTS = ("none", "crop_flip", "crop_flip_erase", "convmixer")
DEVICES = ("auto", "cpu", "cuda")
GPU_CHECK_EVERY = 50  # steps between divergence checks on a GPU (each waits for the device; the CPU checks each)
# The version of the code that shapes results. Bump it in any change that moves a run's numbers (a test,
# tests/test_user_paths.py::test_reference_run_is_pinned, pins a small run exactly): records and checkpoints of
# an older version are stale.
# 1: before the straight-through-gradient fix of 2026-11-25 (masked runs); 2: since.
RESULTS_VERSION = 2
MAX_SEED = 2**32 - 1
MAX_LR = 1e6  # far above any recipe (0.1 at most; this one diverges, clearly); larger ones overflow float32 steps
SPLIT_SIZES = (50_000, 10_000)  # training and test images of CIFAR-10 and CIFAR-100
ARCH_LIMITS = {"dim": 4096, "depth": 64, "kernel_size": 31, "patch_size": 32, "heads": 64, "mlp_ratio": 16}


class ConfigError(ValueError):
    """A parameter is invalid; raised before any training starts."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite, or exploded (above ``EXPLODED_LOSS`` times chance level)."""


# A step's loss above this many times chance level (ln of the classes: 2.3 for CIFAR-10) has exploded: every
# committed run's epochs stay under 3, and a learning rate far too large reaches 1e14 while staying finite.
EXPLODED_LOSS = 100


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run. ``strategy`` is a PEMN strategy or a sparse baseline."""
    backbone: str = "convmixer"
    arch: dict = field(default_factory=dict)
    dataset: str = "cifar10"
    strategy: str = "mask"
    ratio: float | None = None           # rp only: unique values relative to MP
    keep_ratio: float = 0.5              # fraction of weights each mask keeps
    rescale: bool = False                # per-layer Kaiming rescale of shared values (off, as in the paper)
    compression: float | None = None     # baselines only: target compression ratio under the paper's Eq. 10
                                         # (conv/linear weights only; every figure also shows it with all params)
    sparse_scheme: str = "csr"           # accounting that sets a baseline's sparsity
    budget_bits: float | None = None     # storage-aware baselines only: bits per conv/linear weight (positions
                                         # entropy-coded + values + scales), matched to a PEMN file
    value_bits: int = 4                  # 'quantized' only: bits per kept value (2 to 8)
    bn_recalibration: int = 0            # after training, re-estimate BatchNorm statistics as the exact average over
                                         # this many training images (0: keep the running averages of training)
    epochs: int = 8
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float | None = None              # None: 0.01 for trained weights, 0.05 for masks
    weight_decay: float = 5e-4
    momentum: float = 0.9
    schedule: str = "piecewise"
    label_smoothing: float = 0.1
    augment: str = "crop_flip"
    subset: int | None = None            # stratified training subset size
    test_subset: int | None = None       # evaluation on the first N test images (smoke only)
    validation: bool = False             # hold out the validation split (pemn.data.validation_split): train on the
                                         # other 45,000 images, evaluate on the split; the test set is never read
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        try:
            self.validate()
        except ConfigError:
            raise
        except ValueError as e:
            raise ConfigError(str(e)) from None

    def validate(self) -> None:
        for name in ("backbone", "dataset", "strategy", "optimizer", "schedule", "augment", "device", "sparse_scheme"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a name (a string), got {getattr(self, name)!r}")
        method = methods.get(self.strategy)
        _check_arch(self.backbone, self.arch)
        if self.dataset not in data_mod.DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r}; valid: {', '.join(data_mod.DATASETS)}")
        method.validate(self)
        v = self.value_bits
        if isinstance(v, bool) or not isinstance(v, int) or not 2 <= v <= 8:
            raise ConfigError(f"value_bits must be an integer from 2 to 8, got {v!r}")
        v = self.bn_recalibration
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= SPLIT_SIZES[0]:
            raise ConfigError(f"bn_recalibration must be a number of images in 0..{SPLIT_SIZES[0]}, got {v!r}")
        check_keep_ratio(self.keep_ratio)
        for name, valid in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("augment", AUGMENTS),
                            ("device", DEVICES), ("sparse_scheme", ("csr", "bitmap"))):
            if getattr(self, name) not in valid:
                raise ConfigError(f"unknown {name} {getattr(self, name)!r}; valid: {', '.join(valid)}")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        for name in ("subset", "test_subset"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 10):
                raise ConfigError(f"{name} must be None or an integer >= 10, got {v!r}")
        for name in ("rescale", "validation"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.lr is not None and not (_is_number(self.lr) and 0 < self.lr <= MAX_LR):
            raise ConfigError(f"lr must be None or a number in (0, {MAX_LR:g}], got {self.lr!r}")
        for name, low, high in (("weight_decay", 0.0, 1.0), ("momentum", 0.0, 1.0), ("label_smoothing", 0.0, 1.0)):
            v = getattr(self, name)
            if not (_is_number(v) and low <= v < high):
                raise ConfigError(f"{name} must be a number in [{low:g}, {high:g}), got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be an integer in 0..{MAX_SEED}, got {self.seed!r}")
        for name, size in (("subset", SPLIT_SIZES[0]), ("test_subset", SPLIT_SIZES[1])):
            v = getattr(self, name)
            if v is not None and v > size:
                raise ConfigError(f"{name} must be at most {size:,} (the images there are), got {v!r}")
        if self.validation and self.subset is not None and self.subset > SPLIT_SIZES[0] - data_mod.VALIDATION_SIZE:
            raise ConfigError(f"subset must be at most {SPLIT_SIZES[0] - data_mod.VALIDATION_SIZE:,} with validation "
                              f"(the images outside the validation split), got {self.subset!r}")
        if self.validation and self.test_subset is not None:
            raise ConfigError("test_subset must be None with validation: such a run never reads the test set")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a plain mapping (a notebook's parameters), rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown parameter(s) {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**d)

    @property
    def masked(self) -> bool:
        return is_masked(self.strategy)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else default_learning_rate(self.strategy)


# Fields added to TrainConfig after model files and records were made, with the value that reproduces the older
# behaviour: a file or record leaves a field out at that value, so that its bytes stay those the older code wrote
# (a model file stores its config; a remade file keeps its recorded checksum).
LATER_FIELDS = {"validation": False}


def config_dict(cfg: TrainConfig) -> dict:
    """``cfg`` as a file or a record stores it: every field, less ``LATER_FIELDS`` at their old value."""
    return {k: v for k, v in asdict(cfg).items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}


def _is_number(v) -> bool:
    """A finite int or float, not a bool (True is an int to Python, never a number to a user)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_arch(backbone: str, arch) -> None:
    """Architecture options: a mapping of known names to positive integers within ``ARCH_LIMITS``."""
    if not isinstance(arch, dict):
        raise ConfigError(f"arch must be a mapping such as {{\"dim\": 64, \"depth\": 6}}, got {arch!r}")
    check_backbone(backbone, arch)
    for key, v in arch.items():
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= ARCH_LIMITS[key]:
            raise ConfigError(f"arch {key} must be an integer in 1..{ARCH_LIMITS[key]}, got {v!r}")
    if backbone == "vit":
        full = arch_options("vit") | arch
        if full["dim"] % full["heads"] or 32 % full["patch_size"]:
            raise ConfigError(f"vit needs dim divisible by heads and patch_size dividing 32, got dim={full['dim']}, "
                              f"heads={full['heads']}, patch_size={full['patch_size']}")


def is_masked(strategy: str) -> bool:
    """Whether the strategy learns masks over fixed random values (the rest train weights)."""
    return methods.get(strategy).masked


def default_learning_rate(strategy: str) -> float:
    """The peak learning rate when a config leaves ``lr`` unset (the method's: masks' scores need a larger one)."""
    return methods.get(strategy).lr


def diverged_message(cfg: TrainConfig, loss: float, epoch: int, step: int, lr: float) -> str:
    """One line for a run whose loss went non-finite or exploded: where, and a smaller learning rate to try."""
    what = f"became {loss}" if not math.isfinite(loss) else f"exploded to {loss:.3g}"
    default = default_learning_rate(cfg.strategy)
    hint = (f"lr={default:g} (the default for {cfg.strategy})" if cfg.learning_rate > default
            else f"lr={cfg.learning_rate / 10:g}")
    return (f"training diverged at epoch {epoch + 1}/{cfg.epochs}, step {step + 1}: the loss {what} (learning rate "
            f"{lr:.3g} there, peak {cfg.learning_rate:g}); try a smaller lr, e.g. {hint}")


def memory_format_for(backbone: str) -> torch.memory_format:
    """Activation layout for training: channels-last for the convolutional backbones.

    Measured by ``make bench`` on 2 CPU cores: ConvMixer and ResNet steps are
    markedly faster channels-last (oneDNN's preferred layout), dense and masked
    alike; the ViT has no convolution. Results differ from NCHW only by float
    rounding, and each layout is deterministic.
    """
    return torch.channels_last if backbone in ("convmixer", "resnet32", "resnet56") else torch.contiguous_format


def pick_device(name: str = "auto") -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but CUDA is not available; use 'auto' or 'cpu'")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


def make_model(cfg: TrainConfig, num_classes: int) -> nn.Module:
    """The model of a config, before training (baseline masks attached)."""
    model = build_model(cfg.backbone, num_classes=num_classes, masked=cfg.masked, keep_ratio=cfg.keep_ratio, **cfg.arch)
    methods.get(cfg.strategy).prepare(model, cfg)
    return model


def lr_at(cfg: TrainConfig, progress: float) -> float:
    """Learning rate at ``progress`` in [0, 1] of training."""
    peak = cfg.learning_rate
    if cfg.schedule == "constant":
        return peak
    if cfg.schedule == "cosine":
        return 0.5 * peak * (1 + math.cos(math.pi * progress))
    # ConvMixer's piecewise-linear: 0 -> peak at 2/5 -> peak/20 at 4/5 -> 0
    knots = ((0.0, 0.0), (0.4, peak), (0.8, peak / 20), (1.0, 0.0))
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        if progress <= x1:
            return y0 + (y1 - y0) * (progress - x0) / (x1 - x0)
    return 0.0


def make_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.learning_rate, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               nesterov=True)
    return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def _augment(cfg):
    """``convmixer`` is the official ConvMixer recipe (``pemn.augment``); the others crop and flip, with erasing."""
    if cfg.augment == "none":
        return None
    if cfg.augment == "convmixer":
        return ConvMixerRecipe()
    return data_mod.Augment(erase_prob=0.0 if cfg.augment == "crop_flip" else 0.2)


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mean, std, device, batch_size: int = 1000,
             memory_format: torch.memory_format = torch.contiguous_format):
    """(accuracy, mean loss) of ``model`` on uint8 images ``x`` (batches in ``memory_format``)."""
    model.eval()
    correct, loss = 0, 0.0
    for xb, yb in data_mod.batches(x, y, batch_size, mean, std, device=device):
        with _autocast(device):
            out = model(xb.contiguous(memory_format=memory_format))
        loss += F.cross_entropy(out.float(), yb, reduction="sum").item()
        correct += (out.argmax(1) == yb).sum().item()
    return correct / len(y), loss / len(y)


def _autocast(device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


def evaluation_split(cfg: TrainConfig) -> str:
    """Where a run is evaluated, as its record's keys name it: ``val`` (the validation split) or ``test``."""
    return "val" if cfg.validation else "test"


def training_indices(cfg: TrainConfig, y_train: torch.Tensor) -> torch.Tensor | None:
    """The indices of the training images a run trains on (None: all of them): outside the validation split when
    the run holds it out, then its stratified subset."""
    pool = data_mod.validation_split(y_train)[0] if cfg.validation else None
    if not cfg.subset:
        return pool
    if pool is None:
        return data_mod.stratified_subset(y_train, cfg.subset, cfg.seed)
    return pool[data_mod.stratified_subset(y_train[pool], cfg.subset, cfg.seed)]


def run_images(cfg: TrainConfig, data) -> tuple[tuple, tuple]:
    """((x, y) for training, (x, y) for evaluation) of a run, uint8 images: its stratified training subset and the
    test images, or with ``validation`` the images outside the validation split and the split itself."""
    x_train, y_train = data.x_train, data.y_train
    if cfg.validation:
        val = data_mod.validation_split(data.y_train)[1]
        x_eval, y_eval = x_train[val], y_train[val]
    idx = training_indices(cfg, y_train)
    if idx is not None:
        x_train, y_train = x_train[idx], y_train[idx]
    if cfg.validation:
        return (x_train, y_train), (x_eval, y_eval)
    x_test, y_test = data.x_test, data.y_test
    if cfg.test_subset:
        idx = data_mod.stratified_subset(y_test, cfg.test_subset, seed=0)  # same test images for every run
        x_test, y_test = x_test[idx], y_test[idx]
    return (x_train, y_train), (x_test, y_test)


def precise_bn(model: nn.Module, cfg: TrainConfig, data, images: int, device=torch.device("cpu"),
               memory_format: torch.memory_format = torch.contiguous_format) -> dict:
    """Recalibrate ``model``'s BatchNorm statistics on ``images`` of the run's training images (a seeded random
    pick), then evaluate it on the run's evaluation images: ``{"images", "test_acc", "test_loss"}`` (``val_acc``,
    ``val_loss`` for a run that holds out the validation split)."""
    (x_train, _), (x_test, y_test) = run_images(cfg, data)
    mean, std = data.mean_std()
    pick = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(cfg.seed))[:images]
    recalibrate_bn(model, x_train[pick], cfg.batch_size, mean, std, device, memory_format)
    acc, loss = evaluate(model, x_test, y_test, mean, std, device, memory_format=memory_format)
    split = evaluation_split(cfg)
    return {"images": len(pick), f"{split}_acc": acc, f"{split}_loss": loss}


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x: torch.Tensor, batch_size: int, mean, std, device,
                   memory_format: torch.memory_format = torch.contiguous_format) -> None:
    """Replace BatchNorm's running statistics by their exact average over ``x`` (un-augmented).

    Why: at extreme sparsity many channels carry almost no variance; in training, batch statistics
    cancel their offsets exactly, while at test time the running averages leave small offsets that
    those channels amplify by up to 1/sqrt(eps) layer after layer (chapter 4 shows the evidence).
    The exact average ("precise BN", Wu & Johnson 2021) is applied to every method alike.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for xb, _ in data_mod.batches(x, torch.zeros(len(x), dtype=torch.long), batch_size, mean, std, device=device):
        with _autocast(device):
            model(xb.contiguous(memory_format=memory_format))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def _save_atomic(obj, path: Path) -> None:
    write_atomic(path, lambda tmp: torch.save(obj, tmp))


def train(cfg: TrainConfig, out_dir: str | Path | None = None, progress: bool = True, data=None) -> dict:
    """Train ``cfg`` and return its result; with ``out_dir``, checkpoint there each epoch and resume.

    ``progress`` prints one line per epoch (the run pipeline streams it to the terminal).
    """
    device = pick_device(cfg.device)
    git = provenance.git_state()  # the code this run imported; commits made while it trains do not change it
    data = data or data_mod.load(cfg.dataset)
    torch.manual_seed(cfg.seed)
    fmt = memory_format_for(cfg.backbone)
    model = make_model(cfg, data.num_classes).to(device, memory_format=fmt)
    (x_train, y_train), (x_test, y_test) = run_images(cfg, data)
    mean, std = data.mean_std()
    # the uint8 images live on the training device: uploaded once, indexed and augmented there
    x_train, y_train, x_test, y_test = (t.to(device) for t in (x_train, y_train, x_test, y_test))
    opt = make_optimizer(cfg, model)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps_per_epoch = len(x_train) // cfg.batch_size or 1
    total_steps = steps_per_epoch * cfg.epochs
    method = methods.get(cfg.strategy)
    step_hook = method.step_hook(model, cfg)  # magnitude pruning's schedule, say
    history, start_epoch, elapsed = [], 0, 0.0

    ckpt = Path(out_dir) / "checkpoint.pt" if out_dir else None
    state = torch.load(ckpt, weights_only=False) if ckpt and ckpt.is_file() else None
    if state is not None and state.get("results_version") != RESULTS_VERSION:
        print(f"not resuming {ckpt}: written by results version {state.get('results_version', 1)}, this code is "
              f"version {RESULTS_VERSION}; starting over", file=sys.stderr, flush=True)
        state = None
    if state is not None:
        if state["config"] != asdict(cfg):
            raise ConfigError(f"{ckpt} belongs to another configuration; delete it or use another run folder")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["data_rng"])
        torch.set_rng_state(state["torch_rng"])
        history, start_epoch, elapsed = state["history"], state["epoch"], state["elapsed"]
        print(f"resuming from {ckpt}: {start_epoch} of {cfg.epochs} epochs done", flush=True)

    split = evaluation_split(cfg)
    loss_limit = EXPLODED_LOSS * math.log(data.num_classes)
    augment = _augment(cfg)
    # on a GPU every layer's mask in one batched sort per step (the same masks; fewer kernel launches)
    batched_masks = BatchedMasks(model) if device.type == "cuda" and cfg.masked else None
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        # summed on the device, read once an epoch: a GPU step then never waits for the host (float64: the
        # same numbers as summing Python floats)
        seen = 0
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for i, (xb, yb) in enumerate(data_mod.batches(x_train, y_train, cfg.batch_size, mean, std, gen, augment,
                                                      shuffle=True, drop_last=len(x_train) >= cfg.batch_size,
                                                      device=device)):
            step = epoch * steps_per_epoch + i
            for g in opt.param_groups:
                g["lr"] = lr_at(cfg, step / total_steps)
            if step_hook is not None:
                step_hook(step, total_steps)
            with _autocast(device):
                out = model(xb.contiguous(memory_format=fmt))
                loss = F.cross_entropy(out.float(), yb, label_smoothing=cfg.label_smoothing)
            if (device.type == "cpu" or i % GPU_CHECK_EVERY == 0 or i == steps_per_epoch - 1) and \
                    not loss <= loss_limit:  # NaN fails every comparison
                raise TrainingDiverged(diverged_message(cfg, loss.item(), epoch, i, opt.param_groups[0]["lr"]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(yb)
            loss_sum += loss.detach().double() * len(yb)
            correct += (out.argmax(1) == yb).sum()
        loss_sum, correct = loss_sum.item(), int(correct)
        test_acc, test_loss = evaluate(model, x_test, y_test, mean, std, device, memory_format=fmt)
        seconds = time.perf_counter() - t0
        elapsed += seconds
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                        f"{split}_loss": test_loss, f"{split}_acc": test_acc, "seconds": seconds,
                        "lr_end": opt.param_groups[0]["lr"]})
        if progress:
            print(f"{cfg.backbone}/{cfg.strategy} epoch {epoch + 1}/{cfg.epochs}: train loss {loss_sum / seen:.3f}, "
                  f"{'validation' if cfg.validation else 'test'} accuracy {test_acc:.2%}, {seconds:.1f} s", flush=True)
        if ckpt:
            _save_atomic({"results_version": RESULTS_VERSION, "config": asdict(cfg), "model": model.state_dict(),
                          "optimizer": opt.state_dict(),
                          "data_rng": gen.get_state(), "torch_rng": torch.get_rng_state(), "history": history,
                          "epoch": epoch + 1, "elapsed": elapsed}, ckpt)
    if batched_masks is not None:
        batched_masks.remove()
    recalibration = None
    if cfg.bn_recalibration and has_batchnorm(model):
        recalibration = {f"{split}_acc_before": history[-1][f"{split}_acc"],
                         f"{split}_loss_before": history[-1][f"{split}_loss"],
                         **precise_bn(model, cfg, data, cfg.bn_recalibration, device, fmt)}
    model = model.cpu().to(memory_format=torch.contiguous_format)  # the usual layout for export and callers
    best = max(history, key=lambda h: h[f"{split}_acc"])
    storage = method.storage_summary(model, cfg)
    head = method.headline_scheme(cfg)
    result = {
        "config": config_dict(cfg),
        "status": "complete",
        "results_version": RESULTS_VERSION,
        f"final_{split}_acc": (recalibration or history[-1])[f"{split}_acc"],
        "bn_recalibration": recalibration,
        f"best_epoch_{split}_acc": best[f"{split}_acc"],
        "best_epoch": best["epoch"],
        "best_epoch_note": ("the validation split's best epoch; the test set is never read" if cfg.validation else
                            "selected on the test set, as the official code reports; not the headline"),
        "history": history,
        "unique_values": unique_weight_count(model),
        "kept_fraction": (storage_bits(model, "bitmap")["weights"] / storage_bits(model, "dense")["weights"]
                          if not cfg.masked else cfg.keep_ratio),
        "storage": storage,
        "headline_scheme": head,
        "compression": storage[head]["compression"],
        "compression_weights_only": storage[head]["compression_weights_only"],
        "train_size": len(x_train), f"{split}_size": len(x_test),
        **({"validation_split": data_mod.validation_record(data.y_train)} if cfg.validation else {}),
        "wall_time_s": elapsed,
        "device": str(device),
        "data_source": data.source,
        **provenance.environment(git),
    }
    result["model"] = model
    return result
