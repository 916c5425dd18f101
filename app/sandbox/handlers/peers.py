"""Resolve Input* peers from requests to stored users and channels."""

from __future__ import annotations

from telethon.tl import TLObject, types

from ..rpc import RpcContext, RpcError
from ..state import BasicGroup, Channel, User


def hash_ok(ctx: RpcContext, given: int | None, target: User | Channel) -> bool:
    """Telegram refuses access hash 0 and a hash issued to another account: hashes are per (account, peer)."""
    return bool(given) and given == target.access_hash_for(ctx.user.id)


def user(ctx: RpcContext, peer: TLObject) -> User:
    """InputUser / InputPeerUser / InputUserSelf / InputPeerSelf -> User."""
    if isinstance(peer, types.InputUserSelf | types.InputPeerSelf):
        return ctx.user
    if isinstance(peer, types.InputUser | types.InputPeerUser):
        found = ctx.dc.state.users.get(peer.user_id)
        if found is not None and (found.id == ctx.user.id or hash_ok(ctx, peer.access_hash, found)):
            return found
        raise RpcError(400, "USER_ID_INVALID")
    if isinstance(peer, types.InputUserFromMessage | types.InputPeerUserFromMessage):
        found = ctx.dc.state.users.get(peer.user_id)
        if found is not None:
            return found
    raise RpcError(400, "PEER_ID_INVALID")


def channel(ctx: RpcContext, peer: TLObject, *, member: bool = False) -> Channel:
    """InputChannel / InputPeerChannel -> Channel; `member=True` also requires the caller to be in it."""
    if isinstance(peer, types.InputChannel | types.InputPeerChannel | types.InputChannelFromMessage):
        found = ctx.dc.state.channels.get(peer.channel_id)
        from_message = isinstance(peer, types.InputChannelFromMessage)
        if found is not None and (from_message or hash_ok(ctx, getattr(peer, "access_hash", 0), found)):
            if member and ctx.user.id not in found.members:
                raise RpcError(400, "CHANNEL_PRIVATE")
            if found.forbidden_to(ctx.user.id):
                raise RpcError(400, "CHANNEL_PRIVATE")
            return found
        raise RpcError(400, "CHANNEL_INVALID")
    raise RpcError(400, "CHANNEL_INVALID")


def group(ctx: RpcContext, chat_id: int, *, error: str = "CHAT_ID_INVALID") -> BasicGroup:
    """A basic group by its id (basic groups have no access hash): one the caller is, or was, a member of."""
    found = ctx.dc.state.groups.get(chat_id)
    if found is None or not found.known_to(ctx.user.id):
        raise RpcError(400, error)
    return found


def any_peer(ctx: RpcContext, peer: TLObject) -> User | Channel | BasicGroup:
    if isinstance(peer, types.InputPeerChannel | types.InputChannel):
        return channel(ctx, peer)
    if isinstance(peer, types.InputPeerChat):
        return group(ctx, peer.chat_id, error="PEER_ID_INVALID")
    return user(ctx, peer)
