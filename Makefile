# stagevep: set-up, demo and tests. `make demo` and `make test` do all the set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NXF_VERSION := 24.10.0
NXF_DIR := .nextflow-dist
DEMO_OUT ?= results/demo

.PHONY: all setup venv bedtools nextflow demo test test-unit lint synthetic clean

all: setup

setup: venv bedtools nextflow

# Python environment with the package (editable) and its test dependencies.
venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# bedtools (used by pybedtools) from Debian when it is missing.
bedtools:
	@command -v bedtools >/dev/null || { \
	  echo "installing bedtools from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bedtools; }

# Nextflow from Maven Central into $(NXF_DIR), launcher in the venv's bin/.
nextflow: $(BIN)/nextflow
$(BIN)/nextflow: scripts/install_nextflow.sh | $(BIN)/.installed
	bash scripts/install_nextflow.sh $(NXF_VERSION) $(CURDIR)/$(NXF_DIR) $(CURDIR)/$(BIN)

# The whole pipeline on the bundled synthetic data (CPU, tiny model).
demo: setup
	PATH=$(CURDIR)/$(BIN):$$PATH nextflow run main.nf -profile test --outdir $(DEMO_OUT)
	@echo ""
	@echo "Demo finished. Results are in $(DEMO_OUT)/: prepare/, train/, evaluate/, variants/, pipeline_info/."

test: setup lint
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests

lint: venv
	$(BIN)/ruff check stagevep bin tests

test-unit: venv bedtools
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests -m "not pipeline"

# Regenerate the bundled synthetic dataset (tests check that it reproduces byte for byte).
synthetic: venv
	$(BIN)/python bin/make_synthetic_dataset.py --out-dir assets/test_data --seed 1

clean:
	rm -rf work .nextflow .nextflow.log* results
