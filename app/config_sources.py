"""Where settings come from: the environment (and `.env`) read variable by variable, and the embedded secrets.

`app.config.load_settings` reads every variable through `EnvReader`, which names the variable in each error. In
the embedded default the JWT secret and the encryption key are generated once into `DATA_DIR/secrets.json`
(mode 0600) and reused (`embedded_secrets`).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from dotenv import dotenv_values


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvReader:
    """Reads typed values from a mapping; every error names the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value}")
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")

    def numbers(self, name: str, default: tuple[float, ...], *, minimum: float = 0.0) -> tuple[float, ...]:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            values = tuple(float(part) for part in raw.split(",") if part.strip())
        except ValueError:
            raise SettingsError(f"{name} must be comma-separated numbers, got {raw!r}") from None
        if not values or min(values) < minimum:
            raise SettingsError(f"{name} must list numbers of at least {minimum}, got {raw!r}")
        return values

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = (self.text(name) or default).lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file with python-dotenv: quotes, `export`, `#` comments (also after a value)."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path, interpolate=False).items() if value is not None}


def embedded_secrets(data_dir: Path) -> dict[str, Any]:
    """Generate the development JWT secret and encryption key once, then reuse them."""
    path = data_dir / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    generated = {"jwt_secret": secrets.token_urlsafe(48), "encryption_key": Fernet.generate_key().decode()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(generated, handle)
    return generated


def embedded_encryption_keys(generated: Mapping[str, object]) -> tuple[str, ...]:
    """Keys of the embedded secrets file, newest first (older files hold a single `encryption_key`)."""
    keys = generated.get("encryption_keys") or [generated["encryption_key"]]
    if not isinstance(keys, list):
        raise SettingsError("DATA_DIR/secrets.json is malformed: encryption_keys must be a list")
    return tuple(str(key) for key in keys)


def prepend_embedded_key(data_dir: Path, key: str) -> tuple[str, ...]:
    """Make `key` the encrypting key of the embedded secrets file (older keys keep decrypting)."""
    path = data_dir / "secrets.json"
    generated = embedded_secrets(data_dir)
    keys = (key, *embedded_encryption_keys(generated))
    generated = {"jwt_secret": generated["jwt_secret"], "encryption_keys": list(keys)}
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(generated, handle)
    os.replace(temporary, path)
    return keys


def validate_fernet_keys(keys: tuple[str, ...]) -> None:
    for index, key in enumerate(keys):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise SettingsError(
                f"ENCRYPTION_KEYS entry {index + 1} is not a valid Fernet key "
                "(32 url-safe base64 bytes; create one with `python -m app keys generate`)"
            ) from None
