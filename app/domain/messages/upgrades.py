"""A basic group upgraded to a supergroup (messages.migrateChat) stays ONE conversation with its whole history.

Telegram ends the group with messageActionChatMigrateTo (in the account's own message box) and starts the
supergroup with messageActionChannelMigrateFrom (message 1 of the channel, numbered on its own). The two
number their messages separately, so their rows cannot share one chat row (unique (chat, telegram id)). When
the ingest stores either service message, `link` makes them one conversation:

- The conversation keeps the id clients first saw and gains the supergroup's peer (`peer_id`, `kind`
  supergroup, `migrated_from_peer_id` = the group). Usually that is the group's row: its messages then move to a
  hidden row of the group's peer (`merged_into_id` = the conversation), where late updates of the group (an id-only
  deletion, an edit) still find them; the supergroup's messages stored so far move into the conversation.
- When the supergroup's row was seen first, it stays the conversation and the group's row is hidden into it.

`GET /conversations` lists only conversations (never hidden rows); their messages page over the conversation
and its hidden rows; a hidden row's id answers as its conversation. Nothing is copied, so nothing is stored twice.
"""

from __future__ import annotations

from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Chat, ChatKind, Message
from app.telegram.updates import ProfileRef


async def link(session: AsyncSession, profile: ProfileRef, group_peer: int, channel_peer: int) -> Chat | None:
    """Make the group and its supergroup one conversation (idempotent); returns the conversation, if stored."""
    await session.flush()
    group = await _chat(session, profile.profile_id, group_peer)
    channel = await _chat(session, profile.profile_id, channel_peer)
    if group is not None and group.merged_into_id is not None:  # linked before (by the supergroup's update)
        conversation = await session.get(Chat, group.merged_into_id, populate_existing=True)
        if conversation is not None and group.unread_count:
            # Group messages stored after the link (the group's last update came after the supergroup's) count
            # in the conversation; the group's own last update is this one, so nothing comes after it.
            _hide(group, into=conversation)
            await session.flush()
        return conversation
    if group is None:
        if channel is not None:
            channel.migrated_from_peer_id = group_peer
        return channel
    if channel is not None and channel.created_at < group.created_at:
        _hide(group, into=channel)
        channel.migrated_from_peer_id = group_peer
        await session.flush()
        return channel
    # The group's row stays the conversation: its own messages go to a hidden row of the group's peer.
    conversation = group
    conversation.peer_id = 0  # frees (profile, group peer) for the hidden row within this transaction
    await session.flush()
    hidden = Chat(
        id=uuid7(),
        owner_id=conversation.owner_id,
        profile_id=conversation.profile_id,
        profile_phone=conversation.profile_phone,
        peer_id=group_peer,
        kind=ChatKind.GROUP.value,
        title=conversation.title,
        unread_count=0,
        read_outbox_max_id=conversation.read_outbox_max_id,
        last_message_at=conversation.last_message_at,
        can_post=False,
        merged_into_id=conversation.id,
    )
    session.add(hidden)
    await session.flush()
    await session.execute(
        update(Message).where(Message.chat_id == conversation.id).values(chat_id=hidden.id),
        execution_options={"synchronize_session": False},
    )
    conversation.read_outbox_max_id = 0
    if channel is not None:
        await session.execute(
            update(Message).where(Message.chat_id == channel.id).values(chat_id=conversation.id),
            execution_options={"synchronize_session": False},
        )
        conversation.unread_count += channel.unread_count
        conversation.title = channel.title or conversation.title
        conversation.username, conversation.access_hash = channel.username, channel.access_hash
        conversation.can_post = channel.can_post
        conversation.read_outbox_max_id = channel.read_outbox_max_id
        if channel.last_message_at and (
            conversation.last_message_at is None or conversation.last_message_at < channel.last_message_at
        ):
            conversation.last_message_at = channel.last_message_at
        await session.execute(delete(Chat).where(Chat.id == channel.id))
        session.expunge(channel)
    else:
        conversation.access_hash = None  # the supergroup's hash comes with its first message
    conversation.peer_id = channel_peer
    conversation.kind = ChatKind.SUPERGROUP.value
    conversation.migrated_from_peer_id = group_peer
    await session.flush()
    for message in list(session.sync_session.identity_map.values()):  # moved by Core statements: reload when read
        if isinstance(message, Message):
            session.expire(message, ["chat_id"])
    return conversation


def _hide(row: Chat, *, into: Chat) -> None:
    """`row` becomes a hidden row of `into`: its unread messages count in the conversation from now on."""
    row.merged_into_id = into.id
    into.unread_count += row.unread_count
    row.unread_count = 0
    if row.last_message_at and (into.last_message_at is None or into.last_message_at < row.last_message_at):
        into.last_message_at = row.last_message_at


async def _chat(session: AsyncSession, profile_id: UUID, peer_id: int) -> Chat | None:
    # Fresh from the database: the ingest's bulk path updates counters with Core statements.
    query = select(Chat).where(Chat.profile_id == profile_id, Chat.peer_id == peer_id)
    return await session.scalar(query.execution_options(populate_existing=True))


async def resolve(session: AsyncSession, chat: Chat) -> Chat:
    """The conversation a (possibly hidden) chat row belongs to."""
    if chat.merged_into_id is None:
        return chat
    return await session.get(Chat, chat.merged_into_id) or chat


def rows_of(conversation_id: UUID) -> ColumnElement[bool]:
    """Messages of a conversation: its own row's and its hidden rows' (a basic group before its upgrade)."""
    hidden = select(Chat.id).where(Chat.merged_into_id == conversation_id)
    return or_(Message.chat_id == conversation_id, Message.chat_id.in_(hidden))
