#!/usr/bin/env bash
# Issue 15's device check on a lent GPU machine. `make gpu-prepare` first; then one call per part of CIFAR-10
# (.gpu/parts/: the repository alone is near the 64 MiB a call may carry), back to back on the warm machine:
#   carry [".gpu/parts/cifar10-jpeg.tar.gz.part0", ".gpu/parts/count"]  command: bash scripts/gpu_stash.sh
#   carry [".gpu/parts/cifar10-jpeg.tar.gz.part1", "runs/gpu"]         command: bash scripts/gpu_check.sh
# This last call:
# the device paths' tests on CUDA, then scripts/gpu_run.sh: device measurements (bench/gpu.json: augmentation
# against the steps, masked against dense, two runs at once), then the next pending runs of the gpu profile.
# Everything comes back as $OUT/gpu-runs.tar.gz (+ summary.json, tests.txt): `make gpu-unpack ARCHIVE=...` here.
#   bash scripts/gpu_check.sh            # LIMIT=450 BENCH=90 SLOTS=2 by default: about 8.5 minutes
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/gpu_stash.sh  # the carried parts of CIFAR-10, joined once all are there
export OUT="${OUT:-gpu-out}" PEMN_DATA="${PEMN_DATA:-/tmp/pemn-data}" PEMN_CACHE="${PEMN_CACHE:-/tmp/pemn-cache}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi -L
PYTHONPATH="$PWD" python3 -m pytest -q -p no:cacheprovider tests/test_augment_device.py tests/test_speed_paths.py \
  tests/test_augment_stream.py 2>&1 | tail -15 | tee "$OUT/tests.txt"
exec bash scripts/gpu_run.sh --limit "${LIMIT:-450}" --bench "${BENCH:-90}" --slots "${SLOTS:-2}"
