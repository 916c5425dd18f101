"""Versioned encryption: the first key encrypts, every key decrypts, rotation re-encrypts."""

from __future__ import annotations

import pytest

from app.lib.crypto import DecryptionError, SecretBox, generate_key


def test_round_trip_and_no_plaintext():
    box = SecretBox([generate_key()])
    token = box.encrypt("1BVtsOKABu0very-secret-session")
    assert "very-secret" not in token
    assert box.decrypt(token) == "1BVtsOKABu0very-secret-session"


def test_rotation_keeps_old_secrets_readable_until_the_old_key_is_removed():
    old, new = generate_key(), generate_key()
    token = SecretBox([old]).encrypt("s3cret")
    rotated_box = SecretBox([new, old])
    assert rotated_box.decrypt(token) == "s3cret"
    rotated = rotated_box.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == "s3cret"
    with pytest.raises(DecryptionError):
        SecretBox([new]).decrypt(token)


def test_repr_hides_keys():
    key = generate_key()
    assert key not in repr(SecretBox([key]))
