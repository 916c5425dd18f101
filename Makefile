# Two commands on a fresh machine: `make run` and `make test`. Both install what they need into the
# project (uv in .tools/, the locked dependencies in .venv/); nothing needs root or Docker.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= ./data
export PORT DATA_DIR

.PHONY: install run test lint typecheck unit bench browser clean

$(UV):
	@bash .ci/bootstrap-uv $(PYTHON) $(UV_VERSION)

# Bytecode is compiled at install: every app, worker and sandbox process then starts in seconds, also where
# PYTHONDONTWRITEBYTECODE keeps Python from caching what it compiles.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	@touch $@

install: $(VENV)/.synced

run: install
	$(PY) -m app migrate
	$(PY) -m app serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy app

unit: install
	$(VENV)/bin/pytest

browser:
	@bash .ci/install-browser

test: lint typecheck browser unit

bench: install
	$(PY) -m tests.bench

clean:
	rm -rf .tools $(VENV) .mypy_cache .ruff_cache
