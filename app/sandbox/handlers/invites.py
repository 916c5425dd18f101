"""Invite links and join requests: messages.exportChatInvite / checkChatInvite / importChatInvite /
hideChatJoinRequest, as Telegram answers them at the pinned layer (importChatInvite -> ChatInviteJoinResult)."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import render
from ..rpc import RpcContext, RpcError, rpc
from ..state import Channel, InviteLink, User
from . import peers


def _admin_channel(ctx: RpcContext, peer: TLObject) -> Channel:
    if not isinstance(peer, types.InputPeerChannel | types.InputChannel):
        raise RpcError(400, "PEER_ID_INVALID")
    channel = peers.channel(ctx, peer, member=True)
    member = channel.members[ctx.user.id]
    if not member.admin and channel.creator_id != ctx.user.id:
        raise RpcError(400, "CHAT_ADMIN_REQUIRED")
    return channel


def exported(invite: InviteLink, channel: Channel) -> types.ChatInviteExported:
    return types.ChatInviteExported(
        link=invite.link,
        admin_id=invite.admin_id,
        date=render.ts(invite.date),
        revoked=invite.revoked,
        permanent=invite.permanent,
        request_needed=invite.request_needed,
        expire_date=render.ts(invite.expire_date),
        usage_limit=invite.usage_limit,
        usage=invite.usage or None,
        requested=len(channel.join_requests) if invite.request_needed else None,
        title=invite.title,
    )


def _usable(ctx: RpcContext, invite_hash: str) -> tuple[InviteLink, Channel]:
    invite = ctx.dc.state.invites.get(invite_hash)
    channel = ctx.dc.state.channels.get(invite.channel_id) if invite is not None else None
    if invite is None or channel is None or invite.revoked:
        raise RpcError(400, "INVITE_HASH_INVALID")
    if invite.exhausted() and ctx.user.id not in channel.members:
        raise RpcError(400, "INVITE_HASH_EXPIRED")
    return invite, channel


@rpc(functions.messages.ExportChatInviteRequest)
async def export_chat_invite(
    ctx: RpcContext, request: functions.messages.ExportChatInviteRequest
) -> types.ChatInviteExported:
    channel = _admin_channel(ctx, request.peer)
    if request.request_needed and request.usage_limit:
        raise RpcError(400, "USAGE_LIMIT_INVALID")  # an approval link has no usage limit (the admin is the limit)
    if request.legacy_revoke_permanent:
        for old in ctx.dc.state.invites.values():
            if old.channel_id == channel.id and old.permanent:
                old.revoked = True
    expire = request.expire_date
    invite = ctx.dc.state.add_invite(
        channel,
        ctx.user,
        request_needed=bool(request.request_needed),
        expire_date=int(expire.timestamp()) if expire is not None else None,
        usage_limit=request.usage_limit or None,
        permanent=bool(request.legacy_revoke_permanent),
        title=request.title,
    )
    ctx.dc.mark_dirty()
    return exported(invite, channel)


@rpc(functions.messages.CheckChatInviteRequest)
async def check_chat_invite(ctx: RpcContext, request: functions.messages.CheckChatInviteRequest) -> TLObject:
    invite, channel = _usable(ctx, request.hash)
    if ctx.user.id in channel.members:
        return types.ChatInviteAlready(chat=render.channel(channel, ctx.user.id))
    return types.ChatInvite(
        title=channel.title,
        photo=types.PhotoEmpty(id=0),
        participants_count=len(channel.members),
        color=0,
        channel=True,
        broadcast=channel.broadcast,
        megagroup=channel.megagroup,
        public=channel.username is not None,
        request_needed=invite.request_needed,
        about=channel.about or None,
    )


@rpc(functions.messages.ImportChatInviteRequest)
async def import_chat_invite(
    ctx: RpcContext, request: functions.messages.ImportChatInviteRequest
) -> types.messages.ChatInviteJoinResultOk:
    invite, channel = _usable(ctx, request.hash)
    if ctx.user.id in channel.members:
        raise RpcError(400, "USER_ALREADY_PARTICIPANT")
    if invite.request_needed:
        ctx.dc.actions.request_join(ctx.user, channel)
        raise RpcError(400, "INVITE_REQUEST_SENT")
    updates = ctx.dc.actions.join(ctx.user, channel, invite=invite, origin=ctx.conn)
    return types.messages.ChatInviteJoinResultOk(updates=updates)


@rpc(functions.messages.HideChatJoinRequestRequest)
async def hide_chat_join_request(
    ctx: RpcContext, request: functions.messages.HideChatJoinRequestRequest
) -> types.Updates:
    channel = _admin_channel(ctx, request.peer)
    requester: User = peers.user(ctx, request.user_id)
    return ctx.dc.actions.settle_join_request(requester, channel, approved=bool(request.approved))
