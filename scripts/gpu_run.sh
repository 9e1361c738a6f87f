#!/usr/bin/env bash
# scripts/gpu_run.py on a bare GPU machine, from anywhere: installs the carried wheels (.gpu/wheels, made by
# `make gpu-wheels`) where they are missing, joins CIFAR-10 from the parts carried (scripts/gpu_stash.sh),
# writes to $OUT.
#   bash scripts/gpu_run.sh --limit 510 --bench 90 --slots 2
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import safetensors, tqdm" 2> /dev/null && compgen -G ".gpu/wheels/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/pemn-site .gpu/wheels/*.whl
  export PYTHONPATH="/tmp/pemn-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
bash scripts/gpu_stash.sh  # the carried parts of CIFAR-10, joined once all are there
export PEMN_DATA="${PEMN_DATA:-/tmp/pemn-data}" PEMN_CACHE="${PEMN_CACHE:-/tmp/pemn-cache}"
exec python3 scripts/gpu_run.py --out "${OUT:-gpu-out}" "$@"
