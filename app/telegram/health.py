"""What Telegram says about one connected account, acted on where it is said.

Telegram does not push a ban or a revoked session: the account's next call answers 401. `AccountWatch` sees every
RPC error of the profile's client (`ObservedClient.on_refusal`), and its `check` (run for each connected profile
once per `PROFILE_HEALTH_INTERVAL_S` by the health monitor, app.domain.profiles.health) makes sure a silent
profile calls too:

- 401 `AUTH_KEY_UNREGISTERED`, `SESSION_REVOKED`, `USER_DEACTIVATED(_BAN)`... -> banned / deauthorized, disconnected;
- 420 `FROZEN_METHOD_INVALID` -> frozen, with the dates and appeal link of `help.getAppConfig` (Telegram 2025:
  `freeze_since_date`, `freeze_until_date`, `freeze_appeal_url`); the check also notices a freeze lifted;
- 400 `PEER_FLOOD` -> limited (spam-limited: it may only write to mutual contacts). Telegram lifts such limits
  after a while and says nothing: with `limited_recheck_s` the limit is assumed lifted that long after the last
  PEER_FLOOD (`limited_until`, checked by the health check); the next refused send sets it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from telethon import TelegramClient, errors, functions, types

from app.lib.logging import log_event
from app.telegram.errors import restriction_for, status_for


@dataclass(frozen=True, slots=True)
class Restriction:
    """A restricted but connected account: `frozen` (until, appeal link) or `limited`."""

    status: str
    reason: str
    until: datetime | None = None
    appeal_url: str | None = None


class RestrictionSink(Protocol):
    """Where the watch reports (the runtime's ProfileSource)."""

    async def failed(self, profile_id: UUID, status: str, reason: str) -> None: ...

    async def restricted(self, profile_id: UUID, restriction: Restriction) -> None: ...

    async def freeze_state(self, profile_id: UUID, freeze: Restriction | None) -> None: ...

    async def limit_check(self, profile_id: UUID) -> None: ...


def _json_value(value: Any) -> Any:
    if isinstance(value, types.JsonString):
        return value.value
    if isinstance(value, types.JsonNumber):
        return value.value
    if isinstance(value, types.JsonBool):
        return value.value
    return None


def freeze_of(config: types.help.AppConfig) -> Restriction | None:
    """The account's freeze as `help.getAppConfig` describes it, or None when it is not frozen."""
    values: dict[str, Any] = {}
    if isinstance(config.config, types.JsonObject):
        values = {item.key: _json_value(item.value) for item in config.config.value}
    since = values.get("freeze_since_date")
    if not since:
        return None
    until = values.get("freeze_until_date")
    appeal = values.get("freeze_appeal_url")
    return Restriction(
        status="frozen",
        reason="Telegram: FROZEN_METHOD_INVALID",
        until=datetime.fromtimestamp(int(until), UTC) if until else None,
        appeal_url=str(appeal)[:255] if appeal else None,
    )


class AccountWatch:
    """One connected profile's refusals and health check."""

    def __init__(
        self,
        sink: RestrictionSink,
        profile_id: UUID,
        client: TelegramClient,
        on_dead: Callable[[str], None] | None = None,
        *,
        limited_recheck_s: float = 0.0,
    ) -> None:
        self._sink = sink
        self.profile_id = profile_id
        self._client = client
        self._limited_recheck_s = limited_recheck_s
        self._on_dead = on_dead
        self._config_hash = 0
        self._reporting = asyncio.Lock()
        self.dead = False  # Telegram refused the account itself: do not reconnect

    async def on_refusal(self, exc: errors.RPCError) -> None:
        """Act on an RPC error of any call of this client; never raises (the caller's error must surface)."""
        try:
            await self._act(exc)
        except Exception as failure:  # a lost report is retried by the next call or check
            log_event(
                "warning",
                "telegram.health",
                "profile.refusal_unrecorded",
                f"could not record {type(exc).__name__}: {type(failure).__name__}",
                profile_id=self.profile_id,
            )

    async def _act(self, exc: errors.RPCError) -> None:
        verdict = status_for(exc)
        if verdict is not None:
            # Under the lock: a second refused call answers only once the first one's report is recorded.
            async with self._reporting:
                if self.dead:
                    return
                await self._sink.failed(self.profile_id, *verdict)
                self.dead = True
                if self._on_dead is not None:
                    self._on_dead(verdict[0])
            return
        restriction = restriction_for(exc)
        if restriction == "frozen":
            freeze = await self._read_freeze()
            await self._sink.restricted(
                self.profile_id, freeze or Restriction("frozen", "Telegram: FROZEN_METHOD_INVALID")
            )
        elif restriction == "limited":
            recheck = self._limited_recheck_s
            until = datetime.now(UTC) + timedelta(seconds=recheck) if recheck > 0 else None
            await self._sink.restricted(self.profile_id, Restriction("limited", "Telegram: PEER_FLOOD", until))

    async def _read_freeze(self) -> Restriction | None:
        config = await self._client(functions.help.GetAppConfigRequest(hash=0))
        return freeze_of(config) if isinstance(config, types.help.AppConfig) else None

    async def check(self) -> None:
        """The health check: a cheap call that needs a live authorization, then the freeze state if it changed."""
        # updates.getState costs Telegram nothing and needs a live authorization: a ban or a revoked session
        # answers 401 here, which `on_refusal` records.
        await self._client(functions.updates.GetStateRequest())
        await self._sink.limit_check(self.profile_id)
        config = await self._client(functions.help.GetAppConfigRequest(hash=self._config_hash))
        if isinstance(config, types.help.AppConfig):  # appConfigNotModified: nothing changed
            self._config_hash = config.hash
            await self._sink.freeze_state(self.profile_id, freeze_of(config))
