# Two commands do all the set-up: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU machines take the local CPU build of torch; a machine with an NVIDIA driver takes the registry's build.
TORCH_SPEC ?= $(if $(shell command -v nvidia-smi 2>/dev/null),torch,torch==2.13.0)
# peers and gpu (triton) too, so the side-by-side and Triton-interpreter tests run rather than skip
EXTRAS ?= test,data,io,tabular,symbolic,kmedoids,sindy,sphericart,fem,dist,peers,gpu
STAMP := $(VENV)/.basiskit-installed
DOCS_STAMP := $(VENV)/.basiskit-docs-installed
# `make docs RUNS=runs`: the gallery shows the newest run of each recipe (claims measured, plots)
RUNS ?=
PYTEST_ARGS ?=
export BASISKIT_PROGRESS ?= 1

.PHONY: demo test test-slow slow-durations test-all bench readme-table report setup docs clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-run the install only when the package metadata changes; torch only if the venv has none.
$(STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install "$(TORCH_SPEC)"
	@# keep the torch already installed: no extra may swap it for another build
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(VENV)/constraints.txt
	$(BIN)/python -m pip install -c $(VENV)/constraints.txt -e ".[$(EXTRAS)]"
	@touch $@

# The docs extra on top of the set-up, in its own stamp: `make test` does not need it.
$(DOCS_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -c $(VENV)/constraints.txt -e ".[docs]"
	@touch $@

demo: $(STAMP)
	$(BIN)/basiskit run tour

test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	BASISKIT_PROGRESS=0 $(BIN)/python -m pytest -q -n 2 -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP)
	BASISKIT_PROGRESS=0 $(BIN)/python -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder -m "slow" --durations=25 $(PYTEST_ARGS)

# the slow set again, writing each test's seconds to tests/slow_durations.json (its longest-first order)
slow-durations: $(STAMP)
	$(MAKE) test-slow PYTEST_ARGS="--durations-file=tests/slow_durations.json $(PYTEST_ARGS)"

test-all: $(STAMP)
	BASISKIT_PROGRESS=0 $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

report: $(STAMP)
	$(BIN)/basiskit report runs

# Regenerate the README's paper table from the registry and the runs recorded under docs/runs/ (RUNS=runs: your own).
readme-table: $(STAMP)
	$(BIN)/python tools/readme_table.py README.md $(or $(RUNS),docs/runs)

# The documentation site in site/ (open site/index.html): offline, strict (any warning fails the build).
docs: $(DOCS_STAMP)
	@if [ -n "$(RUNS)" ] && [ ! -d "$(RUNS)" ]; then echo "make docs: RUNS=$(RUNS) is not a folder of runs" >&2; exit 2; fi
	DOCS_RUNS="$(RUNS)" NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache
