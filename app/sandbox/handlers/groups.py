"""messages.* for basic groups (`Chat`): create, members, title, lookups, full info, pins and migration."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import render
from ..rpc import RpcContext, RpcError, rpc
from ..state import BasicGroup, Channel
from . import peers


@rpc(functions.messages.CreateChatRequest)
async def create_chat(ctx: RpcContext, request: functions.messages.CreateChatRequest) -> types.messages.InvitedUsers:
    invited = [peers.user(ctx, item) for item in request.users]
    return ctx.dc.actions.create_group(ctx.user, request.title, invited, origin=ctx.conn)


@rpc(functions.messages.AddChatUserRequest)
async def add_chat_user(ctx: RpcContext, request: functions.messages.AddChatUserRequest) -> types.messages.InvitedUsers:
    group = peers.group(ctx, request.chat_id)
    user = peers.user(ctx, request.user_id)
    return ctx.dc.actions.add_group_member(ctx.user, group, user, origin=ctx.conn)


@rpc(functions.messages.DeleteChatUserRequest)
async def delete_chat_user(ctx: RpcContext, request: functions.messages.DeleteChatUserRequest) -> types.Updates:
    group = peers.group(ctx, request.chat_id)
    user = peers.user(ctx, request.user_id)
    return ctx.dc.actions.remove_group_member(
        ctx.user, group, user, revoke_history=bool(request.revoke_history), origin=ctx.conn
    )


@rpc(functions.messages.EditChatTitleRequest)
async def edit_chat_title(ctx: RpcContext, request: functions.messages.EditChatTitleRequest) -> types.Updates:
    group = peers.group(ctx, request.chat_id)
    return ctx.dc.actions.edit_group_title(ctx.user, group, request.title, origin=ctx.conn)


@rpc(functions.messages.GetChatsRequest)
async def get_chats(ctx: RpcContext, request: functions.messages.GetChatsRequest) -> types.messages.Chats:
    chats: list[TLObject] = []
    for chat_id in request.id:
        group = peers.group(ctx, chat_id)
        chats.append(render.group(group, ctx.user.id, ctx.dc.state))
    return types.messages.Chats(chats=chats)


@rpc(functions.messages.GetFullChatRequest)
async def get_full_chat(ctx: RpcContext, request: functions.messages.GetFullChatRequest) -> types.messages.ChatFull:
    group = peers.group(ctx, request.chat_id)
    state, me = ctx.dc.state, ctx.user
    full = types.ChatFull(
        id=group.id,
        about="",
        participants=render.participants(group, me.id),
        notify_settings=render.notify_settings(),
        chat_photo=types.PhotoEmpty(id=0),
        bot_info=[],
        pinned_msg_id=group.pinned.get(me.id),
    )
    user_ids = set(group.members) | {me.id, group.creator_id}
    channels = {group.migrated_to} if group.migrated_to else set()
    users, chats = render.entities_for(state, me.id, user_ids, channels, {group.id})
    return types.messages.ChatFull(full_chat=full, chats=chats, users=users)


@rpc(functions.messages.MigrateChatRequest)
async def migrate_chat(ctx: RpcContext, request: functions.messages.MigrateChatRequest) -> types.Updates:
    group = peers.group(ctx, request.chat_id)
    return ctx.dc.actions.migrate_group(ctx.user, group, origin=ctx.conn)


@rpc(functions.messages.UpdatePinnedMessageRequest)
async def update_pinned_message(
    ctx: RpcContext, request: functions.messages.UpdatePinnedMessageRequest
) -> types.Updates:
    target = peers.any_peer(ctx, request.peer)
    if isinstance(target, BasicGroup):
        return ctx.dc.actions.pin_group_message(
            ctx.user, target, request.id, unpin=bool(request.unpin), origin=ctx.conn
        )
    kind = "Channels" if isinstance(target, Channel) else "PrivateChats"
    raise RpcError(400, f"FAKEDC_NOT_IMPLEMENTED_Pin{kind}")
