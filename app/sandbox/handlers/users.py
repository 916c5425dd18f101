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
            found.append(render.user(peers.user(ctx, item), ctx.user.id))
        except RpcError:
            found.append(types.UserEmpty(id=getattr(item, "user_id", 0)))
    return vector(found)


@rpc(functions.users.GetFullUserRequest)
async def get_full_user(ctx: RpcContext, request: functions.users.GetFullUserRequest) -> types.users.UserFull:
    target = peers.user(ctx, request.id)
    common = sum(1 for c in ctx.dc.state.channels_of(target.id) if ctx.user.id in c.members)
    full = types.UserFull(
        id=target.id,
        settings=types.PeerSettings(),
        notify_settings=render.notify_settings(),
        common_chats_count=common,
        about=None,
    )
    return types.users.UserFull(full_user=full, chats=[], users=[render.user(target, ctx.user.id)])
