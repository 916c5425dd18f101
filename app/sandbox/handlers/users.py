"""users.* : getUsers (a bare Vector<User>) and getFullUser."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import render
from ..rpc import Raw, RpcContext, RpcError, rpc, vector
from . import peers


@rpc(functions.users.GetUsersRequest)
async def get_users(ctx: RpcContext, request: functions.users.GetUsersRequest) -> Raw:
    found: list[TLObject] = []
    for item in request.id:
        try:
            found.append(render.user(peers.user(ctx, item), ctx.user))
        except RpcError:
            found.append(types.UserEmpty(id=getattr(item, "user_id", 0)))
    return vector(found)


@rpc(functions.users.GetFullUserRequest)
async def get_full_user(ctx: RpcContext, request: functions.users.GetFullUserRequest) -> types.users.UserFull:
    target, me = peers.user(ctx, request.id), ctx.user
    common = sum(1 for c in ctx.dc.state.channels_of(target.id) if me.id in c.members)
    stranger = target.id != me.id and target.id not in me.contacts
    full = types.UserFull(
        id=target.id,
        # A stranger's chat offers "add contact" (and "share my number" when they cannot see it).
        settings=types.PeerSettings(add_contact=stranger or None, share_contact=stranger or None),
        notify_settings=render.notify_settings(),
        common_chats_count=common,
        about=target.about or None,
        send_paid_messages_stars=target.paid_messages_stars or None,
        contact_require_premium=target.premium_required or None,
    )
    return types.users.UserFull(full_user=full, chats=[], users=[render.user(target, me)])
