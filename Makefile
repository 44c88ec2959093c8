# Set-up and everyday commands. `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data
INDEX  ?= $(DATA)/index
DOCS   ?=
REFRESH_EVERY ?= 24h
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 1
# Where the CPU-only build of torch comes from (the default index's Linux torch is the multi-GB
# CUDA build). Used for the torch step only, and only when reachable; `make install TORCH_INDEX=`
# takes torch from the default index (or your pip configuration) instead.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN   := $(shell sed -n 's/^ *"\(torch==[^"]*\)".*/\1/p' pyproject.toml)
REACHABLE   := import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=15)

.PHONY: install serve build test test-slow test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@if [ -z "$(TORCH_INDEX)" ]; then :; \
	elif $(BIN)/python -c '$(REACHABLE)' '$(TORCH_INDEX)' 2>/dev/null; then \
	  echo "make install: $(TORCH_PIN) (CPU build) from $(TORCH_INDEX)"; \
	  $(BIN)/pip install --quiet --no-deps --extra-index-url '$(TORCH_INDEX)' '$(TORCH_PIN)'; \
	else \
	  echo "make install: $(TORCH_INDEX) is not reachable; torch comes from the default index"; \
	fi
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Fetch the manifest's sources (and/or index DOCS=path ...), then serve, re-fetching every
# REFRESH_EVERY (off: never) and rebuilding when DOCS change. Offline and without DOCS the
# fetch fails; the server still starts and says what to do.
serve: install
	$(BIN)/stemcell-qa refresh --data-dir $(DATA) --index $(INDEX) $(foreach d,$(DOCS),--docs $(d)) \
	  || echo "make serve: refresh reported a problem (above); the server starts with the index last published, or waits for one (see README)"
	$(BIN)/stemcell-qa serve --data-dir $(DATA) --index $(INDEX) --host $(HOST) --port $(PORT) --workers $(WORKERS) --allow-empty \
	  $(foreach d,$(DOCS),--docs $(d)) $(if $(DOCS),--watch) --refresh-every $(REFRESH_EVERY)

build: install
	$(BIN)/stemcell-qa build --data-dir $(DATA) --index $(INDEX) $(foreach d,$(DOCS),--docs $(d))

test: install
	$(BIN)/pytest

test-slow: install
	$(BIN)/pytest -m slow

test-all: install
	$(BIN)/pytest -m "slow or not slow"

lint: install
	$(BIN)/ruff check assistant corpus index web tests bench
	$(BIN)/ruff format --check assistant corpus index web tests bench
	$(BIN)/mypy

# Every benchmark in one run; RESULTS.md from bench/results/*.json. BENCH_SIZE=quick (meant
# to fit ~20 min once bench/cache/ holds the indexes) or full (larger samples). The first run
# builds the indexes into bench/cache/ (see bench/indexes.py). txtai, the peer, is installed
# here only (the `bench` extra); pyproject.toml pins torch, so it is never upgraded.
BENCH_SIZE ?= quick
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	BENCH_SIZE=$(BENCH_SIZE) $(BIN)/python -m bench.run_all --size $(BENCH_SIZE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
