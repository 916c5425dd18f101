"""MTProto TCP transports: framing for Full, Intermediate (plain and padded) and Abridged.

The server learns the transport from the first bytes the client sends: `0xef` is Abridged, `0xeeeeeeee` is
Intermediate, `0xdddddddd` is padded Intermediate, anything else is the length field of a Full frame.
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
from zlib import crc32

MAX_PACKET = 4 * 1024 * 1024


class TransportError(Exception):
    """The peer sent bytes that cannot be framed; the connection must be closed."""


class Transport:
    """Base class: reads whole packets and frames outgoing ones."""

    name = "base"

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
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
        self._pending = first_bytes
        self._recv_seq = 0
        self._send_seq = 0

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
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
    """`len | payload`; the padded variant appends 0-3 random bytes the reader drops."""

    name = "intermediate"

    def __init__(self, padded: bool = False) -> None:
        self.padded = padded
        if padded:
            self.name = "padded-intermediate"

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
        (length,) = struct.unpack("<i", await reader.readexactly(4))
        if length <= 0 or length > MAX_PACKET:
            raise TransportError(f"bad intermediate length {length}")
        packet = await reader.readexactly(length)
        if self.padded and length % 4:
            packet = packet[: -(length % 4)]
        return packet

    def frame(self, payload: bytes) -> bytes:
        if self.padded:
            payload += os.urandom(random.randint(0, 3))
        return struct.pack("<i", len(payload)) + payload


class AbridgedTransport(Transport):
    """One length byte in 4-byte words, or 0x7f plus three bytes for long packets."""

    name = "abridged"

    async def read_packet(self, reader: asyncio.StreamReader) -> bytes:
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


async def detect_transport(reader: asyncio.StreamReader) -> Transport:
    """Read the transport tag (if any) and return the matching codec."""
    first = await reader.readexactly(1)
    if first == b"\xef":
        return AbridgedTransport()
    head = first + await reader.readexactly(3)
    if head == b"\xee\xee\xee\xee":
        return IntermediateTransport()
    if head == b"\xdd\xdd\xdd\xdd":
        return IntermediateTransport(padded=True)
    # Obfuscated transports start with 64 random bytes; they are not supported and fail the length check.
    return FullTransport(head)
