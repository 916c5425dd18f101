"""A proxy per profile, with real proxies on 127.0.0.1 (pproxy) and the sandbox as an MTProxy endpoint: checked when
set, used for the login and every connection (the proxy sees them arrive), never shown back, switched without two
live connections, and a failed proxy stops the profile (`proxy_failed`, an alert) instead of connecting around it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Event
from tests.conftest import bearer, register_and_login, sandbox_code, sandbox_phone
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import wait_for_status
from tests.live import free_port

pytestmark = pytest.mark.asyncio

# pproxy picks uvloop when it is installed and then finds no event loop: run it on asyncio's own.
PPROXY = "import sys; sys.modules['uvloop'] = None; from pproxy.server import main; sys.argv[0] = 'pproxy'; main()"


@dataclass
class Proxy:
    kind: str
    port: int
    log: Path
    process: asyncio.subprocess.Process

    def body(self, **extra: object) -> dict[str, object]:
        return {"type": self.kind, "host": "127.0.0.1", "port": self.port, **extra}

    def connections_to(self, port: int) -> int:
        """Connections the proxy opened to 127.0.0.1:`port` (pproxy -v prints `<proto> <client> -> <target>`)."""
        return sum(1 for line in self.log.read_text().splitlines() if line.endswith(f"-> 127.0.0.1:{port}"))


@contextlib.asynccontextmanager
async def proxy_server(kind: str, tmp_path: Path, auth: str = "") -> AsyncIterator[Proxy]:
    port = free_port()
    log = tmp_path / f"{kind}-{port}.log"
    listen = f"{kind}://127.0.0.1:{port}" + (f"#{auth}" if auth else "")
    with log.open("w") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-u", "-c", PPROXY, "-l", listen, "-v", stdout=out, stderr=out, env=dict(os.environ)
        )
    proxy = Proxy(kind, port, log, process)

    async def listening() -> bool:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return True
        return False

    try:
        await eventually(listening, what=f"{kind} proxy listening")
        yield proxy
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def start(client, headers, phone, proxy_body):
    return await client.post("/profiles/start", json={"phone": phone, "proxy": proxy_body}, headers=headers)


async def bind_through(client, headers, proxy_body):
    phone = sandbox_phone()
    started = await start(client, headers, phone, proxy_body)
    assert started.status_code == 200, started.text
    bound = await client.post("/profiles/code", json={"phone": phone, "code": sandbox_code(phone)}, headers=headers)
    assert bound.status_code == 201, bound.text
    return bound.json()["profile"]


@pytest.mark.parametrize("kind", ["socks5", "http"])
async def test_login_and_every_connection_go_through_the_profiles_proxy(client, app, sandbox, tmp_path, kind):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    async with proxy_server(kind, tmp_path, auth="proxyman:pa55word") as proxy:
        profile = await bind_through(client, headers, proxy.body(username="proxyman", password="pa55word"))
        assert profile["proxy"] == {"type": kind, "host": "127.0.0.1", "port": proxy.port}
        assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 15)
        # the set-time check, the login's two steps and the runtime's connection, all through the proxy
        assert proxy.connections_to(sandbox.port) >= 4
        listed = (await client.get("/profiles", headers=headers)).text
        assert "pa55word" not in listed
        assert "proxyman" not in listed


@pytest.mark.parametrize(
    "proxy_body",
    [
        {"type": "socks5", "host": "127.0.0.1", "port": 0},
        {"type": "socks6", "host": "127.0.0.1", "port": 1080},
        {"type": "mtproxy", "host": "127.0.0.1", "port": 443, "secret": "ee" + "ab" * 16},
        {"type": "mtproxy", "host": "127.0.0.1", "port": 443},
        {"type": "socks5", "host": "bad host", "port": 1080},
        {"type": "socks5", "host": "127.0.0.1", "port": 1080, "secret": "ab" * 16},
    ],
)
async def test_a_malformed_proxy_is_a_4xx(client, sandbox, proxy_body):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    refused = await start(client, headers, phone, proxy_body)
    assert refused.status_code in (400, 422), refused.text
    assert sandbox.control.last_code(phone) is None


async def test_a_proxy_that_does_not_reach_telegram_is_refused_when_set(client, app, sandbox, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    phone = sandbox_phone()
    nothing = {"type": "socks5", "host": "127.0.0.1", "port": free_port()}  # nobody listens there
    refused = await start(client, headers, phone, nothing)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "proxy_unreachable"
    assert sandbox.control.last_code(phone) is None

    async with proxy_server("socks5", tmp_path) as proxy:
        profile = await bind_through(client, headers, proxy.body())
    patched = await client.patch(f"/profiles/{profile['phone']}", json={"proxy": nothing}, headers=headers)
    assert patched.status_code == 422, patched.text
    assert patched.json()["error"]["code"] == "proxy_unreachable"


async def test_switching_proxies_never_keeps_two_live_connections(client, app, sandbox, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    runtime = app.state.ctx.telegram.runtime
    duplicated, concurrent = sandbox.control.counters.auth_key_duplicated, sandbox.control.counters.concurrent_key_use
    async with proxy_server("socks5", tmp_path) as first, proxy_server("http", tmp_path) as second:
        profile = await bind_through(client, headers, first.body())
        profile_id = uuid.UUID(profile["id"])
        assert await runtime.wait_connected(profile_id, 15)
        through_second = second.connections_to(sandbox.port)
        patched = await client.patch(f"/profiles/{profile['phone']}", json={"proxy": second.body()}, headers=headers)
        assert patched.status_code == 200, patched.text
        assert patched.json()["proxy"]["type"] == "http"

        async def moved() -> bool:
            # the set-time check is one connection; the runtime's new one is the next
            return second.connections_to(sandbox.port) >= through_second + 2 and runtime.connected(profile_id)

        await eventually(moved, what="the profile connected through the new proxy")
    assert sandbox.control.counters.auth_key_duplicated == duplicated
    assert sandbox.control.counters.concurrent_key_use == concurrent


async def test_a_failed_proxy_stops_the_profile_with_an_alert_and_never_goes_direct(client, app, sandbox, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    runtime = app.state.ctx.telegram.runtime
    async with proxy_server("socks5", tmp_path) as proxy:
        profile = await bind_through(client, headers, proxy.body())
        profile_id = uuid.UUID(profile["id"])
        assert await runtime.wait_connected(profile_id, 15)
    # The proxy is gone (its connections with it): Telethon's reconnects, then the runtime's, fail.
    failed = await wait_for_status(client, headers, profile["phone"], "proxy_failed", timeout=60)
    assert "proxy socks5://127.0.0.1" in failed["status_reason"]
    assert runtime.connected(profile_id) is None
    async with app.state.ctx.sessionmaker() as session:
        alerts = await session.scalars(select(Event).where(Event.profile == profile["phone"], Event.type == "alert"))
        assert any(a.payload.get("kind") == "profile_proxy_failed" for a in alerts)

    async with proxy_server("socks5", tmp_path) as replacement:
        patched = await client.patch(
            f"/profiles/{profile['phone']}", json={"proxy": replacement.body()}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["status"] == "active"
        assert await runtime.wait_connected(profile_id, 20)


async def test_an_mtproxy_with_its_secret(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    secret = secrets.token_hex(16)
    # The sandbox is the MTProxy here: it accepts obfuscation keyed with a registered secret, and only then.
    body = {"type": "mtproxy", "host": "127.0.0.1", "port": sandbox.port, "secret": "dd" + secret}
    refused = await start(client, headers, sandbox_phone(), body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "proxy_unreachable"
    sandbox.proxy_secrets.append(bytes.fromhex(secret))
    try:
        profile = await bind_through(client, headers, body)
        assert profile["proxy"] == {"type": "mtproxy", "host": "127.0.0.1", "port": sandbox.port}
        assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), 20)
        assert secret not in (await client.get("/profiles", headers=headers)).text
    finally:
        sandbox.proxy_secrets.remove(bytes.fromhex(secret))
