"""``make bench`` (``python -m pemn.bench``): how fast the study trains, measured side by side in one process (issue 6).

Writes ``bench/results.json`` and prints a table. Sections, all on the device
training would use (CUDA with bf16 autocast when present, else the CPU):

- ``train_step``: median training step (forward, backward, optimizer) per
  backbone at its ``cpu``-profile size, batch 128, for dense, masked (ours) and
  masked with the official code's sort-based mask (reimplemented here only),
  plus the sparse baseline and before/after variants (NCHW instead of
  channels-last). Variants are interleaved step by step, the order alternating
  each round, and ratios are medians of per-round ratios, so slow drifts of a
  shared machine's load cancel.
- ``mask``: the mask computation alone on each backbone's largest layer: ours,
  the sort-based reference, and the former ``torch.topk`` version.
- ``loader``: images/second of ``pemn.data.batches`` with ``Augment`` (and the
  former augmentation), against what the fastest training step consumes.
- ``evaluation``: images/second of ``pemn.train.evaluate`` (inference mode),
  with ``no_grad`` and autograd-enabled forwards beside it.
- ``options``: other ecosystem switches on the ConvMixer (thread count, fused
  AdamW, RP's tiled weights).
- ``compile``: ``torch.compile`` of the masked ConvMixer in a child process with
  a fresh compiler cache (cold compile time, warm-cache compile time, step). A
  cold compile alone takes one to two minutes on 2 shared cores, so it is
  measured by ``python -m pemn.bench --compile-only`` into ``bench/compile.json``
  and ``make bench`` shows that stored measurement, labelled, beside its own.
- ``profiles``: time of each profile estimated from these measurements (smoke,
  cpu) and from FLOPs for ``paper`` on a GPU, next to measured run times in ``runs/``.

``--paper`` (``make bench-paper``, CUDA only) writes ``bench/paper.json`` instead: the
``paper`` grid's own models at their batch sizes, its augmentation, the profile's
GPU-hours from those rates, and one real epoch through ``pemn.train.train`` as a check.

Every section records ``os.getloadavg()`` and the torch thread count: timings on a
shared machine are noisy, ratios measured side by side much less so.

The package, by concern: ``cases`` (what is measured and how it is built),
``timing`` (interleaved rounds, paired ratios), ``reference`` (superseded
implementations kept only to compare against), ``sections`` (the
measurements), ``estimate`` (profile times from measured rates or FLOPs) and
``cli`` (the command, the JSON file, the printed table).
"""
from __future__ import annotations

from .cases import CPU_CASES, SMOKE_CASES, VARIANTS, Case, batch_of, build, paper_cases, stepper
from .cli import environment, main, table
from .estimate import estimate_paper, estimate_profile, train_flops_per_image
from .reference import augment_former, sort_mask, topk_mask_former
from .sections import bench_loader, bench_train_steps, paper_epoch_check
from .timing import choose_threads, interleave, sync

__all__ = ["CPU_CASES", "Case", "SMOKE_CASES", "VARIANTS", "augment_former", "batch_of", "bench_loader",
           "bench_train_steps", "build", "choose_threads", "environment", "estimate_paper", "estimate_profile",
           "interleave", "main", "paper_cases", "paper_epoch_check", "sort_mask", "stepper", "sync", "table",
           "topk_mask_former", "train_flops_per_image"]
