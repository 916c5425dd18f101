"""Fixtures: a fresh in-memory SandboxDC per test and a factory of plain Telethon clients pointed at it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from telethon import TelegramClient
from telethon.crypto import rsa
from telethon.sessions import StringSession

from app.sandbox import SandboxDC

API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"

logging.getLogger("telethon").setLevel(logging.ERROR)


@pytest.fixture
async def dc() -> AsyncIterator[SandboxDC]:
    sandbox = SandboxDC()
    await sandbox.start()
    rsa.add_key(sandbox.public_key_pem, old=False)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


ClientFactory = Callable[..., TelegramClient]


@pytest.fixture
async def make_client(dc: SandboxDC) -> AsyncIterator[ClientFactory]:
    """`make_client(session_string=None, **kwargs)` -> an unconnected TelegramClient aimed at the sandbox."""
    clients: list[TelegramClient] = []

    def factory(session: str | None = None, port: int | None = None, **kwargs: Any) -> TelegramClient:
        kwargs.setdefault("flood_sleep_threshold", 0)
        kwargs.setdefault("receive_updates", True)
        client = TelegramClient(StringSession(session), API_ID, API_HASH, **kwargs)
        if session is None:
            client.session.set_dc(dc.dc_id, "127.0.0.1", port or dc.port)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        if client.is_connected():
            await client.disconnect()


@pytest.fixture
async def login_as(dc: SandboxDC, make_client: ClientFactory) -> Callable[..., Awaitable[TelegramClient]]:
    """Connect a client that is already logged in as `user` (session minted by the control API)."""

    async def connect(user: Any, **kwargs: Any) -> TelegramClient:
        client = make_client(dc.control.login_session(user), **kwargs)
        await client.connect()
        assert await client.get_me() is not None
        return client

    return connect


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll until `predicate()` holds (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def alice(dc: SandboxDC) -> Any:
    return dc.control.create_user(phone="15550001", first_name="Alice", username="alice", password="hunter2")


@pytest.fixture
def bob(dc: SandboxDC) -> Any:
    return dc.control.create_user(phone="15550002", first_name="Bob", username="bob")
