# pemn-study: `make reproduce` reruns the study and builds the book; `make test` checks everything.
SHELL := bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pemn-setup
PROFILE ?= cpu
RUNNER ?=
FORCE ?=
ARGS ?=
# CIFAR-10: ../shared/data (the offline mirror) when it exists, else data/; override with PEMN_DATA=...
PEMN_DATA ?= $(if $(wildcard ../shared/data/cifar10-jpeg.tar.gz),$(abspath ../shared/data),$(abspath data))
export PEMN_DATA

.PHONY: help setup test test-unit test-notebooks reproduce runs run-all check-profile book bench bench-paper custom \
	plumbing clean-book publish publish-built gpu-prepare gpu-wheels gpu-dry-run gpu-unpack

help:
	@echo "make reproduce [PROFILE=smoke|cpu|cpu20k|gpu|paper] [FORCE=1] [RUNNER='srun --gres=gpu:1'] [-j N]"
	@echo "                  run every missing run of the profile into runs/<profile>/, then build the book"
	@echo "make test         unit tests, notebook tests (nbval) and the book build"
	@echo "make book         build the book from runs/ into _build/html"
	@echo "make publish      build the book and push it to the gh-pages branch of PUBLISH_REMOTE (default: origin)"
	@echo "make custom ARGS='strategy=rp ratio=0.003' [FORCE=1]   one configuration into runs/custom/"
	@echo "make plumbing     train every smoke run for real in a scratch folder (runs/ untouched; a few minutes)"
	@echo "make bench        speed benchmark (bench/results.json)"
	@echo "make bench-paper  what the gpu profile and the paper grid cost on one GPU (measured there on CUDA: bench/paper.json)"

# The kernels' configuration (scripts/ipython_kernel_config.py: no "running over TCP without encryption" warning at
# every notebook execution, whatever executes it) lives in the environment, where every kernel of it reads it.
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py
setup: $(STAMP) $(KERNEL_CONFIG)
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@
$(KERNEL_CONFIG): scripts/ipython_kernel_config.py $(STAMP)
	@mkdir -p $(@D) && cp $< $@

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests book/index.ipynb book/0*.ipynb book/appendix.ipynb --nbval-lax --nbval-current-env

reproduce: setup
	@$(PY) -m pemn list --profile $(PROFILE) --summary
	$(if $(FORCE),@echo "FORCE=1: every run of the $(PROFILE) profile is made again")
	@status=0; $(MAKE) --no-print-directory -k run-all PROFILE=$(PROFILE) || status=$$?; \
	  $(MAKE) --no-print-directory book || status=$$?; \
	  if [ $$status -ne 0 ]; then echo "some runs or the book failed: see runs/$(PROFILE)/*/error.json"; fi; \
	  exit $$status

# One target per pending run (missing, failed, recorded with another configuration or by an older results
# version: `pemn list --pending` says which are stale), so that
# `make -j N reproduce` runs them side by side and RUNNER can dispatch each to a scheduler.
ifneq ($(filter run-all,$(MAKECMDGOALS)),)
RUN_IDS := $(shell $(PY) -m pemn list --profile $(PROFILE) $(if $(FORCE),,--pending))
endif
run-all: check-profile $(addprefix run/$(PROFILE)/,$(RUN_IDS))
check-profile:
	@$(PY) -m pemn list --profile $(PROFILE) > /dev/null
run/$(PROFILE)/%:
	$(RUNNER) $(PY) -m pemn run --profile $(PROFILE) --id $* $(if $(FORCE),--force)

runs: reproduce

book: setup
	$(VENV)/bin/jupyter-book build --all -W -n --keep-going .
	@echo "book: $(CURDIR)/_build/html/index.html"

# Publishing (Jupyter Book 1's documented route): the built HTML becomes the whole tree of the gh-pages branch, with a
# .nojekyll file so that GitHub Pages serves the _static/ and _images/ folders, and is pushed to PUBLISH_REMOTE.
# `make publish-built` publishes what _build/html holds without building (tests/test_publish.py runs it against a
# local bare repository).
PUBLISH_REMOTE ?= origin
PUBLISH_BRANCH ?= gh-pages
BOOK_HTML ?= _build/html
GHP_IMPORT ?= $(VENV)/bin/ghp-import
publish: book
	@$(MAKE) --no-print-directory publish-built
