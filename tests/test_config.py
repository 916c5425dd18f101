"""Settings load once, type-check every variable, and refuse production without explicit secrets."""

from __future__ import annotations

import os
import stat

import pytest

from app.config import SettingsError, load_settings
from app.lib.crypto import generate_key


def test_embedded_defaults_generate_secrets_once_with_private_mode(tmp_path):
    first = load_settings({"DATA_DIR": str(tmp_path)}, dotenv=None)
    second = load_settings({"DATA_DIR": str(tmp_path)}, dotenv=None)
    assert first.jwt_secret == second.jwt_secret
    assert first.encryption_keys == second.encryption_keys
    assert stat.S_IMODE(os.stat(tmp_path / "secrets.json").st_mode) == 0o600
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    assert first.telegram_mode == "sandbox"
    assert first.clickhouse_dsn == f"chdb://{tmp_path / 'clickhouse'}"
    assert first.jwt_secret not in repr(first)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"APP_ENV": "production"}, "JWT_SECRET"),
        ({"APP_ENV": "production", "JWT_SECRET": "x" * 40}, "ENCRYPTION_KEYS"),
        ({"PORT": "eighty"}, "PORT"),
        ({"ENCRYPTION_KEYS": "not-a-key"}, "ENCRYPTION_KEYS"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"TELEGRAM_MODE": "telegram"}, "TELEGRAM_API_ID"),
        ({"LOG_SHIPPING": "kafka"}, "LOG_SHIPPING"),
        ({"REGISTRATION": "sometimes"}, "REGISTRATION"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.1/8"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "proxy.internal"}, "FORWARDED_ALLOW_IPS"),
    ],
)
def test_bad_settings_name_the_variable(tmp_path, env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings({"DATA_DIR": str(tmp_path), **env}, dotenv=None)


def test_production_with_explicit_secrets_and_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f'APP_ENV=production\nJWT_SECRET="{"s" * 40}"\n# comment\nENCRYPTION_KEYS={generate_key()}\n')
    settings = load_settings({"DATA_DIR": str(tmp_path / "d"), "PORT": "9001"}, dotenv=dotenv)
    assert settings.is_production
    assert settings.port == 9001
    assert not (tmp_path / "d" / "secrets.json").exists()


def test_dotenv_allows_inline_comments_export_and_quotes(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "PORT=8123  # the port\n"
        "export HOST=0.0.0.0\n"
        "JWT_ISSUER='issuer # not a comment'\n"
        'JWT_AUDIENCE="aud"   # quoted, then a comment\n'
        "LOG_LEVEL=\n"
        "MALFORMED LINE WITHOUT EQUALS\n"
    )
    settings = load_settings({"DATA_DIR": str(tmp_path / "d")}, dotenv=dotenv)
    assert settings.port == 8123
    assert settings.host == "0.0.0.0"
    assert settings.jwt_issuer == "issuer # not a comment"
    assert settings.jwt_audience == "aud"
    assert settings.log_level == "INFO"


def test_env_example_lists_every_setting():
    from dataclasses import fields
    from pathlib import Path

    from app.config import Settings

    example = Path(__file__).resolve().parents[1].joinpath("config", "env.example").read_text()
    listed = {line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")}
    assert {f.name.upper() for f in fields(Settings)} == listed


def test_readme_configuration_table_lists_every_setting():
    from dataclasses import fields
    from pathlib import Path

    from app.config import Settings

    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    missing = [f.name.upper() for f in fields(Settings) if f"`{f.name.upper()}`" not in readme]
    assert not missing, f"README configuration table lacks {missing}"


def test_registration_is_not_open_in_production_and_no_proxy_is_trusted_by_default(tmp_path):
    production = {
        "APP_ENV": "production",
        "JWT_SECRET": "x" * 40,
        "ENCRYPTION_KEYS": generate_key(),
        "DATA_DIR": str(tmp_path),
    }
    assert load_settings(production, dotenv=None).registration == "invite"
    assert load_settings({**production, "REGISTRATION": "closed"}, dotenv=None).registration == "closed"
    development = load_settings({"DATA_DIR": str(tmp_path)}, dotenv=None)
    assert development.registration == "open"
    assert development.forwarded_allow_ips == ()
    trusted = load_settings({"DATA_DIR": str(tmp_path), "FORWARDED_ALLOW_IPS": "10.0.0.0/8, 127.0.0.1"}, dotenv=None)
    assert trusted.forwarded_allow_ips == ("10.0.0.0/8", "127.0.0.1")
