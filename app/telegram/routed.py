"""ProfileCommands that work from any process: locally where the runtime runs, else at the owning worker.

An API-only process has no Telegram connections. It finds the worker holding the profile's lease and asks it
over the command bus; arguments and results are msgspec-serialisable, converted back to the annotated types.
"""

from __future__ import annotations

import inspect
from functools import cache, partial
from typing import Any, get_type_hints
from uuid import UUID

import msgspec

from app.lib.errors import Conflict
from app.telegram.bus import CommandBus
from app.telegram.channels import ChannelInfo, ChannelRef
from app.telegram.commands import (
    DialogPage,
    ProfileCommands,
    ReadResult,
    SentMessage,
    UnreadDialog,
)
from app.telegram.history import ReadableChannel
from app.telegram.leases import LeaseStore
from app.telegram.records import MessageInfo, PeerInfo
from app.telegram.runtime import lease_name

ROUTED = (
    "resolve_peer",
    "dialogs",
    "unread",
    "history",
    "recent_messages",
    "send_message",
    "read",
    "join_channel",
    "leave_channel",
    "channel_messages",
    "readable_channels",
    "resolve_channel",
)


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

    async def resolve_peer(self, profile_id: UUID, receiver: str | int) -> PeerInfo:
        result: PeerInfo = await self._route("resolve_peer", profile_id, receiver)
        return result

    async def dialogs(self, profile_id: UUID, *, limit: int, offset: int) -> DialogPage:
        result: DialogPage = await self._route("dialogs", profile_id, limit=limit, offset=offset)
        return result

    async def unread(self, profile_id: UUID, *, per_dialog: int, max_dialogs: int = 100) -> list[UnreadDialog]:
        result: list[UnreadDialog] = await self._route(
            "unread", profile_id, per_dialog=per_dialog, max_dialogs=max_dialogs
        )
        return result

    async def history(
        self, profile_id: UUID, peer: str | int, *, limit: int, before_id: int | None = None
    ) -> tuple[PeerInfo, list[MessageInfo]]:
        result: tuple[PeerInfo, list[MessageInfo]] = await self._route(
            "history", profile_id, peer, limit=limit, before_id=before_id
        )
        return result

    async def recent_messages(
        self, profile_id: UUID, peer: PeerInfo, *, limit: int, min_id: int = 0
    ) -> list[MessageInfo]:
        result: list[MessageInfo] = await self._route("recent_messages", profile_id, peer, limit=limit, min_id=min_id)
        return result

    async def send_message(
        self,
        profile_id: UUID,
        peer: PeerInfo,
        text: str,
        *,
        reply_to: int | None = None,
        silent: bool = False,
        entities: list[dict[str, Any]] | None = None,
    ) -> SentMessage:
        result: SentMessage = await self._route(
            "send_message", profile_id, peer, text, reply_to=reply_to, silent=silent, entities=entities
        )
        return result

    async def read(self, profile_id: UUID, peer: str | int, *, max_id: int | None = None) -> ReadResult:
        result: ReadResult = await self._route("read", profile_id, peer, max_id=max_id)
        return result

    async def join_channel(self, profile_id: UUID, ref: ChannelRef) -> ChannelInfo:
        result: ChannelInfo = await self._route("join_channel", profile_id, ref)
        return result

    async def leave_channel(self, profile_id: UUID, peer_id: int) -> bool:
        result: bool = await self._route("leave_channel", profile_id, peer_id)
        return result

    async def channel_messages(
        self, profile_id: UUID, peer_id: int, *, min_id: int = 0, limit: int = 100
    ) -> list[MessageInfo]:
        result: list[MessageInfo] = await self._route(
            "channel_messages", profile_id, peer_id, min_id=min_id, limit=limit
        )
        return result

    async def readable_channels(self, profile_id: UUID) -> list[ReadableChannel]:
        result: list[ReadableChannel] = await self._route("readable_channels", profile_id)
        return result

    async def resolve_channel(self, profile_id: UUID, ref: str) -> ReadableChannel:
        result: ReadableChannel = await self._route("resolve_channel", profile_id, ref)
        return result
