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

.PHONY: install serve build test test-slow test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Fetch the manifest's sources (and/or index DOCS=path ...), then serve, re-fetching every
# REFRESH_EVERY (off: never) and rebuilding when DOCS change. Offline and without DOCS the
# fetch fails; the server still starts and says what to do.
serve: install
	$(BIN)/stemcell-qa refresh --data-dir $(DATA) --index $(INDEX) $(foreach d,$(DOCS),--docs $(d)) \
	  || echo "make serve: no index could be built; the server starts and waits for one (see README)"
	$(BIN)/stemcell-qa serve --data-dir $(DATA) --index $(INDEX) --host $(HOST) --port $(PORT) --allow-empty \
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

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
