"""updates.* : getState, getDifference, getChannelDifference (real gap recovery from the update logs)."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import updates as diff
from ..rpc import RpcContext, RpcError, rpc
from . import peers


@rpc(functions.updates.GetStateRequest)
async def get_state(ctx: RpcContext, request: functions.updates.GetStateRequest) -> types.updates.State:
    return diff.account_state(ctx.user)


@rpc(functions.updates.GetDifferenceRequest)
async def get_difference(ctx: RpcContext, request: functions.updates.GetDifferenceRequest) -> TLObject:
    date = int(request.date.timestamp()) if request.date else 0
    return diff.account_difference(ctx.dc.state, ctx.user, request.pts, date)


@rpc(functions.updates.GetChannelDifferenceRequest)
async def get_channel_difference(ctx: RpcContext, request: functions.updates.GetChannelDifferenceRequest) -> TLObject:
    channel = peers.channel(ctx, request.channel)
    if ctx.user.id not in channel.members:
        # Telethon stops tracking a channel when told it is private.
        raise RpcError(400, "CHANNEL_PRIVATE")
    if request.pts <= 0:
        raise RpcError(400, "PERSISTENT_TIMESTAMP_EMPTY")
    return diff.channel_difference(ctx.dc.state, channel, ctx.user.id, request.pts, request.limit)
