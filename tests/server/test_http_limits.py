"""Request heads are bounded by the HTTP server: an oversized header or too many headers get 431 at once,
and the event loop keeps serving everyone else meanwhile."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from app.server.http_limits import bounded_protocol
from tests.live import serve_asgi

pytestmark = pytest.mark.asyncio


def protocol_of(app):
    settings = app.state.ctx.settings
    return bounded_protocol(
        max_head_bytes=settings.max_request_head_bytes, max_header_count=settings.max_request_headers
    )


async def send_head(port: int, head_parts) -> bytes:
    """Write a request head piece by piece while reading whatever the server answers; returns the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.create_task(reader.read())
    try:
        for part in head_parts:
            writer.write(part)
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.wait({drained, answer}, return_when=asyncio.FIRST_COMPLETED)
            if answer.done():  # answered: stop sending (the server stopped reading)
                drained.cancel()
                break
            drained.result()
    except ConnectionError:
        pass
    try:
        return await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_100_mb_header_gets_431_while_health_stays_fast(app):
    async with serve_asgi(app, http=protocol_of(app)) as base:
        port = int(base.rsplit(":", 1)[1])
        chunks = [b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "] + [b"a" * 1_000_000] * 100
        attack = asyncio.create_task(send_head(port, chunks))
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            assert (await http.get("/health")).status_code == 200  # warm connection
            answered = 0
            while not attack.done() or not answered:  # other requests are served while the head comes in
                assert (await http.get("/health")).status_code == 200
                answered += 1
        answer = await attack
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code":"headers_too_large"' in answer


async def test_too_many_headers_get_431_and_normal_requests_pass(app):
    async with serve_asgi(app, http=protocol_of(app)) as base:
        port = int(base.rsplit(":", 1)[1])
        many = b"".join(b"X-H%d: v\r\n" % n for n in range(200))
        answer = await send_head(port, [b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"])
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            headers = {f"x-h{n}": "v" * 200 for n in range(50)}
            assert (await http.get("/health", headers=headers)).status_code == 200
            body = "x" * 500_000  # a large body is not a large head
            response = await http.post("/auth/login", content=f'{{"email":"a@b.cd","password":"{body}"}}')
            assert response.status_code != 431
