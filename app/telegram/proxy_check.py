"""Whether Telegram can be reached through a proxy: checked when a proxy is set, before anything relies on it."""

from __future__ import annotations

import asyncio
import contextlib

from app.lib.proxies import ProxySpec
from app.telegram.connector import TelegramConnector

CHECK_TIMEOUT_S = 15.0


async def reaches_telegram(connector: TelegramConnector, proxy: ProxySpec, timeout_s: float = CHECK_TIMEOUT_S) -> bool:
    """Connect a client without a session through `proxy` (the auth-key exchange is the proof), then disconnect.

    One failed exchange is no verdict (a data center may drop one, as the sandbox's handshake test shows): a
    retry is allowed within `timeout_s`."""
    client = connector.client(None, receive_updates=False, connection_retries=2, auto_reconnect=False, proxy=proxy)
    try:
        async with asyncio.timeout(timeout_s):
            await client.connect()
        return bool(client.is_connected())
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
