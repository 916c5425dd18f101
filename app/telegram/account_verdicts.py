"""What the runtime does with Telegram's verdict on a profile: a refused account, a failed proxy, a fatal error,
and the periodic account check of a connected profile (the part of `ProfileRuntime` that judges connections,
app.telegram.runtime the part that makes them)."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from telethon import TelegramClient, errors

from app.telegram.errors import status_for
from app.telegram.health import AccountWatch
from app.telegram.runtime_contract import ConnectedProfile, ProfileCredentials, ProfileSource

REFUSED_DISCONNECT_DELAY_S = 1.0


class AccountVerdicts:
    """Mixed into `ProfileRuntime`, whose state it reads and updates."""

    source: ProfileSource
    _connected: dict[UUID, ConnectedProfile]
    _watches: dict[UUID, AccountWatch]
    _refused: dict[UUID, str]
    _pending: set[asyncio.Future[Any]]

    def _refused_account(self, profile_id: UUID, client: TelegramClient, status: str) -> None:
        """Telegram refused the account (banned, logged out): no new work for it, then end its connection.

        The disconnect waits a moment so calls already in flight end with Telegram's own answer (a 401 the API
        turns into 409), not with a connection torn down under them.
        """
        self._refused[profile_id] = status
        self._connected.pop(profile_id, None)
        loop = asyncio.get_running_loop()
        # Telethon's disconnect() answers a shielded future, not a coroutine: ensure_future takes either.
        loop.call_later(REFUSED_DISCONNECT_DELAY_S, lambda: self._track(asyncio.ensure_future(client.disconnect())))

    def _track(self, task: asyncio.Future[Any]) -> None:
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def check_health(self, profile_id: UUID) -> bool | None:
        """Run the account check of a connected profile (app.telegram.health.AccountWatch.check).

        True when Telegram answered (a refusal too: the watch acted on it), False when it did not (a dropped
        connection, no answer in time), None when this worker does not have the profile connected.
        """
        watch = self._watches.get(profile_id)
        if watch is None or watch.dead:
            return None
        try:
            await watch.check()
        except errors.RPCError:
            return True
        except (ConnectionError, TimeoutError):
            return False
        return True

    def refused(self, profile_id: UUID) -> str | None:
        """The status of a profile Telegram refused while this process had it connected, if it did."""
        return self._refused.get(profile_id)

    async def _proxy_failed(self, credentials: ProfileCredentials, exc: BaseException) -> str:
        """The profile's proxy did not get it to Telegram: stop it there (never connect around the proxy)."""
        proxy = credentials.proxy
        assert proxy is not None
        reason = f"proxy {proxy.kind}://{proxy.host}:{proxy.port} did not connect: {type(exc).__name__}"
        await self.source.failed(credentials.profile_id, "proxy_failed", reason[:255])
        return "stop"

    async def _fail_if_fatal(self, profile_id: UUID, exc: BaseException) -> str:
        verdict = status_for(exc)
        if verdict is None:
            raise exc
        status, reason = verdict
        await self.source.failed(profile_id, status, reason)
        return "stop"
