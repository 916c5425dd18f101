"""The sandbox against a client written from the MTProto spec: every handshake agrees on the spec's 256-byte key
(leading zero bytes included), and every transport works, with the padding and obfuscation the spec allows."""

from __future__ import annotations

import itertools

import pytest

from app.sandbox import SandboxDC

from .rawclient import Framing, RawClient


async def test_a_key_with_a_leading_zero_byte_is_agreed_on(dc: SandboxDC) -> None:
    async with RawClient(dc.port, dc.public_key_pem, Framing("intermediate")) as client:
        key = await client.handshake(leading_zero=True)
        assert len(key) == 256
        assert key[0] == 0
        assert dc.state.auth_keys[client.key_id].key == key
        await client.ping()


async def test_many_fresh_handshakes_all_succeed_first_time(dc: SandboxDC) -> None:
    """About one in 256 keys starts with a zero byte (the test above makes one on purpose); none may be refused."""
    kinds = itertools.cycle([("intermediate", False), ("abridged", True), ("padded", False), ("full", False)])
    keys = set()
    for kind, obfuscated in itertools.islice(kinds, 160):
        async with RawClient(dc.port, dc.public_key_pem, Framing(kind, obfuscated=obfuscated)) as client:
            keys.add(await client.handshake())
    assert len(keys) == 160
    assert dc.control.counters.handshakes == 160


async def test_padded_intermediate_accepts_every_padding_from_0_to_15(dc: SandboxDC) -> None:
    framing = Framing("padded", next_padding=[15, 13, 7])  # the handshake's three messages, padded oddly
    async with RawClient(dc.port, dc.public_key_pem, framing) as client:
        await client.handshake()
        for padding in range(16):
            framing.next_padding = [padding]
            await client.ping()


@pytest.mark.parametrize("kind", ["abridged", "intermediate", "padded"])
async def test_obfuscated2_with_and_without_an_mtproxy_secret(dc: SandboxDC, kind: str) -> None:
    async with RawClient(dc.port, dc.public_key_pem, Framing(kind, obfuscated=True)) as client:
        await client.handshake()
        await client.ping()
    secret = bytes(range(16))
    dc.proxy_secrets.append(secret)
    async with RawClient(dc.port, dc.public_key_pem, Framing(kind, obfuscated=True, secret=secret)) as client:
        await client.handshake()
        await client.ping()
