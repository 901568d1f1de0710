# firstbell — every target creates the virtual environment first if it is missing, so on a fresh
# machine `make rehearse` and `make test` are each one command.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= cps
SCALE   ?= 1
SEED    ?= 42

.DEFAULT_GOAL := help
.PHONY: help setup test rehearse bench lint clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install firstbell with its test tools (idempotent)

test: $(STAMP) ## Run the test suite (real PostgreSQL; needs initdb/pg_ctl on PATH)
	$(BIN)/pytest -n 2 --dist worksteal --durations=10

rehearse: $(STAMP) ## Rehearse on the embedded default (PROFILE=cps SCALE=1 SEED=42)
	@# Monitoring is part of the rehearsal (the report's saturation comes from it): bring
	@# Debian's Prometheus when we may, else say in one line how to get it.
	@command -v prometheus >/dev/null || { [ "$$(id -u)" = 0 ] \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends prometheus >/dev/null) \
	  || echo "no prometheus: the report will lack saturation data (sudo apt-get install prometheus)"; }
	$(BIN)/firstbell rehearse --profile $(PROFILE) --scale $(SCALE) --seed $(SEED)

bench: $(STAMP) ## Run the benchmarks and print side-by-side ratios
	$(BIN)/python benchmarks/bench_district.py
	$(BIN)/python benchmarks/bench_pgload.py --runs 3
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/bench_staging.py
	$(BIN)/python benchmarks/bench_oneroster.py
	$(BIN)/python benchmarks/bench_engine.py
	PYTHONPATH=. $(BIN)/python benchmarks/bench_targetfile.py
	PYTHONPATH=. $(BIN)/python benchmarks/bench_activity.py

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

clean: ## Remove the venv, caches and generated state
	rm -rf $(VENV) .firstbell .pytest_cache .mypy_cache .ruff_cache *.egg-info
