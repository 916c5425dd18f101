"""TokenCodec remembers verified tokens; expiry, type and forgery are still refused."""

from __future__ import annotations

import time

import pytest

from app.lib.security import LEEWAY_S, InvalidToken, TokenCodec

SECRET = "s" * 40


def codec() -> TokenCodec:
    return TokenCodec(SECRET, "issuer", "audience")


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    tokens = codec()
    # Already past its expiry but within the leeway: accepted now, and remembered.
    token, claims = tokens.encode(subject="u", token_type="access", ttl_s=-(LEEWAY_S - 1), family="f", role="user")
    assert tokens.decode(token, expected_type="access") == claims
    assert tokens.decode(token, expected_type="access") is tokens.decode(token, expected_type="access")
    while time.time() <= claims.expires_at + LEEWAY_S:  # the clock passing the leeway, not a fixed sleep
        time.sleep(0.05)
    with pytest.raises(InvalidToken, match="token has expired"):
        tokens.decode(token, expected_type="access")


def test_a_remembered_token_of_another_type_is_refused() -> None:
    tokens = codec()
    refresh, _ = tokens.encode(subject="u", token_type="refresh", ttl_s=60, family="f", role="user")
    tokens.decode(refresh, expected_type="refresh")
    with pytest.raises(InvalidToken, match="expected an access token"):
        tokens.decode(refresh, expected_type="access")


def test_a_token_signed_with_another_secret_is_never_remembered() -> None:
    forged, _ = TokenCodec("x" * 40, "issuer", "audience").encode(
        subject="u", token_type="access", ttl_s=60, family="f", role="admin"
    )
    tokens = codec()
    for _ in range(2):
        with pytest.raises(InvalidToken, match="invalid token"):
            tokens.decode(forged, expected_type="access")