# The commit message names what the book was built from: HEAD, plus the run folders not committed (new or changed).
publish-built:
	@test -f $(BOOK_HTML)/index.html || { echo "no built book in $(BOOK_HTML) (make book first)"; exit 2; }
	@label=$$(git rev-parse --short HEAD 2>/dev/null || echo 'a working tree'); \
	  n=$$(git status --porcelain --untracked-files=all -- runs 2>/dev/null \
	    | sed -n 's|^.. "\{0,1\}runs/\([^/]*/[^/]*\)/.*|\1|p' | sort -u | wc -l); \
	  if [ "$$n" -gt 0 ]; then label="$$label + $$n uncommitted run$$([ "$$n" -gt 1 ] && echo s)"; fi; \
	  echo "publishing the book built from $$label"; \
	  $(GHP_IMPORT) --no-jekyll --push --force --remote $(PUBLISH_REMOTE) --branch $(PUBLISH_BRANCH) \
	    --message "book: built from $$label" $(BOOK_HTML)
	@echo "published $(BOOK_HTML) to the $(PUBLISH_BRANCH) branch of $(PUBLISH_REMOTE)"

custom: setup
	$(PY) -m pemn custom $(ARGS) $(if $(FORCE),--force)

# The plumbing check: every smoke run trained for real (its committed runs would all be skipped) into a scratch runs
# folder that is removed afterwards, so runs/ and the book stay as they are. RUNNER and -j N apply as for reproduce.
plumbing: setup
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	  PEMN_RUNS=$$scratch/runs $(MAKE) --no-print-directory -k run-all PROFILE=smoke \
	  && echo "plumbing check passed: every smoke run trained, exported and recorded (in $$scratch, now removed)"

bench: setup
	$(PY) -m pemn.bench

# On a CUDA machine: measure the paper's models there (bench/paper.json); anywhere: estimate the `gpu` profile
# and the `paper` grid from those measurements (bench/gpu_estimate.json).
bench-paper: setup
	@if $(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then $(PY) -m pemn.bench --paper; \
	  else echo "no CUDA here: estimating from the measurements stored in bench/paper.json"; fi
	$(PY) -m pemn.bench.gpu_estimate $(if $(SLOTS),--slots $(SLOTS))

# --- the gpu profile on a lent GPU machine (torch there, no papermill, no network): one job per call -----------
# `make gpu-prepare` fills .gpu/ (CIFAR-10, wheels, checkpoints to resume, the plan) and prints the call: command
# `bash scripts/gpu_job.sh`, carrying .gpu; then `make gpu-unpack FILES=<folder of the files it sent back>`.
GPU_DIR := .gpu
gpu-prepare: setup
	@$(MAKE) --no-print-directory gpu-wheels || echo "warning: no wheels (the GPU machine must have safetensors and tqdm)"
	$(PY) scripts/gpu_prepare.py

# Wheels for a GPU machine that lacks what export and the progress bar import (its Python is 3.12, x86-64):
# safetensors is compiled (abi3), tqdm pure Python. scripts/gpu_job.sh installs these only where an import fails.
gpu-wheels:
	@$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d $(GPU_DIR)/wheels \
	  safetensors==0.8.0 tqdm==4.70.1

# scripts/gpu_run.py on this CPU with the smoke profile, into a scratch runs folder (the committed runs stay).
gpu-dry-run: setup
	@tmp=$$(mktemp -d); PEMN_RUNS=$$tmp/runs flock /tmp/pemn-train.lock $(PY) scripts/gpu_run.py --profile smoke \
	  --limit $(or $(LIMIT),300) --out $$tmp/out && ls -l $$tmp/out && rm -rf $$tmp

gpu-unpack: setup
	@test -n "$(FILES)" || { echo "usage: make gpu-unpack FILES=folder/of/the/files/a/job/sent/back"; exit 2; }
	$(PY) scripts/gpu_prepare.py --unpack $(FILES)

clean-book:
	rm -rf _build
