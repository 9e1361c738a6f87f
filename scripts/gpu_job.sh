#!/usr/bin/env bash
# The one job on a lent GPU machine (torch there, no papermill, no network), as `make gpu-prepare` plans it and
# carrying only .gpu: wheels where an import fails, CIFAR-10 from .gpu/data, the checkpoints of runs a previous
# job cut (.gpu/resume), the device measurements, then the plan's pending runs; stops itself at the plan's limit.
# Sends back at most 8 files into $OUT: gpu-runs-N.tar.gz (each at most 15 MiB) and summary.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export OUT="${OUT:-gpu-out}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
if ! python3 -c "import safetensors, tqdm" 2> /dev/null && compgen -G ".gpu/wheels/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/pemn-site .gpu/wheels/*.whl
  export PYTHONPATH="/tmp/pemn-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PEMN_DATA="$PWD/.gpu/data" PEMN_CACHE="${PEMN_CACHE:-/tmp/pemn-cache}"
nvidia-smi -L || true
limit=$(python3 -c "import json; print(json.load(open('.gpu/plan.json'))['job_limit_s'])")
bench=$(python3 -c "import json; print(json.load(open('.gpu/plan.json'))['bench_s'])")
exec python3 scripts/gpu_run.py --profile gpu --only .gpu/only.txt --resume .gpu/resume --limit "$limit" \
  --bench "$bench" --slots 1 --out "$OUT"
