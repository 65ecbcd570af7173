# The two commands of the README's quick start, and the pieces they are made of.
# Python >= 3.11 as `python3` is the only prerequisite; everything else is installed into .venv
# at the versions pinned in constraints.txt.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export BYTESPIKE_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test install install-test lint clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "bytespike needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Install and start the gateway on its embedded default (SQLite in ./var, simulated upstream).
run: install
	$(BIN)/bytespike serve

lint: install-test
	$(BIN)/ruff check bytespike tests bench
	$(BIN)/lint-imports

## Install everything and run the whole test suite (what .ci/run runs).
test: lint chromium
	$(BIN)/pytest

## The console's browser tests drive Debian's Chromium (never a browser Playwright downloads).
CHROMIUM ?= /usr/bin/chromium
.PHONY: chromium
chromium:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## Benchmark (bench/, DESIGN.md §7): gateway and load on separate cores; writes bench/results/*.json
## and regenerates docs/performance.md. `make bench BENCH_ARGS=--quick` for a short indicative run.
BENCH_ARGS ?=
.PHONY: bench
$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py $(BENCH_ARGS)
