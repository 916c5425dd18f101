"""Versioned authenticated encryption for secrets at rest (MultiFernet with key rotation).

The first key encrypts; every key decrypts. Rotation prepends a new key and re-encrypts each stored secret,
after which old keys can be removed from `ENCRYPTION_KEYS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


class SecretBox:
    """Encrypts and decrypts short secrets; its repr never shows key material."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self.key_count = len(keys)

    def __repr__(self) -> str:
        return f"SecretBox(keys=***, key_count={self.key_count})"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError("secret cannot be decrypted with the configured ENCRYPTION_KEYS") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError("secret cannot be decrypted with the configured ENCRYPTION_KEYS") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
