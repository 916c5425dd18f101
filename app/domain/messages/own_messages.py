"""Editing and deleting the profile's own messages in a stored conversation.

The change is made at Telegram first, then stored and announced through the same functions as an edit or
deletion that arrives as an update (app.domain.messages.store): whichever of the two comes first stores it and
emits `message.edited` / `message.deleted`, the other finds nothing new and emits nothing.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import release_connection
from app.db.models import Chat, Message, TelegramProfile
from app.domain.messages import inbox, send_rules, store
from app.domain.messages.schemas import StoredMessage
from app.lib.errors import Conflict, NotFound
from app.telegram.commands import ProfileCommands
from app.telegram.updates import DeletedMessages, EditedMessage, ProfileRef

SEPARATELY_NUMBERED = ("channel", "supergroup")  # chats whose deletions name the chat (not the account's box)


async def _own_message(
    session: AsyncSession, owner_id: UUID, conversation_id: UUID, message_id: UUID
) -> tuple[Chat, Message, TelegramProfile]:
    chat = await inbox.get_conversation(session, owner_id, conversation_id)
    row = await session.get(Message, message_id)
    if row is None or row.chat_id != chat.id:
        raise NotFound("message not found", code="message_not_found")
    if row.is_deleted:
        raise Conflict("the message is deleted", code="message_deleted")
    if row.telegram_message_id is None:
        raise Conflict("the message never reached Telegram", code="message_not_sent")
    profile = await inbox.owning_profile(session, chat)
    send_rules.require_live(profile)
    return chat, row, profile


def _ref(profile: TelegramProfile) -> ProfileRef:
    return ProfileRef(profile.id, profile.owner_id, profile.phone)


async def edit(
    session: AsyncSession, commands: ProfileCommands, owner_id: UUID, conversation_id: UUID, message_id: UUID, text: str
) -> StoredMessage:
    """Edit the text at Telegram, then store it (keeping the previous text) and announce it once."""
    text = send_rules.validate_text(text)
    chat, row, profile = await _own_message(session, owner_id, conversation_id, message_id)
    peer, telegram_id = send_rules.peer_of(chat), row.telegram_message_id
    assert telegram_id is not None
    await release_connection(session)  # no connection held while Telegram answers
    info = await commands.edit_message(profile.id, peer, telegram_id, text)
    await session.refresh(row)  # the update of the same edit may have been stored meanwhile
    loop_time = asyncio.get_running_loop().time()
    await store.record_edit(session, EditedMessage(_ref(profile), peer, info, loop_time))
    await session.refresh(row)
    return send_rules.stored(row)


async def delete(
    session: AsyncSession,
    commands: ProfileCommands,
    owner_id: UUID,
    conversation_id: UUID,
    message_id: UUID,
    *,
    revoke: bool,
) -> None:
    """Delete at Telegram (for everyone with `revoke`), then mark it deleted and announce it once."""
    chat, row, profile = await _own_message(session, owner_id, conversation_id, message_id)
    peer, telegram_id = send_rules.peer_of(chat), row.telegram_message_id
    assert telegram_id is not None
    await release_connection(session)
    await commands.delete_messages(profile.id, peer, [telegram_id], revoke)
    channel_peer_id = chat.peer_id if chat.kind in SEPARATELY_NUMBERED else None
    loop_time = asyncio.get_running_loop().time()
    await store.record_deleted(session, DeletedMessages(_ref(profile), channel_peer_id, (telegram_id,), loop_time))
