"""What gap recovery reads from Telegram (app.domain.messages.gaps), as the one message vocabulary.

A `GapReader` wraps a profile's connected client: the chats to look at (the newest dialogs, or one channel), the
newest window of a chat's history, whether messages lie between two ids, and a stored chat as something to read.
Messages come back as `MessageInfo` (app.telegram.records); a chat to read is a `ChatWindow`, whose `peer` only
this package looks into. A flood wait Telegram does not let Telethon sleep through is `FloodWait`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telethon import TelegramClient, errors, types, utils

from app.telegram.gaps import GapAwareClient, GapNotice
from app.telegram.history import FloodWait
from app.telegram.records import MessageInfo, PeerInfo, message_info, peer_info


@dataclass(frozen=True, slots=True)
class ChatWindow:
    """A chat to read: how to address it (opaque outside app.telegram), who it is, its newest id if known."""

    peer: Any
    ref: PeerInfo
    top: int | None = None


def listen_for_gaps(client: Any, listener: Callable[[GapNotice], None]) -> None:
    """Hear every TooLong answer of this client (app.telegram.gaps); a client that cannot tell is left alone."""
    if isinstance(client, GapAwareClient):
        client.listen(listener)


class GapReader:
    """Reads of one connected profile's client for gap recovery."""

    def __init__(self, client: TelegramClient) -> None:
        self._client = client

    def connected(self) -> bool:
        return bool(self._client.is_connected())

    async def dialogs(self, limit: int) -> list[ChatWindow]:
        """The newest `limit` dialogs that have a message, each with its newest message id."""
        dialogs = [d for d in await self._client.get_dialogs(limit=limit) if d.message is not None]
        return [ChatWindow(d.input_entity, peer_info(d.entity, d.id), d.message.id) for d in dialogs]

    async def channel(self, channel_id: int) -> ChatWindow:
        """A channel or supergroup by its bare id."""
        peer_id = utils.get_peer_id(types.PeerChannel(channel_id))
        entity = await self._client.get_entity(peer_id)
        return ChatWindow(utils.get_input_peer(entity), peer_info(entity, peer_id))

    async def stored_chat(self, ref: PeerInfo) -> ChatWindow:
        """A stored chat: from the profile's peers, else from the chat's own access hash."""
        try:
            peer = await self._client.get_input_entity(ref.peer_id)
        except ValueError:
            real_id, peer_type = utils.resolve_id(ref.peer_id)
            if peer_type is types.PeerChat:
                peer = types.InputPeerChat(real_id)
            else:
                peer = types.InputPeerUser(real_id, ref.access_hash or 0)
        return ChatWindow(peer, ref)

    async def window(self, chat: ChatWindow, limit: int) -> list[MessageInfo]:
        """The newest `limit` messages of the chat (service messages too: their ids exist), newest first."""
        try:
            found = await self._client.get_messages(chat.peer, limit=limit)
        except errors.FloodWaitError as wait:
            raise FloodWait(wait.seconds) from None
        return [message_info(m) for m in found if not isinstance(m, types.MessageEmpty)]

    async def any_between(self, chat: ChatWindow, *, above: int, below: int) -> bool:
        """Whether the chat has a message with an id in (above, below)."""
        try:
            return bool(await self._client.get_messages(chat.peer, limit=1, max_id=below, min_id=above))
        except errors.FloodWaitError as wait:
            raise FloodWait(wait.seconds) from None
