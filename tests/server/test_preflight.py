"""Passwords left at the compose defaults are named before the service runs (production only)."""

from __future__ import annotations

from app.config import load_settings
from app.lib.crypto import generate_key
from app.server.preflight import default_password_warnings


def _production(tmp_path, **env: str):
    return load_settings(
        {"APP_ENV": "production", "DATA_DIR": str(tmp_path), "JWT_SECRET": "s" * 40,
         "ENCRYPTION_KEYS": generate_key(), "LOG_SHIPPING": "stdout", **env},
        dotenv=None,
    )  # fmt: skip


def test_the_compose_default_passwords_are_warned_about(tmp_path):
    settings = _production(
        tmp_path,
        DATABASE_URL="postgresql+asyncpg://app:app@postgres:5432/app",
        CLICKHOUSE_DSN="http://logs:logs@clickhouse:8123/logs",
    )
    warnings = default_password_warnings(settings)
    assert len(warnings) == 2
    assert "POSTGRES_PASSWORD" in warnings[0]
    assert "CLICKHOUSE_PASSWORD" in warnings[1]


def test_generated_passwords_and_development_are_quiet(tmp_path):
    strong = _production(
        tmp_path,
        DATABASE_URL="postgresql+asyncpg://app:Zq8-pL2x@postgres:5432/app",
        CLICKHOUSE_DSN="http://logs:Yt5_kW9r@clickhouse:8123/logs",
    )
    assert default_password_warnings(strong) == []
    development = load_settings({"DATA_DIR": str(tmp_path), "CLICKHOUSE_DSN": "http://logs:logs@x:8123/l"}, dotenv=None)
    assert default_password_warnings(development) == []
