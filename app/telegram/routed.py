"""ProfileCommands that work from any process: locally where the runtime runs, else at the owning worker.

An API-only process has no Telegram connections. It finds the worker holding the profile's lease and asks it
over the command bus; arguments and results are msgspec-serialisable, converted back to the annotated types.
Which operations travel is declared once, by `@routed_operation` on ProfileCommands; each gets its bus
handler and its forwarding method here from that declaration and its signature.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from functools import cache, partial
from typing import Any, get_type_hints
from uuid import UUID

import msgspec

from app.lib.errors import Conflict
from app.telegram.bus import CommandBus
from app.telegram.commands import ProfileCommands, routed_operations
from app.telegram.leases import LeaseStore
from app.telegram.runtime_contract import lease_name

ROUTED = routed_operations(ProfileCommands)


@cache
def _hints(name: str) -> dict[str, Any]:
    return get_type_hints(getattr(ProfileCommands, name))


def _bind(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    signature = inspect.signature(getattr(ProfileCommands, name))
    bound = signature.bind(None, None, *args, **kwargs)  # self, profile_id
    return {key: value for key, value in list(bound.arguments.items())[2:]}


class RoutedProfileCommands(ProfileCommands):
    def __init__(self, *args: Any, bus: CommandBus, leases: LeaseStore, timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bus = bus
        self.leases = leases
        self.timeout_s = timeout_s

    def serve(self) -> None:
        """Answer other processes' commands for the profiles this worker owns."""
        for name in ROUTED:
            self.bus.handle(f"commands.{name}", partial(self._serve, name))

    async def _serve(self, name: str, payload: dict[str, Any]) -> Any:
        hints = _hints(name)
        arguments = {key: msgspec.convert(value, hints[key]) for key, value in payload["arguments"].items()}
        return await getattr(ProfileCommands, name)(self, UUID(str(payload["profile_id"])), **arguments)

    async def _route(self, name: str, profile_id: UUID, *args: Any, **kwargs: Any) -> Any:
        if self.runtime.running:
            return await getattr(ProfileCommands, name)(self, profile_id, *args, **kwargs)
        holder = await self.leases.holder(lease_name(profile_id))
        if holder is None:
            raise Conflict("the profile has no live Telegram connection right now", code="profile_not_connected")
        payload = {"profile_id": str(profile_id), "arguments": msgspec.to_builtins(_bind(name, args, kwargs))}
        result = await self.bus.call(holder, f"commands.{name}", payload, timeout_s=self.timeout_s)
        return msgspec.convert(result, _hints(name)["return"])


def _forwarding(name: str) -> Callable[..., Awaitable[Any]]:
    async def forward(self: RoutedProfileCommands, profile_id: UUID, *args: Any, **kwargs: Any) -> Any:
        return await self._route(name, profile_id, *args, **kwargs)

    return functools.wraps(getattr(ProfileCommands, name))(forward)


for _name in ROUTED:
    setattr(RoutedProfileCommands, _name, _forwarding(_name))
