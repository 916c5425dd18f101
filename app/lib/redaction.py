"""Secret redaction for log lines: sensitive keys anywhere in a structure, and secret-shaped values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "***"

# Exact key names (normalised: lower case, "-" -> "_") that always hold secrets.
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "code",
        "phone_code",
        "phone_code_hash",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "secret",
        "session",
        "session_string",
        "string_session",
        "api_hash",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "key",
        "keys",
        "otp",
    }
)
# Words that mark a secret wherever they appear in a key ("new_password", "webhook_secret", "x_auth_token").
_SENSITIVE_PARTS = ("password", "secret", "token", "cookie", "authorization", "session_string", "api_hash")
# Suffixes for compound names ("encryption_keys", "api_key", "temp_session") without catching "monkey".
_SENSITIVE_SUFFIXES = ("_key", "_keys", "_session")

# Telethon StringSession: version "1" + urlsafe base64 of dc id, address, port and a 256-byte auth key.
_STRING_SESSION = r"(?<![A-Za-z0-9_\-+/])1[A-Za-z0-9_\-+/]{299,}={0,2}"
_JWT = r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"
_BEARER = r"(?i:bearer)\s+[A-Za-z0-9_\-.~+/=]{8,}"
_SECRET_VALUE = re.compile(f"{_JWT}|{_BEARER}|{_STRING_SESSION}")
_MAX_DEPTH = 20


def is_sensitive_key(key: str) -> bool:
    """Whether a mapping key names a secret (case-insensitive, "-" and "_" alike)."""
    name = key.lower().replace("-", "_")
    if name in SENSITIVE_KEYS:
        return True
    return any(part in name for part in _SENSITIVE_PARTS) or name.endswith(_SENSITIVE_SUFFIXES)


def _might_hold_secret(text: str) -> bool:
    # Cheap pre-check so the common short, harmless string skips the regex entirely.
    return len(text) >= 300 or "eyJ" in text or "earer" in text or "EARER" in text


def redact_text(text: str) -> str:
    """Replace JWTs, bearer credentials and Telethon StringSessions inside a string with "***"."""
    if not _might_hold_secret(text):
        return text
    return _SECRET_VALUE.sub(REDACTED, text)


def redact(value: Any, _depth: int = 0) -> Any:
    """Return a copy of a JSON-like value with secret keys and secret-shaped strings replaced by "***"."""
    if isinstance(value, str):
        return redact_text(value)
    if _depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_sensitive_key(key) else redact(item, _depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, _depth + 1) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED
    return value
