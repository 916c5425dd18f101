"""Actions on messages the profile sent: edit and delete (messages.editMessage, deleteMessages and the channel
forms), as Telegram allows them; its refusals (MESSAGE_NOT_MODIFIED, MESSAGE_AUTHOR_REQUIRED,
MESSAGE_EDIT_TIME_EXPIRED, ...) keep their status and name."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from telethon import TelegramClient, types

from app.telegram.errors import send_error
from app.telegram.operations import routed_operation
from app.telegram.records import MessageInfo, PeerInfo, message_info


class OwnMessageCommands:
    """Mixed into `ProfileCommands` (`_client` and `_input_peer` are its own)."""

    async def _client(self, profile_id: UUID) -> TelegramClient:  # pragma: no cover - provided by ProfileCommands
        raise NotImplementedError

    async def _input_peer(self, profile_id: UUID, client: TelegramClient, peer: PeerInfo) -> Any:  # pragma: no cover
        raise NotImplementedError

    @routed_operation
    async def edit_message(self, profile_id: UUID, peer: PeerInfo, message_id: int, text: str) -> MessageInfo:
        """Replace the text of one of the profile's messages (sent verbatim, no parse mode)."""
        client = await self._client(profile_id)
        try:
            target = await self._input_peer(profile_id, client, peer)
            edited = await client.edit_message(target, message_id, text, parse_mode=None, link_preview=False)
        except Exception as exc:
            raise send_error(exc) from None
        if not isinstance(edited, types.Message):
            raise send_error(ValueError("Telegram answered the edit without the message"))
        return message_info(edited)

    @routed_operation
    async def delete_messages(self, profile_id: UUID, peer: PeerInfo, message_ids: list[int], revoke: bool) -> int:
        """Delete messages (for everyone with `revoke`; channels and supergroups always); how many went."""
        client = await self._client(profile_id)
        try:
            target = await self._input_peer(profile_id, client, peer)
            affected = await client.delete_messages(target, message_ids, revoke=revoke)
        except Exception as exc:
            raise send_error(exc) from None
        return sum(getattr(item, "pts_count", 0) for item in affected)
