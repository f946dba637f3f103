# sanquan: two commands set everything up (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= $(or $(SANQUAN_PORT),5000)
WORKERS ?= 2
THREADS ?= 16

.PHONY: run test test-citus lint install install-dev bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: create .venv, install, migrate, load the demo county if empty, serve on 127.0.0.1:$(PORT)
run: install
	$(BIN)/sanquan prepare
	exec $(BIN)/gunicorn --config gunicorn_conf.py --workers $(WORKERS) --threads $(THREADS) --bind 127.0.0.1:$(PORT) wsgi:app

## make test: install the dev extra and run the whole suite (PostGIS half needs SANQUAN_TEST_DATABASE_URL)
test: install-dev
	$(BIN)/python -m pytest -n 2 -q

## make test-citus: the PostgreSQL half of the suite on a local Citus cluster (a coordinator and two workers;
## Citus is built from vendor/citus when missing), then, alone, the online rebalance onto a third worker; the
## cluster is stopped and removed afterwards, also when the tests fail
test-citus: install-dev
	.ci/citus-cluster up || { .ci/citus-cluster down; exit 1; }
	export SANQUAN_TEST_DATABASE_URL="$$(.ci/citus-cluster url)"; \
	  $(BIN)/python -m pytest -n 2 -q -m "postgis and not rebalance"; suite=$$?; \
	  SANQUAN_CITUS_CLUSTER=$(CURDIR)/.ci/citus-cluster $(BIN)/python -m pytest -q -s -m rebalance; grow=$$?; \
	  .ci/citus-cluster down; [ $$suite = 0 ] && [ $$grow = 0 ]

## make lint: style (ruff), types (mypy), the package layers (import-linter) and the import rules it cannot see
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_architecture.py

bench: install-dev
	$(BIN)/python -m bench.run_all

## make screenshots: the README's pictures of the console (docs/images/console/), taken by the browser
## journeys on SQLite in Debian's Chromium
screenshots: install-dev
	SANQUAN_README_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser -k sqlite

clean:
	rm -rf $(VENV) instance .pytest_cache
