"""upload.* : saving file parts and reading files back (core.telegram.org/api/files)."""

from __future__ import annotations

from telethon.tl import TLObject, functions, types

from ..files import check_window
from ..media import check_reference
from ..rpc import RpcContext, RpcError, rpc
from ..state import hash_for_viewer

_FILE_TYPES = {
    "image/jpeg": types.storage.FileJpeg,
    "image/png": types.storage.FilePng,
    "image/gif": types.storage.FileGif,
    "image/webp": types.storage.FileWebp,
    "application/pdf": types.storage.FilePdf,
    "audio/mpeg": types.storage.FileMp3,
    "video/mp4": types.storage.FileMp4,
    "video/quicktime": types.storage.FileMov,
}


@rpc(functions.upload.SaveFilePartRequest)
async def save_file_part(ctx: RpcContext, request: functions.upload.SaveFilePartRequest) -> bool:
    ctx.dc.files.save_part(
        ctx.user.id, request.file_id, request.file_part, request.bytes, total_parts=None, premium=ctx.user.premium
    )
    return True


@rpc(functions.upload.SaveBigFilePartRequest)
async def save_big_file_part(ctx: RpcContext, request: functions.upload.SaveBigFilePartRequest) -> bool:
    ctx.dc.files.save_part(
        ctx.user.id,
        request.file_id,
        request.file_part,
        request.bytes,
        total_parts=request.file_total_parts,
        premium=ctx.user.premium,
    )
    return True


@rpc(functions.upload.GetFileRequest)
async def get_file(ctx: RpcContext, request: functions.upload.GetFileRequest) -> TLObject:
    location = request.location
    if not isinstance(location, types.InputPhotoFileLocation | types.InputDocumentFileLocation):
        raise RpcError(400, "LOCATION_INVALID")
    kind = "photo" if isinstance(location, types.InputPhotoFileLocation) else "document"
    stored = ctx.dc.state.files.get(location.id)
    if (
        stored is None
        or stored.kind != kind
        or location.access_hash != hash_for_viewer(stored.access_hash, ctx.user.id)
    ):
        raise RpcError(400, "FILE_ID_INVALID")
    check_window(request.offset, request.limit, precise=bool(request.precise))
    check_reference(ctx.dc.state, stored.id, location.file_reference, ctx.dc.limits.file_reference_ttl_s)
    suffix, mime = "", stored.mime_type
    if kind == "document" and location.thumb_size:
        if not stored.thumb_size or location.thumb_size != "m":
            raise RpcError(400, "LOCATION_INVALID")
        suffix, mime = ".thumb", "image/jpeg"
    data = ctx.dc.files.read(stored.id, request.offset, request.limit, suffix)
    file_type = (
        _FILE_TYPES.get(mime, types.storage.FileUnknown)() if request.offset == 0 else types.storage.FilePartial()
    )
    return types.upload.File(type=file_type, mtime=stored.date, bytes=data)
