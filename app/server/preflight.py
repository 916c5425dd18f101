"""What an operator should hear before the service runs: ready `.env` lines, and passwords left at defaults."""

from __future__ import annotations

import secrets
from urllib.parse import unquote, urlsplit

from app.config import Settings
from app.lib.crypto import generate_key

# The fallbacks of docker-compose.yml (`${POSTGRES_PASSWORD:-app}`, `${CLICKHOUSE_PASSWORD:-logs}`) and the
# passwords every scanner tries first.
DEFAULT_PASSWORDS = frozenset({"app", "logs", "postgres", "password", "changeme", "clickhouse", "default"})
SANDBOX_KEY_PATH = "/app/sandbox-keys/sandbox.pub.pem"


def compose_env_lines(*, sandbox: bool = False) -> list[str]:
    """Fresh secrets as `.env` lines for `docker compose`; `sandbox` adds the lines of the offline sandbox."""
    lines = [
        f"JWT_SECRET={secrets.token_urlsafe(48)}",
        f"ENCRYPTION_KEYS={generate_key()}",
        f"METRICS_TOKEN={secrets.token_urlsafe(32)}",
        f"POSTGRES_PASSWORD={secrets.token_urlsafe(24)}",
        f"CLICKHOUSE_PASSWORD={secrets.token_urlsafe(24)}",
    ]
    if sandbox:
        lines += ["TELEGRAM_MODE=sandbox", "TELEGRAM_DC=sandbox:4430", f"TELEGRAM_EXTRA_RSA_KEY={SANDBOX_KEY_PATH}"]
    else:
        lines += ["TELEGRAM_API_ID=", "TELEGRAM_API_HASH="]
    return lines


def _password(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    password = urlsplit(url).password
    return unquote(password) if password is not None else None


def default_password_warnings(settings: Settings) -> list[str]:
    """One sentence per database whose password is a well-known default (only production is warned)."""
    if not settings.is_production:
        return []
    warnings = []
    for name, variable, url in (
        ("PostgreSQL", "POSTGRES_PASSWORD", settings.database_url),
        ("ClickHouse", "CLICKHOUSE_PASSWORD", settings.clickhouse_dsn),
    ):
        password = _password(url)
        if password is not None and password.lower() in DEFAULT_PASSWORDS:
            warnings.append(
                f"the {name} password is the default {password!r}: set {variable} "
                "(`python -m app keys generate --env` prints one)"
            )
    return warnings
