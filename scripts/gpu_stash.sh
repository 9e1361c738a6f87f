#!/usr/bin/env bash
# CIFAR-10 reaches a GPU machine in parts: the repository alone is near the 64 MiB that one call may carry.
# `make gpu-prepare` splits the mirror into .gpu/parts/; each call carries one part, and this keeps the parts
# carried so far in /tmp/pemn-data (the machine stays warm between calls made back to back). With every part
# there it joins them into /tmp/pemn-data/cifar10-jpeg.tar.gz (checked against its sha256 when loaded).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p /tmp/pemn-data
if compgen -G ".gpu/parts/*.part*" > /dev/null; then cp .gpu/parts/*.part* /tmp/pemn-data/; fi
if compgen -G ".gpu/parts/count" > /dev/null; then cp .gpu/parts/count /tmp/pemn-data/; fi
have=$(ls /tmp/pemn-data/ | grep -c '\.part' || true)
need=$(cat /tmp/pemn-data/count 2> /dev/null || echo "?")
echo "CIFAR-10 parts on this machine: $have of $need"
if [ "$have" = "$need" ]; then cat /tmp/pemn-data/cifar10-jpeg.tar.gz.part* > /tmp/pemn-data/cifar10-jpeg.tar.gz; fi
