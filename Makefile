# stagevep: set-up, demo and tests. `make demo` and `make test` do all the set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NXF_VERSION := 24.10.0
NXF_DIR := .nextflow-dist
DEMO_OUT ?= results/demo
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

.PHONY: all setup venv bedtools bcftools chromium nextflow demo test test-container test-unit lint synthetic container container-tools clean

all: setup

setup: venv bedtools bcftools nextflow

# Python environment with the package (editable) and its test dependencies, at the container's pinned versions.
venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml containers/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint containers/constraints.txt -e '.[test]'
	touch $@

# bedtools (used by pybedtools) from Debian when it is missing.
bedtools:
	@command -v bedtools >/dev/null || { \
	  echo "installing bedtools from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bedtools; }

# bcftools (the annotated-VCF tests read scores.vcf.gz with it) from Debian when it is missing.
bcftools:
	@command -v bcftools >/dev/null || { \
	  echo "installing bcftools from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bcftools; }

# Headless Chromium (Debian) for the report test, when no Chromium is on the PATH.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  echo "installing chromium from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

# Nextflow from Maven Central into $(NXF_DIR), launcher in the venv's bin/.
nextflow: $(BIN)/nextflow
$(BIN)/nextflow: scripts/install_nextflow.sh | $(BIN)/.installed
	bash scripts/install_nextflow.sh $(NXF_VERSION) $(CURDIR)/$(NXF_DIR) $(CURDIR)/$(BIN)

# The whole pipeline on the bundled synthetic data (CPU, tiny model).
demo: setup
	PATH=$(CURDIR)/$(BIN):$$PATH nextflow run main.nf -profile test --outdir $(DEMO_OUT)
	@echo ""
	@echo "Demo finished. Results are in $(DEMO_OUT)/: prepare/, train/, evaluate/, variants/, pipeline_info/; open $(DEMO_OUT)/report/report.html first."

# Every test: unit tests, real Nextflow runs and the pipeline inside its container image (built when absent)
test: setup chromium container-tools lint
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests

# Only the container tests (part of `make test`): builds stagevep:$(VERSION) with podman/buildah when absent,
# then -profile podman,test end to end (tests/test_pipeline_container.py; 11 min with the build from nothing).
test-container: setup container-tools
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -m container tests

# nf-core's schema lint offline (no version check, no plugin downloads); it reads nextflow.config as well
lint: venv nextflow
	$(BIN)/ruff check stagevep bin tests
	$(BIN)/lint-imports
	PATH=$(CURDIR)/$(BIN):$$PATH NFCORE_NO_VERSION_CHECK=1 NXF_OFFLINE=true \
	  $(BIN)/nf-core pipelines schema lint nextflow_schema.json

test-unit: venv bedtools chromium
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests -m "not pipeline"

# Regenerate the bundled synthetic dataset (tests check that it reproduces byte for byte).
synthetic: venv
	$(BIN)/python bin/make_synthetic_dataset.py --out-dir assets/test_data --seed 1

# The container image stagevep:$(VERSION) from containers/Dockerfile: docker build where a Docker engine answers,
# otherwise mmdebstrap + podman/buildah (no registry needed); CONTAINER_ENGINE=docker|podman chooses. See
# containers/build.sh and docs/usage.md "Containers"; then containers/stagevep.def for Apptainer.
container:
	bash containers/build.sh

# podman, buildah (runc) and mmdebstrap from Debian when missing: the podman build of the image and the
# in-container pipeline test (tests/test_pipeline_container.py) use them.
container-tools:
	@command -v podman >/dev/null && command -v buildah >/dev/null && command -v mmdebstrap >/dev/null \
	  && command -v runc >/dev/null || { \
	  echo "installing podman, buildah, runc and mmdebstrap from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq podman buildah runc mmdebstrap; }

clean:
	rm -rf work .nextflow .nextflow.log* results
