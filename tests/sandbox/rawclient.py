"""A small MTProto 2.0 client written from the spec (https://core.telegram.org/mtproto), not from Telethon's habits.

It keeps the sandbox honest about what *any* conforming client may do: the 256-byte auth key with its leading
zero bytes, padded intermediate frames with the full 0-15 bytes of padding, obfuscated2 with and without an
MTProxy secret. Telethon is used only for TL (de)serialisation and AES-IGE.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import struct
import time
from dataclasses import dataclass, field
from math import gcd
from zlib import crc32

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from telethon.crypto import AES
from telethon.extensions import BinaryReader
from telethon.tl import TLObject, functions, types
from telethon.tl.core import GzipPacked, MessageContainer

DH_SAFETY = 2 ** (2048 - 64)
# The spec asks for a 2048-bit random b; a shorter one keeps hundreds of handshakes cheap in a test and changes
# nothing the server can see (g_b still lands in the safety range).
CLIENT_EXPONENT_BITS = 128


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def _le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little", signed=True)


def _min_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _ctr(key: bytes, iv: bytes) -> CipherContext:
    return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()


# Transports ---------------------------------------------------------------------------------------------------
@dataclass
class Framing:
    """One transport: `kind` is abridged | intermediate | padded | full; `obfuscated` wraps it in obfuscated2."""

    kind: str = "intermediate"
    obfuscated: bool = False
    secret: bytes = b""
    max_padding: int = 15
    next_padding: list[int] = field(default_factory=list)  # forced padding sizes, then random 0..max_padding
    _seq: int = 0
    _encrypt: CipherContext | None = None
    _decrypt: CipherContext | None = None

    TAGS = {"abridged": b"\xef\xef\xef\xef", "intermediate": b"\xee" * 4, "padded": b"\xdd" * 4}

    def opening(self) -> bytes:
        if not self.obfuscated:
            return {"abridged": b"\xef", "intermediate": b"\xee" * 4, "padded": b"\xdd" * 4, "full": b""}[self.kind]
        forbidden = (b"PVrG", b"GET ", b"POST", b"HEAD", b"\xee" * 4, b"\xdd" * 4, b"\x16\x03\x01\x02")
        while True:
            header = bytearray(os.urandom(64))
            if header[0] != 0xEF and bytes(header[:4]) not in forbidden and header[4:8] != bytes(4):
                break
        reversed_part = bytes(header[8:56][::-1])
        write_key, read_key = bytes(header[8:40]), reversed_part[:32]
        if self.secret:
            write_key = hashlib.sha256(write_key + self.secret).digest()
            read_key = hashlib.sha256(read_key + self.secret).digest()
        self._encrypt = _ctr(write_key, bytes(header[40:56]))
        self._decrypt = _ctr(read_key, reversed_part[32:48])
        header[56:60] = self.TAGS[self.kind]
        header[60:62] = struct.pack("<h", 2)
        encrypted = self._encrypt.update(bytes(header))
        return bytes(header[:56]) + encrypted[56:64]

    def frame(self, payload: bytes) -> bytes:
        if self.kind == "abridged":
            words = len(payload) // 4
            head = bytes([words]) if words < 0x7F else b"\x7f" + words.to_bytes(3, "little")
            data = head + payload
        elif self.kind == "full":
            body = struct.pack("<ii", len(payload) + 12, self._seq) + payload
            self._seq += 1
            data = body + struct.pack("<I", crc32(body))
        else:
            if self.kind == "padded":
                size = self.next_padding.pop(0) if self.next_padding else random.randint(0, self.max_padding)
                payload += os.urandom(size)
            data = struct.pack("<i", len(payload)) + payload
        return self._encrypt.update(data) if self._encrypt is not None else data

    async def _read(self, reader: asyncio.StreamReader, n: int) -> bytes:
        data = await reader.readexactly(n)
        return self._decrypt.update(data) if self._decrypt is not None else data

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        if self.kind == "abridged":
            words = (await self._read(reader, 1))[0]
            if words >= 0x7F:
                words = int.from_bytes(await self._read(reader, 3), "little")
            return await self._read(reader, words * 4)
        (length,) = struct.unpack("<i", await self._read(reader, 4))
        if self.kind == "full":
            return (await self._read(reader, length - 4))[4:-4]
        packet = await self._read(reader, length)
        if len(packet) == 4:
            raise ConnectionError(f"transport error {struct.unpack('<i', packet)[0]}")
        if self.kind == "padded":  # the server may pad 0-15 bytes; the message says where it ends
            if packet[:8] == bytes(8):
                return packet[: 20 + struct.unpack("<i", packet[16:20])[0]]
            return packet[: len(packet) - (len(packet) - 24) % 16]
        return packet


# The client ---------------------------------------------------------------------------------------------------
def _factorise(pq: int) -> tuple[int, int]:
    """Pollard's rho (Brent's variant is not needed for a 52-bit pq)."""
    if pq % 2 == 0:
        return 2, pq // 2
    while True:
        x = y = random.randrange(2, pq)
        c, d = random.randrange(1, pq), 1
        while d == 1:
            x = (x * x + c) % pq
            y = (y * y + c) % pq
            y = (y * y + c) % pq
            d = gcd(abs(x - y), pq)
        if d != pq:
            return min(d, pq // d), max(d, pq // d)


class RawClient:
    """One TCP connection speaking MTProto from the spec: handshake, then encrypted pings."""

    def __init__(self, port: int, public_key_pem: str, framing: Framing) -> None:
        self.port = port
        self.framing = framing
        numbers = load_pem_public_key(public_key_pem.encode()).public_numbers()  # type: ignore[union-attr]
        self.n, self.e = numbers.n, numbers.e
        self.auth_key = b""
        self.salt = 0
        self.session_id = int.from_bytes(os.urandom(8), "little", signed=True)
        self._seq = 0
        self._last_msg_id = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> RawClient:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer.write(self.framing.opening())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._writer is not None
        self._writer.close()

    def _msg_id(self) -> int:
        msg_id = int(time.time() * 2**32) & ~3
        self._last_msg_id = msg_id = max(msg_id, self._last_msg_id + 4)
        return msg_id

    def _send(self, packet: bytes) -> None:
        assert self._writer is not None
        self._writer.write(self.framing.frame(packet))

    async def _recv(self) -> bytes:
        assert self._reader is not None
        return await asyncio.wait_for(self.framing.read(self._reader), 10)

    async def _plain(self, request: TLObject) -> TLObject:
        body = bytes(request)
        self._send(struct.pack("<qqi", 0, self._msg_id(), len(body)) + body)
        packet = await self._recv()
        (length,) = struct.unpack("<i", packet[16:20])
        return BinaryReader(packet[20 : 20 + length]).tgread_object()

    def _rsa_pad(self, data: bytes) -> bytes:
        while True:
            padded = data + os.urandom(192 - len(data))
            temp_key = os.urandom(32)
            with_hash = padded[::-1] + hashlib.sha256(temp_key + padded).digest()
            aes_encrypted = AES.encrypt_ige(with_hash, temp_key, bytes(32))
            key_xor = bytes(a ^ b for a, b in zip(temp_key, hashlib.sha256(aes_encrypted).digest(), strict=True))
            value = int.from_bytes(key_xor + aes_encrypted, "big")
            if value < self.n:
                return pow(value, self.e, self.n).to_bytes(256, "big")

    async def handshake(self, *, leading_zero: bool = False) -> bytes:
        """Create an auth key; `leading_zero` picks b so that the key's first byte is 0 (1 key in 256 is)."""
        nonce = int.from_bytes(os.urandom(16), "little", signed=True)
        res_pq = await self._plain(functions.ReqPqMultiRequest(nonce))
        assert isinstance(res_pq, types.ResPQ)
        assert res_pq.nonce == nonce
        p, q = _factorise(int.from_bytes(res_pq.pq, "big"))
        p_bytes, q_bytes = _min_bytes(p), _min_bytes(q)
        new_nonce = int.from_bytes(os.urandom(32), "little", signed=True)
        inner = types.PQInnerDataDc(
            pq=res_pq.pq, p=p_bytes, q=q_bytes, nonce=nonce, server_nonce=res_pq.server_nonce, new_nonce=new_nonce, dc=2
        )
        # The key's fingerprint: the low 64 bits of sha1 over the TL-serialised n and e.
        tl_key = TLObject.serialize_bytes(_min_bytes(self.n)) + TLObject.serialize_bytes(_min_bytes(self.e))
        fingerprint = int.from_bytes(_sha1(tl_key)[-8:], "little", signed=True)
        assert fingerprint in res_pq.server_public_key_fingerprints
        params = await self._plain(
            functions.ReqDHParamsRequest(
                nonce=nonce,
                server_nonce=res_pq.server_nonce,
                p=p_bytes,
                q=q_bytes,
                public_key_fingerprint=fingerprint,
                encrypted_data=self._rsa_pad(bytes(inner)),
            )
        )
        assert isinstance(params, types.ServerDHParamsOk), params
        server_nonce_b, new_nonce_b = _le(res_pq.server_nonce, 16), _le(new_nonce, 32)
        tmp_key = _sha1(new_nonce_b + server_nonce_b) + _sha1(server_nonce_b + new_nonce_b)[:12]
        tmp_iv = _sha1(server_nonce_b + new_nonce_b)[12:] + _sha1(new_nonce_b + new_nonce_b) + new_nonce_b[:4]
        answer = AES.decrypt_ige(params.encrypted_answer, tmp_key, tmp_iv)
        reader = BinaryReader(answer[20:])
        dh_inner = reader.tgread_object()
        assert _sha1(answer[20 : 20 + reader.tell_position()]) == answer[:20]
        assert isinstance(dh_inner, types.ServerDHInnerData)
        prime, g, g_a = int.from_bytes(dh_inner.dh_prime, "big"), dh_inner.g, int.from_bytes(dh_inner.g_a, "big")
        assert DH_SAFETY <= g_a <= prime - DH_SAFETY
        while True:
            b = int.from_bytes(os.urandom(CLIENT_EXPONENT_BITS // 8), "big")
            gab = pow(g_a, b, prime)
            if leading_zero and gab >= 2**2040:
                continue
            g_b = pow(g, b, prime)
            if DH_SAFETY <= g_b <= prime - DH_SAFETY:
                break
        auth_key = gab.to_bytes(256, "big")  # the spec's key: all 256 bytes, leading zeros included
        client_inner = bytes(
            types.ClientDHInnerData(
                nonce=nonce, server_nonce=res_pq.server_nonce, retry_id=0, g_b=g_b.to_bytes(256, "big")
            )
        )
        with_hash = _sha1(client_inner) + client_inner
        with_hash += os.urandom(-len(with_hash) % 16)
        result = await self._plain(
            functions.SetClientDHParamsRequest(
                nonce=nonce,
                server_nonce=res_pq.server_nonce,
                encrypted_data=AES.encrypt_ige(with_hash, tmp_key, tmp_iv),
            )
        )
        assert isinstance(result, types.DhGenOk), result
        aux_hash = _sha1(auth_key)[:8]
        expected = int.from_bytes(_sha1(new_nonce_b + b"\x01" + aux_hash)[4:20], "little", signed=True)
        assert result.new_nonce_hash1 == expected, "the server agreed on another key"
        self.auth_key = auth_key
        self.salt = int.from_bytes(
            bytes(a ^ b for a, b in zip(new_nonce_b[:8], server_nonce_b[:8], strict=True)), "little", signed=True
        )
        return auth_key

    @property
    def key_id(self) -> int:
        return int.from_bytes(_sha1(self.auth_key)[12:20], "little")

    def _kdf(self, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
        key = self.auth_key
        a = hashlib.sha256(msg_key + key[x : x + 36]).digest()
        b = hashlib.sha256(key[40 + x : 76 + x] + msg_key).digest()
        return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]

    def _send_encrypted(self, body: bytes) -> int:
        msg_id = self._msg_id()
        self._seq += 1
        data = struct.pack("<qqqii", self.salt, self.session_id, msg_id, self._seq * 2 - 1, len(body)) + body
        data += os.urandom(-(len(data) + 12) % 16 + 12)
        msg_key = hashlib.sha256(self.auth_key[88:120] + data).digest()[8:24]
        aes_key, aes_iv = self._kdf(msg_key, 0)
        self._send(struct.pack("<Q", self.key_id) + msg_key + AES.encrypt_ige(data, aes_key, aes_iv))
        return msg_id

    async def _recv_encrypted(self) -> list[TLObject]:
        packet = await self._recv()
        assert struct.unpack("<Q", packet[:8])[0] == self.key_id
        msg_key = packet[8:24]
        aes_key, aes_iv = self._kdf(msg_key, 8)
        plain = AES.decrypt_ige(packet[24:], aes_key, aes_iv)
        assert hashlib.sha256(self.auth_key[96:128] + plain).digest()[8:24] == msg_key
        (length,) = struct.unpack("<i", plain[28:32])
        obj = BinaryReader(plain[32 : 32 + length]).tgread_object()
        if isinstance(obj, GzipPacked):
            obj = BinaryReader(obj.data).tgread_object()
        return [m.obj for m in obj.messages] if isinstance(obj, MessageContainer) else [obj]

    async def ping(self) -> None:
        """An encrypted ping answered by a pong (following bad_server_salt as the spec says)."""
        ping_id = random.getrandbits(63)
        msg_id = self._send_encrypted(bytes(functions.PingRequest(ping_id)))
        while True:
            for obj in await self._recv_encrypted():
                if isinstance(obj, types.BadServerSalt) and obj.bad_msg_id == msg_id:
                    self.salt = obj.new_server_salt
                    msg_id = self._send_encrypted(bytes(functions.PingRequest(ping_id)))
                elif isinstance(obj, types.Pong) and obj.ping_id == ping_id:
                    return
