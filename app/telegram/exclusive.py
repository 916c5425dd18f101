"""A short-lived client for a profile this process does not keep connected, under the profile's lease.

For one-off work on a session (logging it out at Telegram): it waits for the lease (a connected owner elsewhere
makes it time out), connects without receiving updates, and lets every refusal pass the account watch as the
runtime's own clients do (app.telegram.health).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from telethon import TelegramClient

from app.telegram.health import AccountWatch
from app.telegram.runtime_contract import ProfileCredentials, lease_name

if TYPE_CHECKING:
    from app.telegram.runtime import ProfileRuntime


@contextlib.asynccontextmanager
async def exclusive_client(
    runtime: ProfileRuntime, credentials: ProfileCredentials, *, wait_s: float = 10.0
) -> AsyncIterator[TelegramClient]:
    """A connected client of the profile while this process holds its lease (TimeoutError after `wait_s`)."""
    name = lease_name(credentials.profile_id)
    deadline = asyncio.get_running_loop().time() + wait_s
    while not await runtime.leases.acquire(name, runtime.instance_id, runtime.lease_ttl_ms):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the profile is connected by another process")
        await asyncio.sleep(0.2)
    client = runtime.connector.client(
        credentials.session,
        api_id=credentials.api_id,
        api_hash=credentials.api_hash,
        receive_updates=False,
        identity=credentials.identity,
        proxy=credentials.proxy,
    )
    watch = AccountWatch(
        runtime.source,
        credentials.profile_id,
        client,
        limited_recheck_s=runtime.limited_recheck_s,
    )
    client.on_refusal = watch.on_refusal
    try:
        await client.connect()
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
        await runtime.leases.release(name, runtime.instance_id)
