"""CIFAR data: found once, decoded once, cached as uint8, kept in memory or on the training device, augmented
in whole batches.

Sources, in order: an official ``cifar-10-batches-py`` folder, the offline JPEG
mirror ``cifar10-jpeg.tar.gz`` (checked against its sha256), and a torchvision
download, only where the user asks for one (``PEMN_DOWNLOAD=1``). The folder searched is ``$PEMN_DATA``
(default: ``../shared/data`` beside the checkout when the offline mirror is
there, as the Makefile picks, else ``data/``); decoded arrays are cached under ``$PEMN_CACHE`` (default
``~/.cache/pemn``).
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .paths import REPO, write_atomic

DATASETS = ("cifar10", "cifar100")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MIRROR = "cifar10-jpeg.tar.gz"
MIRROR_SHA256 = "45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db"


class DataError(RuntimeError):
    """The data could not be found or read; the message says where we looked and what to do."""


@dataclass
class Data:
    """A dataset held in memory: uint8 images (N, 3, 32, 32) and int64 labels."""
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: dict

    @property
    def num_classes(self) -> int:
        return 100 if self.name == "cifar100" else 10

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel statistics of this source's training images (0-1 scale)."""
        x = self.x_train.float().div_(255)
        return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))


SHARED_DATA = REPO.parent / "shared" / "data"


def data_dir() -> Path:
    """``$PEMN_DATA``; unset, the same folder the Makefile picks, so ``python -m pemn`` works outside make."""
    if "PEMN_DATA" in os.environ:
        return Path(os.environ["PEMN_DATA"])
    return SHARED_DATA if (SHARED_DATA / MIRROR).is_file() else Path("data")


