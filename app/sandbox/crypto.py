"""MTProto 2.0 message encryption, server side (client->server uses x=0, server->client x=8)."""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from hashlib import sha256

from telethon.crypto import AES
from telethon.network.mtprotostate import MTProtoState


class DecryptError(Exception):
    """The encrypted payload is malformed or its msg_key does not match."""


@dataclass(slots=True)
class PlainMessage:
    """The decrypted inner message of an encrypted packet."""

    salt: int
    session_id: int
    msg_id: int
    seq_no: int
    body: bytes


def sha1(data: bytes) -> bytes:
    """MTProto mandates SHA-1 in the handshake and for key ids (not as a security boundary here)."""
    return hashlib.sha1(data, usedforsecurity=False).digest()


def auth_key_id(key: bytes) -> int:
    """Low 8 bytes of sha1(key), as Telethon's AuthKey computes it (unsigned)."""
    return int(struct.unpack("<Q", sha1(key)[12:20])[0])


def decrypt_client_message(key: bytes, packet: bytes) -> PlainMessage:
    """Decrypt `key_id | msg_key | aes_ige(...)` sent by a client and check its msg_key."""
    if len(packet) < 24 + 32 or (len(packet) - 24) % 16:
        raise DecryptError("encrypted packet has a bad length")
    msg_key = packet[8:24]
    aes_key, aes_iv = MTProtoState._calc_key(key, msg_key, True)
    plain = AES.decrypt_ige(packet[24:], aes_key, aes_iv)
    if sha256(key[88:120] + plain).digest()[8:24] != msg_key:
        raise DecryptError("msg_key mismatch")
    salt, session_id, msg_id, seq_no, length = struct.unpack("<qqqii", plain[:32])
    padding = len(plain) - 32 - length
    if length < 0 or not 12 <= padding <= 1024:
        raise DecryptError("bad inner length or padding")
    return PlainMessage(salt, session_id, msg_id, seq_no, plain[32 : 32 + length])


def encrypt_server_message(key: bytes, key_id: int, salt: int, session_id: int, message: bytes) -> bytes:
    """Encrypt `salt | session_id | message` (message = msg_id|seqno|len|body) for the client."""
    data = struct.pack("<qq", salt, session_id) + message
    padding = os.urandom(-(len(data) + 12) % 16 + 12)
    msg_key = sha256(key[96:128] + data + padding).digest()[8:24]
    aes_key, aes_iv = MTProtoState._calc_key(key, msg_key, False)
    return struct.pack("<Q", key_id) + msg_key + AES.encrypt_ige(data + padding, aes_key, aes_iv)
