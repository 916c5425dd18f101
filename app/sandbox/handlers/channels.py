"""channels.* : lookups, join/leave, read, delete and full info for broadcast channels and megagroups."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import render
from ..rpc import RpcContext, RpcError, rpc
from ..state import StoredMessage
from . import history, peers


@rpc(functions.channels.GetChannelsRequest)
async def get_channels(ctx: RpcContext, request: functions.channels.GetChannelsRequest) -> types.messages.Chats:
    chats: list[TLObject] = []
    for item in request.id:
        found = ctx.dc.state.channels.get(getattr(item, "channel_id", 0))
        if found is None or not peers.hash_ok(ctx, getattr(item, "access_hash", 0), found):
            raise RpcError(400, "CHANNEL_INVALID")
        chats.append(render.chat(found, ctx.user.id))
    return types.messages.Chats(chats=chats)


@rpc(functions.channels.GetFullChannelRequest)
async def get_full_channel(
    ctx: RpcContext, request: functions.channels.GetFullChannelRequest
) -> types.messages.ChatFull:
    channel = peers.channel(ctx, request.channel)
    member = channel.members.get(ctx.user.id)
    read_max = member.read_inbox_max_id if member else 0
    full = types.ChannelFull(
        id=channel.id,
        about=channel.about,
        read_inbox_max_id=read_max,
        read_outbox_max_id=max(channel.messages, default=0),
        unread_count=sum(1 for mid in channel.messages if mid > read_max) if member else 0,
        chat_photo=types.PhotoEmpty(id=0),
        notify_settings=render.notify_settings(),
        bot_info=[],
        pts=channel.log.pts,
        participants_count=len(channel.members),
        can_view_participants=not channel.broadcast,
        **_migrated_from(ctx, channel.migrated_from),
    )
    creator = ctx.dc.state.users.get(channel.creator_id)
    users = [render.user(creator, ctx.user)] if creator else []
    return types.messages.ChatFull(full_chat=full, chats=[render.channel(channel, ctx.user.id)], users=users)


def _migrated_from(ctx: RpcContext, group_id: int) -> dict[str, int]:
    """A supergroup upgraded from a basic group names it, and the viewer's newest message id in it."""
    group = ctx.dc.state.groups.get(group_id) if group_id else None
    if group is None:
        return {}
    copies = history.conversation(ctx.user, group.id, "chat")
    return {"migrated_from_chat_id": group.id, "migrated_from_max_id": max((m.id for m in copies), default=0)}


@rpc(functions.channels.GetMessagesRequest)
async def get_messages(ctx: RpcContext, request: functions.channels.GetMessagesRequest) -> TLObject:
    channel = peers.channel(ctx, request.channel)
    found: list[StoredMessage] = []
    empty: list[int] = []
    for item in request.id:
        msg_id = getattr(item, "id", None)
        if isinstance(msg_id, int) and msg_id in channel.messages:
            found.append(channel.messages[msg_id])
        elif isinstance(msg_id, int):
            empty.append(msg_id)
    result = history.messages_result(ctx.dc.state, ctx.user, found, len(found), channel)
    assert isinstance(result, types.messages.ChannelMessages)
    result.messages.extend(render.message_empty(i) for i in empty)
    return result


@rpc(functions.channels.DeleteMessagesRequest)
async def delete_messages(ctx: RpcContext, request: functions.channels.DeleteMessagesRequest) -> TLObject:
    channel = peers.channel(ctx, request.channel, member=True)
    return ctx.dc.actions.delete_channel_messages(ctx.user, channel, list(request.id), origin=ctx.conn)


@rpc(functions.channels.ReadHistoryRequest)
async def read_history(ctx: RpcContext, request: functions.channels.ReadHistoryRequest) -> bool:
    channel = peers.channel(ctx, request.channel, member=True)
    return ctx.dc.actions.read_channel(ctx.user, channel, request.max_id)


@rpc(functions.channels.JoinChannelRequest)
async def join_channel(
    ctx: RpcContext, request: functions.channels.JoinChannelRequest
) -> types.messages.ChatInviteJoinResultOk:
    # At the pinned layer joinChannel answers messages.ChatInviteJoinResult (the Updates ride inside), not Updates.
    channel = peers.channel(ctx, request.channel)
    return types.messages.ChatInviteJoinResultOk(updates=ctx.dc.actions.join(ctx.user, channel, origin=ctx.conn))


@rpc(functions.channels.LeaveChannelRequest)
async def leave_channel(ctx: RpcContext, request: functions.channels.LeaveChannelRequest) -> TLObject:
    channel = peers.channel(ctx, request.channel, member=True)
    return ctx.dc.actions.leave(ctx.user, channel, origin=ctx.conn)


@rpc(functions.channels.GetParticipantsRequest)
async def get_participants(
    ctx: RpcContext, request: functions.channels.GetParticipantsRequest
) -> types.channels.ChannelParticipants:
    channel = peers.channel(ctx, request.channel, member=True)
    if channel.broadcast and not channel.members[ctx.user.id].admin:
        raise RpcError(400, "CHAT_ADMIN_REQUIRED")
    ids = sorted(channel.members)[request.offset : request.offset + max(0, request.limit or 200)]
    participants: list[TLObject] = []
    for uid in ids:
        joined = render.ts(channel.members[uid].joined)
        if uid == channel.creator_id:
            participants.append(types.ChannelParticipantCreator(uid, types.ChatAdminRights()))
        else:
            participants.append(types.ChannelParticipant(uid, joined))
    users = [render.user(ctx.dc.state.users[uid], ctx.user) for uid in ids if uid in ctx.dc.state.users]
    return types.channels.ChannelParticipants(
        count=len(channel.members), participants=participants, chats=[], users=users
    )
