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
    bound = ctx.dc.limits.account_difference_bound
    if request.pts_total_limit is not None:
        bound = min(bound, max(1, request.pts_total_limit))
    return diff.account_difference(ctx.dc.state, ctx.user, request.pts, date, bound=bound)


@rpc(functions.updates.GetChannelDifferenceRequest)
async def get_channel_difference(ctx: RpcContext, request: functions.updates.GetChannelDifferenceRequest) -> TLObject:
    channel = peers.channel(ctx, request.channel)
    if ctx.user.id not in channel.members:
        # Telethon stops tracking a channel when told it is private.
        raise RpcError(400, "CHANNEL_PRIVATE")
    if request.pts <= 0:
        raise RpcError(400, "PERSISTENT_TIMESTAMP_EMPTY")
    return diff.channel_difference(ctx.dc.state, channel, ctx.user.id, request.pts, request.limit)
