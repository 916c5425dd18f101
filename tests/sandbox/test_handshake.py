"""Auth-key exchange: 100 fresh handshakes, every TCP transport, and the RSA_PAD scheme Telethon does not use."""

from __future__ import annotations

import collections
import logging
import os
from hashlib import sha256

import pytest
from telethon.crypto import AES
from telethon.errors import SecurityError
from telethon.network import (
    ConnectionTcpAbridged,
    ConnectionTcpFull,
    ConnectionTcpIntermediate,
    ConnectionTcpMTProxyRandomizedIntermediate,
    ConnectionTcpObfuscated,
    MTProtoPlainSender,
    authenticator,
)
from telethon.network.connection.tcpintermediate import ConnectionTcpIntermediate as _Intermediate
from telethon.network.connection.tcpintermediate import RandomizedIntermediatePacketCodec
from telethon.tl import functions, types

from app.sandbox import SandboxDC, keys
from app.sandbox.handshake import PQ, Handshake, P, Q

LOGGERS = collections.defaultdict(lambda: logging.getLogger("handshake-test"))


async def _fresh_key(port: int) -> tuple[object, int]:
    """One handshake on a new TCP connection, retried like Telethon's own `_try_gen_auth_key`."""
    retries = 0
    connection = ConnectionTcpFull("127.0.0.1", port, 2, loggers=LOGGERS)
    await connection.connect(timeout=5)
    try:
        while True:
            try:
                key, _offset = await authenticator.do_authentication(MTProtoPlainSender(connection, loggers=LOGGERS))
                return key, retries
            except (SecurityError, AssertionError):
                retries += 1
                assert retries < 5
    finally:
        await connection.disconnect()


async def test_one_hundred_fresh_handshakes(dc: SandboxDC) -> None:
    retries = 0
    for _ in range(100):
        key, retried = await _fresh_key(dc.port)
        retries += retried
        stored = dc.state.auth_keys[key.key_id]  # type: ignore[attr-defined]
        assert stored.key == key.key  # type: ignore[attr-defined]
    # Telethon drops the leading zero bytes of the 1-in-256 keys that have them, so its own new_nonce_hash check
    # fails and it starts over, as against Telegram (tests/sandbox/test_raw_client.py agrees on those keys). The
    # server completed each of those handshakes too, so it counts them.
    assert dc.control.counters.handshakes == 100 + retries
    assert retries <= 5


class _PaddedCodec(RandomizedIntermediatePacketCodec):
    tag = b"\xdd\xdd\xdd\xdd"  # Telethon only uses this codec inside obfuscation, so it has no plain tag


class ConnectionTcpPaddedIntermediate(_Intermediate):
    """Telethon's padded intermediate codec (0-3 bytes of padding) over plain TCP."""

    packet_codec = _PaddedCodec


@pytest.mark.parametrize(
    "connection",
    [
        ConnectionTcpFull,
        ConnectionTcpIntermediate,
        ConnectionTcpPaddedIntermediate,
        ConnectionTcpAbridged,
        ConnectionTcpObfuscated,
    ],
)
async def test_every_tcp_transport(dc: SandboxDC, make_client, alice, connection) -> None:
    client = make_client(connection=connection)
    await client.connect()
    assert await client.get_me() is None  # not logged in, but the encrypted session works
    logged_in = make_client(dc.control.login_session(alice), connection=connection)
    await logged_in.connect()
    assert (await logged_in.get_me()).id == alice.id


async def test_mtproxy_with_a_dd_secret(dc: SandboxDC, make_client, alice) -> None:
    """Behind an MTProxy: obfuscated2 keyed with the proxy's secret, padded intermediate inside ("dd" secret)."""
    secret = os.urandom(16)
    dc.proxy_secrets.append(secret)
    proxy = ("127.0.0.1", dc.port, "dd" + secret.hex())
    client = make_client(
        dc.control.login_session(alice), connection=ConnectionTcpMTProxyRandomizedIntermediate, proxy=proxy
    )
    await client.connect()
    assert (await client.get_me()).id == alice.id


def _rsa_pad_encrypt(data: bytes) -> bytes:
    """Client side of RSA_PAD (https://core.telegram.org/mtproto/auth_key#presenting-proof-of-work-server-authentication)."""
    key = keys.PRIVATE_KEY
    while True:
        data_with_padding = data + os.urandom(192 - len(data))
        temp_key = os.urandom(32)
        data_with_hash = data_with_padding[::-1] + sha256(temp_key + data_with_padding).digest()
        aes_encrypted = AES.encrypt_ige(data_with_hash, temp_key, bytes(32))
        temp_key_xor = bytes(a ^ b for a, b in zip(temp_key, sha256(aes_encrypted).digest(), strict=True))
        value = int.from_bytes(temp_key_xor + aes_encrypted, "big")
        if value < key.n:
            return pow(value, key.e, key.n).to_bytes(256, "big")


def test_rsa_pad_inner_data_is_accepted() -> None:
    handshake = Handshake()
    nonce = int.from_bytes(os.urandom(16), "big", signed=True)
    res_pq = handshake.handle(functions.ReqPqMultiRequest(nonce))[0]
    assert isinstance(res_pq, types.ResPQ)
    inner = types.PQInnerDataDc(
        pq=res_pq.pq,
        p=P.to_bytes(4, "big"),
        q=Q.to_bytes(4, "big"),
        nonce=nonce,
        server_nonce=res_pq.server_nonce,
        new_nonce=int.from_bytes(os.urandom(32), "big", signed=True),
        dc=2,
    )
    request = functions.ReqDHParamsRequest(
        nonce=nonce,
        server_nonce=res_pq.server_nonce,
        p=P.to_bytes(4, "big"),
        q=Q.to_bytes(4, "big"),
        public_key_fingerprint=keys.FINGERPRINT,
        encrypted_data=_rsa_pad_encrypt(bytes(inner)),
    )
    answer, new_key = handshake.handle(request)
    assert isinstance(answer, types.ServerDHParamsOk)
    assert new_key is None
    assert int.from_bytes(res_pq.pq, "big") == PQ
