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

.PHONY: install run test test-future lint typecheck unit bench browser clean

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

# The tests whose data carries dates (logs and their ClickHouse TTLs, events and their retention, archives' time
# windows) run 400 days ahead under Debian's faketime: test data relative to now keeps them green on any day.
FUTURE_TESTS := tests/lib tests/domain/logs tests/domain/events tests/domain/archives tests/test_printed_log_contract.py \
	tests/test_vector_contract.py tests/server/test_housekeeping.py
# tests/future/clockwait_shim.c completes Debian's libfaketime 0.9.10 for CPython's lock timeouts (see the file).
CLOCKWAIT_SHIM := .tools/clockwait_shim.so
$(CLOCKWAIT_SHIM): tests/future/clockwait_shim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -o $@ $< -ldl
test-future: install $(CLOCKWAIT_SHIM)
	@bash .ci/install-faketime
	LD_PRELOAD=$(abspath $(CLOCKWAIT_SHIM)) faketime '+400 days' $(VENV)/bin/pytest $(FUTURE_TESTS)

bench: install
	$(PY) -m tests.bench

clean:
	rm -rf .tools $(VENV) .mypy_cache .ruff_cache
