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

.PHONY: help setup test test-unit test-notebooks reproduce runs run-all book bench bench-paper custom clean-book

help:
	@echo "make reproduce [PROFILE=smoke|cpu|cpu20k|paper] [FORCE=1] [RUNNER='srun --gres=gpu:1'] [-j N]"
	@echo "                  run every missing run of the profile into runs/<profile>/, then build the book"
	@echo "make test         unit tests, notebook tests (nbval) and the book build"
	@echo "make book         build the book from runs/ into _build/html"
	@echo "make custom ARGS='strategy=rp ratio=0.003'   one configuration into runs/custom/"
	@echo "make bench        speed benchmark (bench/results.json)"
	@echo "make bench-paper  on a CUDA machine: what the paper profile costs on its GPU (bench/paper.json)"

setup: $(STAMP)
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests book/index.ipynb book/0*.ipynb book/appendix.ipynb book/notebooks/train.ipynb --nbval-lax --nbval-current-env

reproduce: setup
	@$(PY) -m pemn list --profile $(PROFILE) > /dev/null
	@status=0; $(MAKE) --no-print-directory -k run-all PROFILE=$(PROFILE) || status=$$?; \
	  $(MAKE) --no-print-directory book || status=$$?; \
	  if [ $$status -ne 0 ]; then echo "some runs or the book failed: see runs/$(PROFILE)/*/error.json"; fi; \
	  exit $$status

# One target per pending run (missing, failed, or recorded with another configuration), so that
# `make -j N reproduce` runs them side by side and RUNNER can dispatch each to a scheduler.
ifneq ($(filter run-all,$(MAKECMDGOALS)),)
RUN_IDS := $(shell $(PY) -m pemn list --profile $(PROFILE) $(if $(FORCE),,--pending))
endif
run-all: $(addprefix run/$(PROFILE)/,$(RUN_IDS))
run/$(PROFILE)/%:
	$(RUNNER) $(PY) -m pemn run --profile $(PROFILE) --id $* $(if $(FORCE),--force)

runs: reproduce

book: setup
	$(VENV)/bin/jupyter-book build --all -W -n --keep-going .
	@echo "book: $(CURDIR)/_build/html/index.html"

custom: setup
	$(PY) -m pemn custom $(ARGS)

bench: setup
	$(PY) -m pemn.bench

bench-paper: setup
	$(PY) -m pemn.bench --paper

clean-book:
	rm -rf _build
