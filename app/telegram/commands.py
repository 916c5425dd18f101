"""Every Telegram action the API performs for a profile, behind one narrow, serialisable interface.

`ProfileCommands` takes a profile id and plain arguments and returns msgspec Structs, so another
implementation can route the same calls over Redis to the process that owns the profile's connection.
This one runs them on the live client of this process (409 `profile_not_connected` when there is none).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from telethon import TelegramClient, types, utils

from app.lib.errors import AppError, Conflict, NotFound, TooManyRequests, ValidationFailed
from app.lib.json_input import fits_int64
from app.telegram import channels
from app.telegram.contacts import ContactCommands, PhoneLookups
from app.telegram.entities import to_telethon
from app.telegram.errors import send_error
from app.telegram.history import (
    HistoryItem,
    ReadableChannel,
    download_media,
    input_peer,
    read_after,
    readable_channels,
    resolve_channel,
)
from app.telegram.lookups import UsernameLookups
from app.telegram.media import MediaCommands
from app.telegram.operations import routed_operation, routed_operations
from app.telegram.own_messages import OwnMessageCommands
from app.telegram.pacing import PacingRefused, SendGovernor, retry_after_seconds
from app.telegram.peers import PeerRecord, ProfileSession
from app.telegram.records import MessageInfo, PeerInfo, kind_of_peer_id, message_info, peer_info
from app.telegram.runtime import ProfileRuntime

_PHONE_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/\+([0-9]{7,15})/?$", re.IGNORECASE)
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?@?([A-Za-z0-9_]+)/?$", re.IGNORECASE)
_USERNAME = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{0,31}$")
_PHONE = re.compile(r"^\+[0-9]{7,15}$")  # ASCII digits only: `\d` matches every script's digits
_NUMERIC = re.compile(r"^-?\d+$")


class DialogInfo(msgspec.Struct, frozen=True):
    peer: PeerInfo
    unread_count: int
    pinned: bool = False
    last_message: MessageInfo | None = None


class DialogPage(msgspec.Struct, frozen=True):
    items: list[DialogInfo]
    total: int
    offset: int
    limit: int


class UnreadDialog(msgspec.Struct, frozen=True):
    dialog: DialogInfo
    messages: list[MessageInfo]


class SentMessage(msgspec.Struct, frozen=True):
    peer: PeerInfo
    message: MessageInfo


class ReadResult(msgspec.Struct, frozen=True):
    peer: PeerInfo
    max_id: int


def record_info(record: PeerRecord) -> PeerInfo:
    return PeerInfo(record.peer_id, record.kind, record.title, record.username, record.access_hash)


def parse_receiver(receiver: str | int) -> str | int:
    """A numeric id (int), '+phone' (also from t.me/+phone), or a bare username from '@name', 'name' or a t.me link."""
    if isinstance(receiver, int):
        return receiver
    value = receiver.strip()
    if _NUMERIC.match(value):
        if not fits_int64(int(value)):
            raise ValidationFailed("a numeric receiver must fit in 64 bits", details=[{"field": "tg_receiver"}])
        return int(value)
    compact = re.sub(r"[\s().-]", "", value)
    if _PHONE.match(compact):
        return compact
    phone_link = _PHONE_LINK.match(value)  # t.me/+<number> (t.me/+<hash> with letters is an invite)
    if phone_link:
        return f"+{phone_link.group(1)}"
    link = _LINK.match(value)
    if link:
        return link.group(1)
    if _USERNAME.match(value):
        return value.lstrip("@")
    raise NotFound("receiver not found: expected a numeric id, @username, +phone or t.me link", code="peer_not_found")


class ProfileCommands(ContactCommands, MediaCommands, OwnMessageCommands):
    """Telegram actions on the profiles this process keeps connected."""

    def __init__(
        self,
        runtime: ProfileRuntime,
        governor: SendGovernor,
        *,
        connect_wait_s: float = 5.0,
        lookups: UsernameLookups | None = None,
        phones: PhoneLookups | None = None,
    ) -> None:
        self.runtime = runtime
        self.governor = governor
        self.connect_wait_s = connect_wait_s
        self.lookups = lookups or UsernameLookups()
        self.phones = phones or PhoneLookups()

    async def _client(self, profile_id: UUID) -> TelegramClient:
        refused = self.runtime.refused(profile_id)
        if refused is not None:
            raise Conflict(f"the profile is {refused}", code="profile_not_active")
        connected = self.runtime.connected(profile_id)
        if connected is None and profile_id in self.runtime.supervised_ids():
            connected = await self.runtime.wait_connected(profile_id, self.connect_wait_s)
        if connected is None:
            raise Conflict("the profile has no live Telegram connection in this process", code="profile_not_connected")
        return connected.client

    async def _peer(self, profile_id: UUID, client: TelegramClient, receiver: str | int) -> tuple[Any, PeerInfo]:
        """The receiver as an InputPeer with this profile's own access hash, and who it is; 404 when unknown.

        Usernames come from the profile's records while fresh, else from one paced lookup; numeric ids only from
        the peers this profile has seen (Telegram refuses a hash of 0 or one issued to another account).
        """
        target = parse_receiver(receiver)
        session = client.session
        try:
            if isinstance(target, str) and not target.startswith("+"):
                record = await self.lookups.resolve(profile_id, client, target)
                return record.input_peer(), record_info(record)
            if isinstance(target, int):
                known = session.peers.get(target) if isinstance(session, ProfileSession) else None
                if known is None:
                    raise NotFound("receiver not found: this profile has never seen this id", code="peer_not_found")
                return known.input_peer(), record_info(known)
            record = await self.phones.resolve(profile_id, client, target)  # a +phone: contacts.resolvePhone
            return record.input_peer(), record_info(record)
        except AppError:
            raise
        except Exception as exc:
            raise send_error(exc) from None

    async def _input_peer(self, profile_id: UUID, client: TelegramClient, peer: PeerInfo) -> Any:
        try:
            return await client.get_input_entity(peer.peer_id)
        except ValueError:
            if peer.access_hash is None:  # the hash came from this profile's own chat row when it is set
                return (await self._peer(profile_id, client, peer.peer_id))[0]
            real_id, peer_type = utils.resolve_id(peer.peer_id)
            if peer_type is types.PeerChannel:
                return types.InputPeerChannel(real_id, peer.access_hash)
            if peer_type is types.PeerChat:
                return types.InputPeerChat(real_id)
            return types.InputPeerUser(real_id, peer.access_hash)

    @routed_operation
    async def resolve_peer(self, profile_id: UUID, receiver: str | int) -> PeerInfo:
        """Who `receiver` (numeric id, @username, +phone, t.me link) is; 404 when nobody."""
        client = await self._client(profile_id)
        return (await self._peer(profile_id, client, receiver))[1]

    @routed_operation
    async def dialogs(self, profile_id: UUID, *, limit: int, offset: int) -> DialogPage:
        client = await self._client(profile_id)
        try:
            dialogs = await client.get_dialogs(limit=offset + limit)
        except Exception as exc:
            raise send_error(exc) from None
        items = [self._dialog(d) for d in list(dialogs)[offset : offset + limit]]
        total = getattr(dialogs, "total", None) or len(dialogs)
        return DialogPage(items=items, total=total, offset=offset, limit=limit)

    @staticmethod
    def _dialog(dialog: Any) -> DialogInfo:
        return DialogInfo(
            peer=peer_info(dialog.entity),
            unread_count=dialog.unread_count or 0,
            pinned=bool(dialog.pinned),
            last_message=message_info(dialog.message) if dialog.message is not None else None,
        )

    @routed_operation
    async def unread(self, profile_id: UUID, *, per_dialog: int, max_dialogs: int = 100) -> list[UnreadDialog]:
        """Dialogs with unread messages and their newest unread messages; nothing is marked read."""
        client = await self._client(profile_id)
        result: list[UnreadDialog] = []
        try:
            async for dialog in client.iter_dialogs(limit=max_dialogs):
                if not dialog.unread_count:
                    continue
                count = min(dialog.unread_count, per_dialog)
                messages = await client.get_messages(dialog.input_entity, limit=count)
                result.append(UnreadDialog(self._dialog(dialog), [message_info(m) for m in messages]))
        except Exception as exc:
            raise send_error(exc) from None
        return result

    @routed_operation
    async def history(
        self, profile_id: UUID, peer: str | int, *, limit: int, before_id: int | None = None
    ) -> tuple[PeerInfo, list[MessageInfo]]:
        client = await self._client(profile_id)
        entity, info = await self._peer(profile_id, client, peer)
        try:
            messages = await client.get_messages(entity, limit=limit, max_id=before_id or 0)
        except Exception as exc:
            raise send_error(exc) from None
        return info, [message_info(m) for m in messages if not isinstance(m, types.MessageEmpty)]

    @routed_operation
    async def recent_messages(
        self, profile_id: UUID, peer: PeerInfo, *, limit: int, min_id: int = 0
    ) -> list[MessageInfo]:
        """The newest `limit` messages above `min_id` with a known peer, newest first; no service messages.

        Checks whether a send went through, and finds what the stored inbox lacks (app.domain.messages.reconcile).
        """
        client = await self._client(profile_id)
        try:
            entity = await self._input_peer(profile_id, client, peer)
            messages = await client.get_messages(entity, limit=limit, min_id=min_id)
        except Exception as exc:
            raise send_error(exc) from None
        return [message_info(m) for m in messages if isinstance(m, types.Message)]

    @routed_operation
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
        """Send `text` verbatim with `entities` (JSON, app.telegram.entities) once the pacing governor allows it.

        429 `send_rate_limited` when that turn is too far away. Telethon's default parse mode (markdown) is off:
        what the caller wrote is what the peer reads.
        """
        client = await self._client(profile_id)
        try:
            await self.governor.wait_turn(profile_id, peer.peer_id, group=peer.kind in ("group", "supergroup"))
        except PacingRefused as refused:
            raise TooManyRequests(
                f"sending now would wait {refused.retry_after:.0f} s for the pacing limits",
                retry_after=retry_after_seconds(refused.retry_after),
                code="send_rate_limited",
            ) from None
        try:
            entity = await self._input_peer(profile_id, client, peer)
            message = await client.send_message(
                entity,
                text,
                reply_to=reply_to,
                silent=silent,
                link_preview=False,
                parse_mode=None,
                formatting_entities=await to_telethon(client, entities),
            )
        except Exception as exc:
            raise send_error(exc) from None
        return SentMessage(peer=peer, message=message_info(message))

    @routed_operation
    async def read(self, profile_id: UUID, peer: str | int, *, max_id: int | None = None) -> ReadResult:
        """Mark the peer's messages up to `max_id` (default: the newest) as read."""
        client = await self._client(profile_id)
        entity, info = await self._peer(profile_id, client, peer)
        try:
            if max_id is None:
                newest = await client.get_messages(entity, limit=1)
                max_id = newest[0].id if newest else 0
            await client.send_read_acknowledge(entity, max_id=max_id)
        except Exception as exc:
            raise send_error(exc) from None
        return ReadResult(peer=info, max_id=max_id)

    @routed_operation
    async def join_channel(self, profile_id: UUID, ref: channels.ChannelRef) -> channels.ChannelInfo:
        """Join a channel (or confirm membership) and read its metadata; Telegram's refusals as precise 4xx."""
        client = await self._client(profile_id)

        async def resolve_username(name: str) -> PeerRecord:
            return await self.lookups.resolve(profile_id, client, name)

        return await channels.join(client, ref, resolve_username)

    @routed_operation
    async def leave_channel(self, profile_id: UUID, peer_id: int) -> bool:
        return await channels.leave(await self._client(profile_id), peer_id)

    @routed_operation
    async def readable_channels(self, profile_id: UUID) -> list[ReadableChannel]:
        """Channels and groups among the profile's dialogs (what archives can export)."""
        return await readable_channels(await self._client(profile_id))

    @routed_operation
    async def resolve_channel(self, profile_id: UUID, ref: str) -> ReadableChannel:
        """A channel or group by @username, t.me link or id; 404/403 when it cannot be read."""
        client = await self._client(profile_id)

        async def resolve_username(name: str) -> PeerRecord:
            return await self.lookups.resolve(profile_id, client, name)

        return await resolve_channel(client, ref, resolve_username)

    # Exports (app.domain.archives.runner) read here, where the profile is connected: a page hands back
    # Telethon's messages for their media downloads, so these two are not routed over the command bus.

    async def history_page(
        self,
        profile_id: UUID,
        channel_id: int,
        access_hash: int | None,
        *,
        after_id: int,
        since: datetime | None,
        limit: int,
        basic_group: bool = False,
    ) -> list[HistoryItem]:
        """Up to `limit` channel (or basic group) messages above `after_id`, oldest first; FloodWait and
        HistoryUnavailable as such."""
        client, peer = await self._client(profile_id), input_peer(channel_id, access_hash, basic_group=basic_group)
        return await read_after(client, peer, after_id=after_id, since=since, limit=limit)

    async def history_media(self, profile_id: UUID, item: HistoryItem) -> tuple[bytes, str] | None:
        """The media of a message of `history_page` as bytes and a file name, or None when there is none."""
        return await download_media(await self._client(profile_id), item)

    @routed_operation
    async def channel_messages(
        self, profile_id: UUID, peer_id: int, *, min_id: int = 0, limit: int = 100
    ) -> list[MessageInfo]:
        """The newest `limit` channel messages above `min_id`, oldest first (backfill and failover catch-up)."""
        client = await self._client(profile_id)
        found = await channels.messages_after(client, peer_id, min_id=min_id, limit=limit)
        return [message_info(m) for m in found]


__all__ = [
    "DialogInfo",
    "DialogPage",
    "MessageInfo",
    "PeerInfo",
    "ProfileCommands",
    "ReadResult",
    "SentMessage",
    "UnreadDialog",
    "kind_of_peer_id",
    "parse_receiver",
    "routed_operation",
    "routed_operations",
]
