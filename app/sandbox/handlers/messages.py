"""messages.* : dialogs, history, send/edit/delete/read, minimal search, typing."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import render
from .. import updates as diff
from ..rpc import RpcContext, RpcError, rpc
from ..state import BasicGroup, Channel, StoredMessage, now
from . import history, peers


def _date(value: object) -> int:
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value or 0)  # type: ignore[call-overload]


def _reply_id(reply_to: TLObject | None) -> int | None:
    if isinstance(reply_to, types.InputReplyToMessage):
        return int(reply_to.reply_to_msg_id)
    return None


@rpc(functions.messages.GetDialogsRequest)
async def get_dialogs(ctx: RpcContext, request: functions.messages.GetDialogsRequest) -> TLObject:
    me, state = ctx.user, ctx.dc.state
    entries = [] if request.folder_id == 1 else history.dialog_entries(state, me)
    total = len(entries)
    offset_date = _date(request.offset_date)
    if offset_date or request.offset_id:
        entries = [
            e for e in entries if (e[0], e[2].id if e[2] else 0) < (offset_date or 2**31, request.offset_id or 2**31)
        ]
    chunk = entries[: max(1, min(request.limit or 100, 100))]
    tops = [e[2] for e in chunk if e[2] is not None]
    user_ids = {d.peer.user_id for _, d, _ in chunk if isinstance(d.peer, types.PeerUser)}
    user_ids |= {m.from_id for m in tops} | {me.id}
    user_ids |= {uid for m in tops for uid in m.action_users}
    channel_ids = {d.peer.channel_id for _, d, _ in chunk if isinstance(d.peer, types.PeerChannel)}
    group_ids = {d.peer.chat_id for _, d, _ in chunk if isinstance(d.peer, types.PeerChat)}
    users, chats = render.entities_for(state, me.id, user_ids, channel_ids, group_ids)
    dialogs = [d for _, d, _ in chunk]
    messages = [render.message(m, me.id, state) for m in tops]
    if len(chunk) < total:
        return types.messages.DialogsSlice(count=total, dialogs=dialogs, messages=messages, chats=chats, users=users)
    return types.messages.Dialogs(dialogs=dialogs, messages=messages, chats=chats, users=users)


@rpc(functions.messages.GetPeerDialogsRequest)
async def get_peer_dialogs(ctx: RpcContext, request: functions.messages.GetPeerDialogsRequest) -> TLObject:
    wanted: set[tuple[str, int]] = set()
    for item in request.peers:
        peer = item.peer if isinstance(item, types.InputDialogPeer) else item
        target = peers.any_peer(ctx, peer)
        wanted.add((_kind(target), target.id))
    entries = [e for e in history.dialog_entries(ctx.dc.state, ctx.user) if _dialog_key(e[1]) in wanted]
    tops = [e[2] for e in entries if e[2] is not None]
    users, chats = render.entities_of_messages(ctx.dc.state, ctx.user.id, tops)
    return types.messages.PeerDialogs(
        dialogs=[e[1] for e in entries],
        messages=[render.message(m, ctx.user.id, ctx.dc.state) for m in tops],
        chats=chats,
        users=users,
        state=diff.account_state(ctx.user),
    )


@rpc(functions.messages.GetHistoryRequest)
async def get_history(ctx: RpcContext, request: functions.messages.GetHistoryRequest) -> TLObject:
    target = peers.any_peer(ctx, request.peer)
    chunk, total = history.page(
        history.source(ctx.user, target),
        offset_id=request.offset_id,
        offset_date=_date(request.offset_date),
        add_offset=request.add_offset,
        limit=request.limit,
        max_id=request.max_id,
        min_id=request.min_id,
    )
    channel = target if isinstance(target, Channel) else None
    return history.messages_result(ctx.dc.state, ctx.user, chunk, total, channel)


@rpc(functions.messages.SearchRequest)
async def search(ctx: RpcContext, request: functions.messages.SearchRequest) -> TLObject:
    """Minimal: case-insensitive substring match on the text within one peer; filters other than empty unsupported."""
    if isinstance(request.peer, types.InputPeerEmpty):
        source = [m for m in ctx.user.messages.values()]
        channel = None
    else:
        target = peers.any_peer(ctx, request.peer)
        channel = target if isinstance(target, Channel) else None
        source = history.source(ctx.user, target)
    needle = (request.q or "").lower()
    matches = [m for m in source if needle in m.text.lower()]
    if request.from_id is not None:
        sender = peers.user(ctx, request.from_id)
        matches = [m for m in matches if m.from_id == sender.id]
    chunk, total = history.page(
        matches,
        offset_id=request.offset_id,
        add_offset=request.add_offset,
        limit=request.limit,
        max_id=request.max_id,
        min_id=request.min_id,
    )
    return history.messages_result(ctx.dc.state, ctx.user, chunk, total, channel)


@rpc(functions.messages.GetMessagesRequest)
async def get_messages(ctx: RpcContext, request: functions.messages.GetMessagesRequest) -> TLObject:
    found: list[StoredMessage] = []
    empty: list[int] = []
    for item in request.id:
        msg_id = getattr(item, "id", None)
        stored = ctx.user.messages.get(msg_id) if isinstance(msg_id, int) else None
        if stored is not None:
            found.append(stored)
        elif isinstance(msg_id, int):
            empty.append(msg_id)
    result = history.messages_result(ctx.dc.state, ctx.user, found, len(found))
    assert isinstance(result, types.messages.Messages)
    result.messages.extend(render.message_empty(i) for i in empty)
    return result


@rpc(functions.messages.SendMessageRequest)
async def send_message(ctx: RpcContext, request: functions.messages.SendMessageRequest) -> TLObject:
    target = peers.any_peer(ctx, request.peer)
    reply_to = _reply_id(request.reply_to)
    if isinstance(target, BasicGroup):
        _, updates = ctx.dc.actions.post_group(
            ctx.user,
            target,
            request.message,
            reply_to=reply_to,
            random_id=request.random_id,
            origin=ctx.conn,
            entities=request.entities,
        )
        return updates
    if isinstance(target, Channel):
        _, result = ctx.dc.actions.post(
            ctx.user,
            target,
            request.message,
            reply_to=reply_to,
            random_id=request.random_id,
            origin=ctx.conn,
            entities=request.entities,
        )
        return result
    _, result = ctx.dc.actions.send_private(
        ctx.user, target, request.message, reply_to=reply_to, origin=ctx.conn, entities=request.entities
    )
    return result


@rpc(functions.messages.EditMessageRequest)
async def edit_message(ctx: RpcContext, request: functions.messages.EditMessageRequest) -> TLObject:
    if request.message is None:
        raise RpcError(400, "MESSAGE_NOT_MODIFIED")
    target = peers.any_peer(ctx, request.peer)
    if isinstance(target, BasicGroup):
        return ctx.dc.actions.edit_group_message(
            ctx.user, target, request.id, request.message, origin=ctx.conn, entities=request.entities
        )
    if isinstance(target, Channel):
        return ctx.dc.actions.edit_channel_message(
            ctx.user, target, request.id, request.message, origin=ctx.conn, entities=request.entities
        )
    return ctx.dc.actions.edit_private(
        ctx.user, request.id, request.message, origin=ctx.conn, entities=request.entities
    )


@rpc(functions.messages.DeleteMessagesRequest)
async def delete_messages(ctx: RpcContext, request: functions.messages.DeleteMessagesRequest) -> TLObject:
    return ctx.dc.actions.delete_private(ctx.user, list(request.id), revoke=bool(request.revoke), origin=ctx.conn)


@rpc(functions.messages.ReadHistoryRequest)
async def read_history(ctx: RpcContext, request: functions.messages.ReadHistoryRequest) -> TLObject:
    target = peers.any_peer(ctx, request.peer)
    if isinstance(target, Channel):
        raise RpcError(400, "PEER_ID_INVALID")
    if isinstance(target, BasicGroup):
        return ctx.dc.actions.read_group(ctx.user, target, request.max_id, origin=ctx.conn)
    return ctx.dc.actions.read_private(ctx.user, target, request.max_id, origin=ctx.conn)


@rpc(functions.messages.ReadMentionsRequest, functions.messages.ReadReactionsRequest)
async def read_mentions(ctx: RpcContext, request: TLObject) -> types.messages.AffectedHistory:
    # Nothing to mark: no pts is consumed, so answer the current pts with a count of zero.
    return types.messages.AffectedHistory(pts=ctx.user.log.pts, pts_count=0, offset=0)


@rpc(functions.messages.SetTypingRequest)
async def set_typing(ctx: RpcContext, request: functions.messages.SetTypingRequest) -> bool:
    target = peers.any_peer(ctx, request.peer)
    if isinstance(target, BasicGroup):
        for member_id in target.members:
            if member_id != ctx.user.id:
                typing = types.UpdateChatUserTyping(target.id, types.PeerUser(ctx.user.id), request.action)
                ctx.dc.hub.push(member_id, types.UpdateShort(typing, render.ts(now())))
    elif not isinstance(target, Channel) and target.id != ctx.user.id:
        update = types.UpdateShort(types.UpdateUserTyping(ctx.user.id, request.action), render.ts(now()))
        ctx.dc.hub.push(target.id, update)
    return True


def _kind(target: object) -> str:
    if isinstance(target, Channel):
        return "channel"
    return "chat" if isinstance(target, BasicGroup) else "user"


def _dialog_key(dialog: types.Dialog) -> tuple[str, int]:
    if isinstance(dialog.peer, types.PeerChannel):
        return ("channel", dialog.peer.channel_id)
    if isinstance(dialog.peer, types.PeerChat):
        return ("chat", dialog.peer.chat_id)
    return ("user", dialog.peer.user_id)
