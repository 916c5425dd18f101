"""One TCP connection: transport framing, the plain-text handshake, then MTProto 2.0 sessions.

Service messages (containers, gzip, acks, ping, salts, new_session_created) are handled here; RPC requests are
handed to `router.call` in their own task so a slow handler never blocks the reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import time
from hashlib import sha256
from typing import TYPE_CHECKING

from telethon.extensions import BinaryReader
from telethon.tl import TLObject, functions, types
from telethon.tl.core import GzipPacked, MessageContainer
from telethon.tl.tlobject import TLRequest

from . import router
from .crypto import DecryptError, decrypt_client_message, encrypt_server_message
from .dcs import key_dc
from .handshake import Handshake, HandshakeFailed
from .rpc import RpcError
from .state import ClientInit
from .transport import Transport, TransportError, detect_transport

if TYPE_CHECKING:
    from .server import SandboxDC
    from .state import AuthKeyRecord

log = logging.getLogger(__name__)

RPC_RESULT_ID = 0xF35C6D01
GZIP_THRESHOLD = 512
MSG_TOO_OLD = 300
MSG_TOO_NEW = 30
IGNORED_SERVICE = (types.MsgsAck, types.MsgsStateReq, types.MsgResendReq, types.MsgsAllInfo, types.MsgsStateInfo)


def server_salt(key: bytes) -> int:
    """One stable salt per auth key, derived from the key so it survives restarts without being stored."""
    return int.from_bytes(sha256(b"sandbox-salt" + key).digest()[:8], "little", signed=True) or 1


class Connection:
    """A client socket. After the first encrypted packet it is bound to one auth key and one session id."""

    def __init__(
        self, dc: SandboxDC, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dc_id: int | None = None
    ) -> None:
        self.dc = dc
        self.dc_id = dc_id or dc.dc_id  # which of the sandbox's data-centers this socket reached
        self._reader = reader
        self._writer = writer
        self._transport: Transport | None = None
        self._handshake = Handshake()
        self.auth_key: AuthKeyRecord | None = None
        self.session_id: int | None = None
        self.salt = 0
        self.bound_at = 0.0
        self.receive_updates = True
        self.user_id: int | None = None
        self.client_info = ""
        self.init: ClientInit | None = None  # what its initConnection said
        self.api_id = 0
        self.closed = asyncio.Event()
        self._last_msg_id = 0
        self._seq = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.peer = writer.get_extra_info("peername")
        # Where the client connects from (its IP address): what Telegram's AUTH_KEY_DUPLICATED rule compares.
        self.place = str(self.peer[0]) if isinstance(self.peer, tuple) and self.peer else "unknown"

    # Reading -------------------------------------------------------------------------------------------------
    async def serve(self) -> None:
        try:
            self._transport = await detect_transport(self._reader, self.dc.proxy_secrets)
            while not self.closed.is_set():
                packet = await self._transport.read_packet(self._reader)
                self._on_packet(packet)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except TransportError as exc:
            log.info("closing %s: %s", self.peer, exc)
        except HandshakeFailed as exc:
            log.warning("handshake failed from %s: %s", self.peer, exc)
            self._write_transport_error(404)
        except Exception:
            log.exception("connection from %s failed", self.peer)
        finally:
            self.close()

    def _on_packet(self, packet: bytes) -> None:
        if len(packet) < 8:
            return
        (key_id,) = struct.unpack("<Q", packet[:8])
        if key_id == 0:
            self._on_plain(packet)
        else:
            self._on_encrypted(key_id, packet)

    def _on_plain(self, packet: bytes) -> None:
        length = struct.unpack("<i", packet[16:20])[0]
        request = BinaryReader(packet[20 : 20 + length]).tgread_object()
        answer, new_key = self._handshake.handle(request)
        if new_key is not None:
            self.dc.register_auth_key(new_key.key_id, new_key.key, self.dc_id)
        body = bytes(answer)
        self._write(struct.pack("<qqi", 0, self._next_msg_id(reply=True), len(body)) + body)

    def _on_encrypted(self, key_id: int, packet: bytes) -> None:
        record = self.dc.state.auth_keys.get(key_id)
        if record is not None and key_dc(self.dc, record) != self.dc_id:
            record = None  # auth keys belong to the data-center that made them
        if record is None:
            # Telethon turns -404 into AuthKeyNotFound, which surfaces from connect().
            self._write_transport_error(404)
            return
        try:
            message = decrypt_client_message(record.key, packet)
        except DecryptError as exc:
            log.warning("dropping undecryptable packet from %s: %s", self.peer, exc)
            return
        if self.auth_key is not record:
            self.auth_key = record
            self.salt = server_salt(record.key)
            self.bound_at = time.monotonic()
            self.dc.bind_connection_to_key(self)
        if message.session_id != self.session_id:
            self.session_id = message.session_id
            self._seq = 0
            self.push(
                types.NewSessionCreated(message.msg_id, int.from_bytes(os.urandom(8), "little", signed=True), self.salt)
            )
        if message.salt != self.salt:
            self.push(types.BadServerSalt(message.msg_id, message.seq_no, 48, self.salt), content_related=False)
            return
        bad_code = _check_msg_id(message.msg_id)
        if bad_code:
            self.push(types.BadMsgNotification(message.msg_id, message.seq_no, bad_code), content_related=False)
            return
        try:
            obj = BinaryReader(message.body).tgread_object()
        except Exception as exc:  # an unknown constructor: answer it so the caller does not hang
            log.error("cannot parse request %d: %r", message.msg_id, exc)
            self.send_error(message.msg_id, RpcError(400, "FAKEDC_NOT_IMPLEMENTED_UNKNOWN_CONSTRUCTOR"))
            return
        self._dispatch(message.msg_id, obj)

    def _dispatch(self, msg_id: int, obj: TLObject) -> None:
        if isinstance(obj, MessageContainer):
            for inner in obj.messages:
                self._dispatch(inner.msg_id, inner.obj)
        elif isinstance(obj, GzipPacked):
            self._dispatch(msg_id, BinaryReader(obj.data).tgread_object())
        elif isinstance(obj, IGNORED_SERVICE):
            return
        elif isinstance(obj, functions.PingRequest | functions.PingDelayDisconnectRequest):
            # A bare pong, not an rpc_result: Telethon only clears its keep-alive ping on a bare one.
            self.push(types.Pong(msg_id, obj.ping_id))
        elif isinstance(obj, functions.DestroySessionRequest):
            self.push(types.DestroySessionOk(obj.session_id))
        elif isinstance(obj, functions.GetFutureSaltsRequest):
            start = int(time.time())
            salts = [types.FutureSalt(start, start + 86400, self.salt)]
            self.push(types.FutureSalts(msg_id, start, salts))
        elif isinstance(obj, TLRequest):
            task = asyncio.create_task(self._run_rpc(msg_id, obj))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            log.info("ignoring %s from %s", type(obj).__name__, self.peer)

    async def _run_rpc(self, msg_id: int, request: TLRequest) -> None:
        try:
            result = await router.call(self, msg_id, request)
        except RpcError as exc:
            self.send_error(msg_id, exc)
            return
        except Exception as exc:
            # Never a 5xx: Telethon retries those 5 times with 2 s sleeps, which hides the bug behind a timeout.
            log.exception("handler for %s crashed", type(request).__name__)
            self.send_error(msg_id, RpcError(400, f"FAKEDC_HANDLER_CRASHED_{type(exc).__name__.upper()}"))
            return
        self.send_result(msg_id, result)

    # Writing -------------------------------------------------------------------------------------------------
    def send_result(self, req_msg_id: int, result: bytes) -> None:
        body = GzipPacked.gzip_if_smaller(True, result) if len(result) > GZIP_THRESHOLD else result
        self._send_encrypted(struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + body, True, reply=True)

    def send_error(self, req_msg_id: int, error: RpcError) -> None:
        body = bytes(types.RpcError(error.code, error.message))
        self._send_encrypted(struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + body, True, reply=True)

    def push(self, obj: TLObject, content_related: bool = True) -> None:
        """Send an object outside rpc_result: updates, pong, service notifications."""
        data = bytes(obj)
        if len(data) > GZIP_THRESHOLD:
            data = GzipPacked.gzip_if_smaller(True, data)
        self._send_encrypted(data, content_related, reply=isinstance(obj, types.Pong))

    def push_updates_too_long(self) -> None:
        self.push(types.UpdatesTooLong())

    def _send_encrypted(self, body: bytes, content_related: bool, *, reply: bool) -> None:
        if self.closed.is_set() or self.auth_key is None or self.session_id is None:
            return
        seq = self._seq * 2 + 1 if content_related else self._seq * 2
        if content_related:
            self._seq += 1
        message = struct.pack("<qii", self._next_msg_id(reply), seq, len(body)) + body
        key = self.auth_key
        self._write(encrypt_server_message(key.key, key.key_id, self.salt, self.session_id, message))

    def _next_msg_id(self, reply: bool) -> int:
        # Server msg_ids are odd: 1 mod 4 for replies, 3 mod 4 for messages the server starts.
        kind = 1 if reply else 3
        msg_id = (int(time.time() * 2**32) & ~3) | kind
        if msg_id <= self._last_msg_id:
            msg_id = ((self._last_msg_id & ~3) + 4) | kind
        self._last_msg_id = msg_id
        return msg_id

    def _write(self, packet: bytes) -> None:
        if self._transport is None or self._writer.is_closing():
            return
        self._writer.write(self._transport.frame(packet))

    def _write_transport_error(self, code: int) -> None:
        if self._transport is not None and not self._writer.is_closing():
            self._writer.write(self._transport.error_frame(code))

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for task in list(self._tasks):
            task.cancel()
        if not self._writer.is_closing():
            self._writer.close()
        self.dc.on_connection_closed(self)


def _check_msg_id(msg_id: int) -> int:
    """bad_msg_notification codes: 16 too old, 17 too new, 18 not divisible by 4."""
    if msg_id % 4:
        return 18
    sent = msg_id >> 32
    current = time.time()
    if sent < current - MSG_TOO_OLD:
        return 16
    if sent > current + MSG_TOO_NEW:
        return 17
    return 0
