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

.PHONY: install install-dev run test test-future lint typecheck unit bench browser clean

$(UV):
	@bash .ci/bootstrap-uv $(PYTHON) $(UV_VERSION)

# `make install` installs what the service runs: the locked runtime dependencies with exactly the flags of the
# production image (Dockerfile, checked by tests/test_packaging.py), plus the embedded ClickHouse engine (the
# `embedded` group), which the image leaves out. `make install-dev` adds the dev group (tests, linters, browsers'
# driver) for `make test`. `--inexact` keeps a developer's dev tools when `make run` follows `make test`.
# Bytecode is compiled at install: every app, worker and sandbox process then starts in seconds, also where
# PYTHONDONTWRITEBYTECODE keeps Python from caching what it compiles.
RUNTIME_SYNC := sync --frozen --no-dev --compile-bytecode
$(VENV)/.synced-runtime: $(UV) pyproject.toml uv.lock
	$(UV) $(RUNTIME_SYNC) --group embedded --inexact
	@touch $@

$(VENV)/.synced-dev: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	@touch $@ $(VENV)/.synced-runtime

install: $(VENV)/.synced-runtime

install-dev: $(VENV)/.synced-dev

run: install
	$(PY) -m app migrate
	$(PY) -m app serve

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy app

# The suite waits on sockets, processes and the sandbox more than it computes: three processes keep both cores busy.
TEST_WORKERS ?= 3
unit: install-dev
	$(VENV)/bin/pytest -n $(TEST_WORKERS)

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
test-future: install-dev $(CLOCKWAIT_SHIM)
	@bash .ci/install-faketime
	LD_PRELOAD=$(abspath $(CLOCKWAIT_SHIM)) faketime '+400 days' $(VENV)/bin/pytest $(FUTURE_TESTS)

# The HTTP benchmarks load the service with Debian's wrk (compiled, so it measures the server, not itself);
# without it (no root, no apt-get) they print why and skip.
bench: install-dev
	@bash .ci/install-wrk
	$(PY) -m tests.bench

clean:
	rm -rf .tools $(VENV) .mypy_cache .ruff_cache