def cache_dir() -> Path:
    return Path(os.environ.get("PEMN_CACHE", Path.home() / ".cache" / "pemn"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decode_mirror(path: Path) -> dict:
    """Decode the JPEG mirror's 60,000 images once (a few seconds with Pillow)."""
    from PIL import Image
    index = {c: i for i, c in enumerate(CIFAR10_CLASSES)}
    out = {"train": ([], []), "test": ([], [])}
    with tarfile.open(path, "r:gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".jpg")), key=lambda m: m.name)
        for m in members:
            split, cls, _ = Path(m.name).parts[-3:]
            if split not in out or cls not in index:
                continue
            img = Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB")
            out[split][0].append(np.asarray(img, dtype=np.uint8))
            out[split][1].append(index[cls])
    if len(out["train"][0]) != 50000 or len(out["test"][0]) != 10000:
        raise DataError(f"{path} holds {len(out['train'][0])} train / {len(out['test'][0])} test images, "
                        "expected 50,000 / 10,000: the archive is incomplete")
    return {"x_train": np.stack(out["train"][0]), "y_train": np.asarray(out["train"][1], dtype=np.int64),
            "x_test": np.stack(out["test"][0]), "y_test": np.asarray(out["test"][1], dtype=np.int64)}


def _load_torchvision(name: str, root: Path, download: bool) -> dict:
    import torchvision
    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    arrays = {}
    for split, train in (("train", True), ("test", False)):
        ds = cls(str(root), train=train, download=download)
        arrays[f"x_{split}"] = np.asarray(ds.data, dtype=np.uint8)
        arrays[f"y_{split}"] = np.asarray(ds.targets, dtype=np.int64)
    return arrays


def download_allowed() -> bool:
    """Whether the user asked for a torchvision download (``PEMN_DOWNLOAD=1``): never by default, so that a
    mistyped ``PEMN_DATA`` is reported, not created and filled from the network."""
    return os.environ.get("PEMN_DOWNLOAD", "").strip().lower() in ("1", "true", "yes")


def _find(name: str, root: Path, allow_download: bool) -> tuple[dict, dict]:
    """Locate a source and return (source record, loader of its arrays); nothing is created or downloaded."""
    official = root / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    if official.is_dir():
        return {"kind": "official", "path": str(official), "sha256": None}, lambda: _load_torchvision(name, root, False)
    mirror = root / MIRROR
    if name == "cifar10" and mirror.is_file():
        digest = sha256(mirror)
        if digest != MIRROR_SHA256:
            raise DataError(f"{mirror} is corrupt: sha256 {digest[:16]}... differs from the expected "
                            f"{MIRROR_SHA256[:16]}...; copy the archive again (see shared/data/README.md)")
        return {"kind": "jpeg-mirror", "path": str(mirror), "sha256": digest}, lambda: _decode_mirror(mirror)
    downloaded = {"kind": "official-download", "path": str(root), "sha256": None}
    if allow_download:
        return downloaded, lambda: _load_torchvision(name, root, True)
    cache = _cache_file(name, downloaded)
    if cache.is_file():  # downloaded before (PEMN_DOWNLOAD=1): decoded arrays at hand, and nothing else
        damage = _cache_damage(cache)
        if damage:
            raise DataError(_damaged_cache_message(name, root, cache, damage))
        return downloaded, None
    raise DataError(_missing_message(name, root))


def _looked_for(name: str, root: Path) -> list[str]:
    looked = [str(root / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"))]
    return looked + [str(root / MIRROR)] if name == "cifar10" else looked


def _missing_message(name: str, root: Path) -> str:
    looked = _looked_for(name, root)
    where = f"PEMN_DATA={root}" + ("" if root.is_dir() else ", which does not exist")
    return (f"{name} not found. Looked for: {', '.join(looked)} ({where}). Fix: set PEMN_DATA to a folder "
            f"holding one of these, or set PEMN_DOWNLOAD=1 to let torchvision download it (needs internet).")


CACHE_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _cache_damage(cache: Path) -> str | None:
    """Why a cache file is not one ``load`` can read, from a cheap look at its zip directory (a truncated or foreign
    file), or None; damage inside an array shows when ``load`` reads it."""
    import zipfile
    try:
        with zipfile.ZipFile(cache) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile) as e:
        return f"{type(e).__name__}: {e}"
    missing = [a for a in CACHE_ARRAYS if f"{a}.npy" not in names]
    return f"arrays {', '.join(missing)} missing" if missing else None


def _damaged_cache_message(name: str, root: Path, cache: Path, damage: str) -> str:
    return (f"{cache} is damaged ({damage}) and nothing here rebuilds it (no {' or '.join(_looked_for(name, root))})."
            f" Fix: delete it and set PEMN_DOWNLOAD=1 to download {name} again (needs internet), or set PEMN_DATA to "
            f"a folder holding one of these")


def _read_cache(cache: Path) -> tuple[dict | None, str | None]:
    """(the cached arrays, None), or (None, why) for a cache that cannot be read whole (truncated, bad CRC, ...)."""
    try:
        with np.load(cache) as f:
            return {a: f[a] for a in CACHE_ARRAYS}, None
    except Exception as e:  # zipfile, numpy and OS errors alike: the file is not what was written
        return None, f"{type(e).__name__}: {e}"


def _cache_file(name: str, source: dict) -> Path:
    key = source["sha256"][:16] if source["sha256"] else source["kind"]
    return cache_dir() / f"{name}-{key}.npz"


def locate(name: str = "cifar10", allow_download: bool | None = None) -> dict:
    """The source ``load`` would read (``{"kind", "path", "sha256"}``), or a DataError saying where it looked; reads
    no images, creates nothing. ``allow_download`` None: as ``PEMN_DOWNLOAD`` says (off unless set)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return _find(name, data_dir(), download_allowed() if allow_download is None else allow_download)[0]


def load(name: str = "cifar10", allow_download: bool | None = None) -> Data:
    """Load ``name`` into memory, decoding and caching it on first use. A torchvision download is tried only with
    ``allow_download`` (None: as ``PEMN_DOWNLOAD`` says, off unless set). A damaged cache is rebuilt from its source,
    saying so on stderr; where the cache is the only copy (a download made before), a DataError says what to do."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    root = data_dir()
    source, loader = _find(name, root, download_allowed() if allow_download is None else allow_download)
    cache = _cache_file(name, source)
    arrays, damage = _read_cache(cache) if cache.is_file() else (None, None)
    if damage and loader is None:
        raise DataError(_damaged_cache_message(name, root, cache, damage))
    if damage:
        print(f"{cache} is damaged ({damage}); rebuilding it from {source['path']}", file=sys.stderr, flush=True)
    if arrays is None:
        try:
            arrays = loader()
        except DataError:
            raise
        except Exception as e:  # torchvision's download or a damaged official folder
            raise DataError(f"{_missing_message(name, root)} (last attempt: {source['kind']} failed: {e})") from e
        def save(tmp):
            with tmp.open("wb") as f:  # a file object: np.savez would append ".npz" to a path
                np.savez(f, **arrays)
        write_atomic(cache, save)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return Data(name, to_t(arrays["x_train"]).permute(0, 3, 1, 2).contiguous(), to_t(arrays["y_train"]),
                to_t(arrays["x_test"]).permute(0, 3, 1, 2).contiguous(), to_t(arrays["y_test"]), source)


def stratified_subset(y: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """Indices of a class-balanced random subset of ``size`` examples (seeded)."""
    classes = int(y.max()) + 1
    if not 0 < size <= len(y):
        raise ValueError(f"subset size must be in 1..{len(y)}, got {size}")
    gen = torch.Generator().manual_seed(seed)
    per_class = [size // classes + (c < size % classes) for c in range(classes)]
    picks = []
    for c in range(classes):
        idx = torch.nonzero(y == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:per_class[c]]])
    return torch.cat(picks).sort().values


VALIDATION_SIZE = 5000  # the held-out split: chosen once, never trained on by a run that asks for it
VALIDATION_SEED = 20261204  # its stratified pick (500 images of each CIFAR-10 class), the same for every run


def validation_split(y_train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, validation indices) of the held-out split: a fixed stratified ``VALIDATION_SIZE`` of the
    training images for choosing hyper-parameters, and the rest to train on. The test set is not involved."""
    val = stratified_subset(y_train, VALIDATION_SIZE, VALIDATION_SEED)
    keep = torch.ones(len(y_train), dtype=torch.bool)
    keep[val] = False
    return torch.nonzero(keep).flatten(), val


def validation_record(y_train: torch.Tensor) -> dict:
    """What names a run's validation split in its record: size, seed and the SHA-256 of its indices."""
    val = validation_split(y_train)[1]
    return {"size": len(val), "seed": VALIDATION_SEED, "stratified": True, "indices_sha256": indices_sha256(val)}


def indices_sha256(idx: torch.Tensor) -> str:
    """The SHA-256 of indices as little-endian int64: a record names the exact images of its split."""
    return hashlib.sha256(np.asarray(idx, dtype="<i8").tobytes()).hexdigest()


class Augment:
    """Batch augmentation on uint8 images: reflect-pad crop and horizontal flip, optional cutout-style erasing.

    Runs where the images are (the CPU, or the training device that holds the dataset); the random draws come
    from the run's CPU generator in one fixed order, so the CPU stream of the committed runs is unchanged
    (``tests/test_augment_stream.py``). The ConvMixer recipe is ``pemn.augment.ConvMixerRecipe``.
    """

    def __init__(self, crop_pad: int = 4, flip: bool = True, erase_prob: float = 0.0):
        self.crop_pad, self.flip, self.erase_prob = crop_pad, flip, erase_prob

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Augmented float copies of uint8 images ``x`` (N, C, H, W).

        Works on the uint8 images and converts at the end: each crop is a window
        of a view of all (2p+1)^2 crops (``unfold``), a flip picks the mirrored
        window, so one gather copies each output pixel once. Same random draws
        (offsets, then flips) and the same pixels as padding, indexing and
        flipping floats, about three times faster (``make bench``).
        """
        n, _, h, w = x.shape
        p = self.crop_pad
        if p:
            dy = torch.randint(0, 2 * p + 1, (n,), generator=gen).to(x.device, non_blocking=True)
            dx = torch.randint(0, 2 * p + 1, (n,), generator=gen).to(x.device, non_blocking=True)
            x = torch.nn.functional.pad(x, (p, p, p, p), mode="reflect")
        if self.flip:
            flip = (torch.rand(n, generator=gen) < 0.5).to(x.device, non_blocking=True)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            if p:  # the crop at dx of a mirrored image is the mirror of the crop at 2p - dx
                dx = torch.where(flip, 2 * p - dx, dx)
        if p:
            x = x.unfold(2, h, 1).unfold(3, w, 1)[torch.arange(n, device=x.device), :, dy, dx]
        x = x.float()
        if self.erase_prob > 0:
            x = self._erase(x, gen)
        return x

    def after_normalize(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Nothing more after normalisation (the ConvMixer recipe erases there)."""
        return x

    def _erase(self, x, gen):
        """Zero a random square (a quarter of the side) in a fraction ``erase_prob`` of the images."""
        n, _, h, w = x.shape
        s = h // 4
        cy = torch.randint(0, h - s + 1, (n,), generator=gen)[:, None]
        cx = torch.randint(0, w - s + 1, (n,), generator=gen)[:, None]
        ar = torch.arange(h)[None]
        box = ((ar >= cy) & (ar < cy + s))[:, :, None] & ((ar >= cx) & (ar < cx + s))[:, None, :]
        box &= (torch.rand(n, generator=gen) < self.erase_prob)[:, None, None]
        return x.masked_fill(box[:, None].to(x.device, non_blocking=True), 0.0)


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, mean: torch.Tensor, std: torch.Tensor,
            gen: torch.Generator | None = None, augment: Augment | None = None, shuffle: bool = False,
            drop_last: bool = False, device: str = "cpu"):
    """Yield normalized float batches ``(x, y)`` on ``device`` from in-memory uint8 images.

    The images may already live on ``device`` (training uploads the dataset once): the batch is then indexed,
    augmented and normalised there, with the shuffle and every random draw still made by ``gen`` on the CPU.
    """
    n = len(x)
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    mean = (mean * 255).view(1, 3, 1, 1).to(device)
    std = (std * 255).view(1, 3, 1, 1).to(device)
    for i in range(0, stop, batch_size):
        idx = order[i:i + batch_size].to(x.device, non_blocking=True)  # no wait for the device's queue
        xb = x[idx]
        xb = augment(xb, gen) if augment is not None else xb.float()
        xb = (xb.to(device, non_blocking=True) - mean) / std
        if hasattr(augment, "after_normalize"):  # a step of the recipe after normalisation (erasing)
            xb = augment.after_normalize(xb, gen)
        yield xb, y[idx].to(device, non_blocking=True)
