"""messages.uploadMedia / sendMedia / sendMultiMedia: photos, documents and albums."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from .. import media as files
from ..rpc import RpcContext, RpcError, rpc
from ..state import BasicGroup, Channel, User
from . import peers

MAX_ALBUM = 10


def _reply_id(reply_to: TLObject | None) -> int | None:
    return int(reply_to.reply_to_msg_id) if isinstance(reply_to, types.InputReplyToMessage) else None


@rpc(functions.messages.UploadMediaRequest)
async def upload_media(ctx: RpcContext, request: functions.messages.UploadMediaRequest) -> TLObject:
    peers.any_peer(ctx, request.peer)
    stored = files.from_input(ctx.dc, ctx.user, request.media)
    ctx.dc.mark_dirty()
    return files.message_media(stored.id, ctx.user.id, ctx.dc.state)


def _send(
    ctx: RpcContext,
    target: User | Channel | BasicGroup,
    text: str,
    entities: list[TLObject] | None,
    *,
    media_id: int,
    random_id: int | None,
    reply_to: int | None,
    grouped_id: int = 0,
) -> TLObject:
    actions = ctx.dc.actions
    common = {"reply_to": reply_to, "origin": ctx.conn, "entities": entities, "media_id": media_id}
    if isinstance(target, BasicGroup):
        return actions.post_group(ctx.user, target, text, random_id=random_id, grouped_id=grouped_id, **common)[1]  # type: ignore[arg-type]
    if isinstance(target, Channel):
        return actions.post(ctx.user, target, text, random_id=random_id, grouped_id=grouped_id, **common)[1]  # type: ignore[arg-type]
    return actions.send_private(ctx.user, target, text, random_id=random_id, grouped_id=grouped_id, **common)[1]  # type: ignore[arg-type]


@rpc(functions.messages.SendMediaRequest)
async def send_media(ctx: RpcContext, request: functions.messages.SendMediaRequest) -> TLObject:
    target = peers.any_peer(ctx, request.peer)
    files.check_caption(request.message or "")
    stored = files.from_input(ctx.dc, ctx.user, request.media)
    return _send(
        ctx,
        target,
        request.message or "",
        request.entities,
        media_id=stored.id,
        random_id=request.random_id,
        reply_to=_reply_id(request.reply_to),
    )


@rpc(functions.messages.SendMultiMediaRequest)
async def send_multi_media(ctx: RpcContext, request: functions.messages.SendMultiMediaRequest) -> TLObject:
    """An album: files uploaded with messages.uploadMedia first (raw uploads are refused), photos and videos
    together or documents only, one grouped_id, one Updates with every message."""
    target = peers.any_peer(ctx, request.peer)
    items = list(request.multi_media)
    if not items:
        raise RpcError(400, "MEDIA_EMPTY")
    if len(items) > MAX_ALBUM:
        raise RpcError(400, "MULTI_MEDIA_TOO_LONG")
    chosen = []
    for item in items:
        if not isinstance(item, types.InputSingleMedia):
            raise RpcError(400, "MEDIA_INVALID")
        files.check_caption(item.message or "")
        chosen.append(files.from_input(ctx.dc, ctx.user, item.media, uploaded=False))
    visual = [s.kind == "photo" or _is_video(s) for s in chosen]
    if any(visual) and not all(visual):
        raise RpcError(400, "MEDIA_INVALID")
    grouped_id = files.new_grouped_id()
    reply_to = _reply_id(request.reply_to)
    merged: list[TLObject] = []
    users: dict[int, TLObject] = {}
    chats: dict[int, TLObject] = {}
    for item, stored in zip(items, chosen, strict=True):
        result = _send(
            ctx,
            target,
            item.message or "",
            item.entities,
            media_id=stored.id,
            random_id=item.random_id,
            reply_to=reply_to,
            grouped_id=grouped_id,
        )
        assert isinstance(result, types.Updates)
        merged.extend(result.updates)
        users.update((u.id, u) for u in result.users)
        chats.update((c.id, c) for c in result.chats)
    return types.Updates(
        updates=merged, users=list(users.values()), chats=list(chats.values()), date=result.date, seq=0
    )


def _is_video(stored: files.StoredFile) -> bool:
    return any(isinstance(a, types.DocumentAttributeVideo) for a in files.attributes_of(stored))
