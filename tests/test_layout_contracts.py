"""The layout's import rules (pyproject's `[tool.importlinter]`) hold, and they would catch a break.

Domains never import the server (it wires them), the Telegram gateway never imports a domain, shared libraries
import neither, and channels build on messages which build on profiles, never back.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_python_directory_is_a_package_the_contracts_see() -> None:
    """A directory without `__init__.py` is a namespace package, which the import graph leaves out unchecked."""
    missing = sorted(
        str(directory.relative_to(ROOT))
        for directory in {path.parent for path in (ROOT / "app").rglob("*.py")}
        if not (directory / "__init__.py").exists()
    )
    assert missing == []


def test_no_domain_names_the_server() -> None:
    """Not even in a comment: a domain is wired by app/server and does not know it."""
    named = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "app" / "domain").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "app.server" in line or "app/server" in line or "AppContext" in line
    ]
    assert named == []


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("app/domain/webhooks/signing.py", "import app.server.context"),
        ("app/telegram/pacing.py", "import app.domain.events.types"),
        ("app/domain/profiles/limits.py", "import app.domain.channels.failover"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__", "web"))
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "1 broken" in result.stdout, result.stdout
