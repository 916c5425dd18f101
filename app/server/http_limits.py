"""Bounds on request heads, enforced by the HTTP server before the app sees a request.

httptools accumulates a header that arrives in pieces by concatenation, so one 100 MB header costs seconds of
CPU on the event loop while every other request waits. `BoundedHttpToolsProtocol` counts the bytes and
header lines of each request head as they arrive and answers 431 (Request Header Fields Too Large) as soon as
a bound is passed, whether or not a reverse proxy sits in front. The connection is then half-closed and no
longer read, and closed a moment later (closing at once would reset the connection and lose the 431 at a
client still sending).
"""

from __future__ import annotations

import asyncio

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_TOO_LARGE = "request header fields too large"
LINGER_S = 1.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    max_head_bytes = 65_536
    max_header_count = 100

    _head_bytes = 0
    _header_count = 0
    _in_head = True
    _refused = False
    _boundaries = 0  # heads completed plus messages completed: a chunk that crossed one is not all head

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # bytes that were already on their way when reading paused
        self._unset_keepalive_if_required()
        boundaries = self._boundaries
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refused:
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head and self._boundaries == boundaries:  # the whole chunk belonged to an unfinished head
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._header_count = True, 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.max_header_count:
            self._refuse()
            raise ValueError(_HEAD_TOO_LARGE)  # stops the parser (it surfaces as HttpParserCallbackError)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        self._boundaries += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._boundaries += 1

    def _refuse(self) -> None:
        """Answer 431, half-close, and close for good after LINGER_S: the rest of the head is never parsed."""
        if self._refused:
            return
        self._refused = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # a pipelined request still running must not write after the 431
        body = b'{"error":{"code":"headers_too_large","message":"request header fields too large","details":null}}'
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        # Stop reading: the sender's writes stall on full buffers instead of costing this loop any work, and
        # it can read the 431 before the close (which discards whatever it sent meanwhile).
        self.transport.pause_reading()
        asyncio.get_running_loop().call_later(LINGER_S, self.transport.close)


def bounded_protocol(*, max_head_bytes: int, max_header_count: int) -> type[BoundedHttpToolsProtocol]:
    """The uvicorn `http=` protocol class with these bounds."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "max_header_count": max_header_count},
    )
