"""MTProto TCP transports (https://core.telegram.org/mtproto/mtproto-transports): Full, Intermediate, padded
Intermediate and Abridged, each also inside the obfuscated2 layer (what MTProxy and censored networks use).

The server learns the transport from the first bytes the client sends: `0xef` is Abridged, `0xeeeeeeee` is
Intermediate, `0xdddddddd` is padded Intermediate. Otherwise the first eight bytes are either the length and the
seq_no (always 0 first) of a Full frame, or the start of a 64-byte obfuscation header, whose bytes 4..8 the spec
forbids to be zero: that is what tells the two apart.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Sequence
from hashlib import sha256
from typing import Protocol
from zlib import crc32

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

MAX_PACKET = 4 * 1024 * 1024
ABRIDGED_TAG = b"\xef\xef\xef\xef"
INTERMEDIATE_TAG = b"\xee\xee\xee\xee"
PADDED_INTERMEDIATE_TAG = b"\xdd\xdd\xdd\xdd"
OBFUSCATION_HEADER = 64
# A plain (unencrypted) message is auth_key_id(8) | msg_id(8) | length(4) | data; an encrypted one is
# auth_key_id(8) | msg_key(16) | AES-IGE data in 16-byte blocks.
PLAIN_HEADER = 20
ENCRYPTED_HEADER = 24


class ByteReader(Protocol):
    async def readexactly(self, n: int) -> bytes: ...


class TransportError(Exception):
    """The peer sent bytes that cannot be framed; the connection must be closed."""


class Transport:
    """Base class: reads whole packets and frames outgoing ones."""

    name = "base"

    async def read_packet(self, reader: ByteReader) -> bytes:
        raise NotImplementedError

    def frame(self, payload: bytes) -> bytes:
        raise NotImplementedError

    def error_frame(self, code: int) -> bytes:
        """A transport error: a 4-byte body holding the negative code (e.g. -404 for an unknown auth key)."""
        return self.frame(struct.pack("<i", -abs(code)))


class FullTransport(Transport):
    """`len | seq | payload | crc32`; each side counts its own seq from 0."""

    name = "full"

    def __init__(self, first_bytes: bytes) -> None:
        self._pending = first_bytes  # the length and seq_no of the first frame, read while detecting
        self._recv_seq = 0
        self._send_seq = 0

    async def read_packet(self, reader: ByteReader) -> bytes:
        head = self._pending + await reader.readexactly(8 - len(self._pending))
        self._pending = b""
        length, seq = struct.unpack("<ii", head)
        if length < 12 or length > MAX_PACKET:
            raise TransportError(f"bad full-transport length {length}")
        rest = await reader.readexactly(length - 8)
        body, checksum = rest[:-4], struct.unpack("<I", rest[-4:])[0]
        if crc32(head + body) != checksum:
            raise TransportError("bad crc32")
        if seq != self._recv_seq:
            raise TransportError(f"bad full-transport seq {seq}, expected {self._recv_seq}")
        self._recv_seq += 1
        return body

    def frame(self, payload: bytes) -> bytes:
        data = struct.pack("<ii", len(payload) + 12, self._send_seq) + payload
        self._send_seq += 1
        return data + struct.pack("<I", crc32(data))


class IntermediateTransport(Transport):
    """`len | payload`; the padded variant appends 0-15 random bytes after the payload (the spec's range)."""

    name = "intermediate"

    def __init__(self, padded: bool = False) -> None:
        self.padded = padded
        if padded:
            self.name = "padded-intermediate"

    async def read_packet(self, reader: ByteReader) -> bytes:
        (length,) = struct.unpack("<i", await reader.readexactly(4))
        if length <= 0 or length > MAX_PACKET:
            raise TransportError(f"bad intermediate length {length}")
        packet = await reader.readexactly(length)
        return strip_padding(packet) if self.padded else packet

    def frame(self, payload: bytes) -> bytes:
        if self.padded:
            # The spec allows 0-15 bytes; 0-3 keeps every frame a multiple of 4 long, which is all some clients
            # (Telethon among them) can strip. A reader must accept the whole range, a writer may use less.
            payload += os.urandom(random.randint(0, 3))
        return struct.pack("<i", len(payload)) + payload


def strip_padding(packet: bytes) -> bytes:
    """Drop padded-intermediate padding (0-15 bytes): the MTProto message itself says where it ends."""
    if len(packet) >= PLAIN_HEADER and packet[:8] == bytes(8):
        end = PLAIN_HEADER + struct.unpack("<i", packet[16:20])[0]
        return packet[:end] if PLAIN_HEADER <= end <= len(packet) else packet
    if len(packet) >= ENCRYPTED_HEADER:
        return packet[: len(packet) - (len(packet) - ENCRYPTED_HEADER) % 16]
    return packet  # too short to be a message; the session layer drops it


class AbridgedTransport(Transport):
    """One length byte in 4-byte words, or 0x7f plus three bytes for long packets."""

    name = "abridged"

    async def read_packet(self, reader: ByteReader) -> bytes:
        words = (await reader.readexactly(1))[0]
        if words >= 0x7F:
            words = int.from_bytes(await reader.readexactly(3), "little")
        if words * 4 > MAX_PACKET:
            raise TransportError("abridged packet too large")
        return await reader.readexactly(words * 4)

    def frame(self, payload: bytes) -> bytes:
        words = len(payload) // 4
        if words < 0x7F:
            return bytes([words]) + payload
        return b"\x7f" + words.to_bytes(3, "little") + payload


class _DecryptingReader:
    """Reads from the socket through the client->server AES-CTR stream."""

    def __init__(self, reader: ByteReader, decryptor: CipherContext) -> None:
        self._reader = reader
        self._decryptor = decryptor

    async def readexactly(self, n: int) -> bytes:
        return self._decryptor.update(await self._reader.readexactly(n))


class ObfuscatedTransport(Transport):
    """obfuscated2: an inner transport whose bytes run through AES-256-CTR in each direction.

    The client's 64-byte header holds the client->server key (bytes 8..40) and IV (40..56); the server->client
    pair is the same 48 bytes reversed. With an MTProxy secret each key is sha256(key + secret).
    """

    def __init__(self, inner: Transport, decryptor: CipherContext, encryptor: CipherContext, dc_id: int) -> None:
        self.inner = inner
        self.name = f"obfuscated-{inner.name}"
        self.dc_id = dc_id
        self._decryptor = decryptor
        self._encryptor = encryptor

    async def read_packet(self, reader: ByteReader) -> bytes:
        return await self.inner.read_packet(_DecryptingReader(reader, self._decryptor))

    def frame(self, payload: bytes) -> bytes:
        return self._encryptor.update(self.inner.frame(payload))


def _ctr(key: bytes, iv: bytes) -> CipherContext:
    # Encryption and decryption are the same keystream XOR in CTR mode.
    return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()


def open_obfuscated(header: bytes, secrets: Sequence[bytes] = ()) -> ObfuscatedTransport:
    """Read a client's 64-byte obfuscation header (without a secret, or with one of the MTProxy `secrets`)."""
    reversed_part = header[8:56][::-1]
    for secret in (b"", *secrets):
        read_key, write_key = header[8:40], reversed_part[:32]
        if secret:
            read_key, write_key = sha256(read_key + secret).digest(), sha256(write_key + secret).digest()
        decryptor = _ctr(read_key, header[40:56])
        plain = decryptor.update(header)
        tag = plain[56:60]
        inner: Transport
        if tag == ABRIDGED_TAG:
            inner = AbridgedTransport()
        elif tag == INTERMEDIATE_TAG:
            inner = IntermediateTransport()
        elif tag == PADDED_INTERMEDIATE_TAG:
            inner = IntermediateTransport(padded=True)
        else:
            continue
        dc_id = struct.unpack("<h", plain[60:62])[0]
        return ObfuscatedTransport(inner, decryptor, _ctr(write_key, reversed_part[32:48]), dc_id)
    raise TransportError("obfuscation header carries no known transport tag")


async def detect_transport(reader: ByteReader, proxy_secrets: Sequence[bytes] = ()) -> Transport:
    """Read the transport tag (if any) and return the matching codec."""
    first = await reader.readexactly(1)
    if first == b"\xef":
        return AbridgedTransport()
    head = first + await reader.readexactly(3)
    if head == INTERMEDIATE_TAG:
        return IntermediateTransport()
    if head == PADDED_INTERMEDIATE_TAG:
        return IntermediateTransport(padded=True)
    head += await reader.readexactly(4)
    if head[4:8] == bytes(4):
        return FullTransport(head)  # the first Full frame's seq_no is 0
    return open_obfuscated(head + await reader.readexactly(OBFUSCATION_HEADER - 8), proxy_secrets)
