"""Photos and documents: made from uploads (InputMedia*), rendered as Telegram's Photo / Document / MessageMedia*,
with file references that expire.

A file reference is an opaque token Telegram hands out with every Photo and Document; after a while (or once
the DC rotates them: `Control.expire_file_references`) a request that carries it answers 400
FILE_REFERENCE_EXPIRED and the client refreshes it by fetching the message again (core.telegram.org/api/file_reference).

Not modelled: Telegram's resizing of photos (a photo has one size, the uploaded image, typed by its longest side)
and its stripped thumbnails; web page previews.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import struct
import time
from typing import TYPE_CHECKING

from telethon.extensions import BinaryReader
from telethon.tl import TLObject, types

from .files import StoredFile
from .images import image_info
from .rpc import RpcError
from .state import SandboxState, hash_for_viewer, now, random_long

if TYPE_CHECKING:
    from .server import SandboxDC
    from .state import User

MAX_CAPTION_LENGTH = 1024
THUMB_MAX_BYTES = 200 * 1024  # a document's thumbnail: a JPEG of at most 200 KB and 320 px
THUMB_MAX_SIDE = 320
_REF_FORMAT = ">BIIq"  # version, issued (unix time), epoch, file id


def ts(value: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


# File references -------------------------------------------------------------------------------------------------
def reference(state: SandboxState, file_id: int) -> bytes:
    body = struct.pack(_REF_FORMAT, 1, int(time.time()), state.file_epoch, file_id)
    return body + hmac.new(state.file_secret, body, hashlib.sha256).digest()[:12]


def check_reference(state: SandboxState, file_id: int, token: bytes, ttl_s: int) -> None:
    """400 FILE_REFERENCE_INVALID for a token this DC did not issue for the file, FILE_REFERENCE_EXPIRED for
    one it issued too long ago or before a rotation."""
    size = struct.calcsize(_REF_FORMAT)
    body, mac = token[:size], token[size:]
    if len(body) != size or not hmac.compare_digest(
        mac, hmac.new(state.file_secret, body, hashlib.sha256).digest()[:12]
    ):
        raise RpcError(400, "FILE_REFERENCE_INVALID")
    _, issued, epoch, named = struct.unpack(_REF_FORMAT, body)
    if named != file_id:
        raise RpcError(400, "FILE_REFERENCE_INVALID")
    if epoch != state.file_epoch or issued + ttl_s < now():
        raise RpcError(400, "FILE_REFERENCE_EXPIRED")


# Rendering -------------------------------------------------------------------------------------------------------
def attributes_of(stored: StoredFile) -> list[TLObject]:
    return [BinaryReader(raw).tgread_object() for raw in stored.attributes]


def photo_size_type(w: int, h: int) -> str:
    side = max(w, h)
    for letter, bound in (("s", 100), ("m", 320), ("x", 800), ("y", 1280)):
        if side <= bound:
            return letter
    return "w"


def photo(stored: StoredFile, viewer_id: int, state: SandboxState) -> types.Photo:
    return types.Photo(
        id=stored.id,
        access_hash=hash_for_viewer(stored.access_hash, viewer_id),
        file_reference=reference(state, stored.id),
        date=ts(stored.date),
        sizes=[types.PhotoSize(photo_size_type(stored.w, stored.h), stored.w, stored.h, stored.size)],
        dc_id=stored.dc_id,
    )


def document(stored: StoredFile, viewer_id: int, state: SandboxState) -> types.Document:
    thumbs = [types.PhotoSize("m", stored.thumb_w, stored.thumb_h, stored.thumb_size)] if stored.thumb_size else None
    return types.Document(
        id=stored.id,
        access_hash=hash_for_viewer(stored.access_hash, viewer_id),
        file_reference=reference(state, stored.id),
        date=ts(stored.date),
        mime_type=stored.mime_type,
        size=stored.size,
        dc_id=stored.dc_id,
        attributes=attributes_of(stored),
        thumbs=thumbs,
    )


def message_media(file_id: int, viewer_id: int, state: SandboxState) -> TLObject:
    stored = state.files.get(file_id)
    if stored is None:
        return types.MessageMediaUnsupported()
    if stored.kind == "photo":
        return types.MessageMediaPhoto(photo=photo(stored, viewer_id, state))
    attributes = attributes_of(stored)
    audio = next((a for a in attributes if isinstance(a, types.DocumentAttributeAudio)), None)
    video = next((a for a in attributes if isinstance(a, types.DocumentAttributeVideo)), None)
    return types.MessageMediaDocument(
        document=document(stored, viewer_id, state),
        voice=True if audio is not None and audio.voice else None,
        video=True if video is not None and not video.round_message else None,
        round=True if video is not None and video.round_message else None,
    )


# From InputMedia -------------------------------------------------------------------------------------------------
def check_caption(text: str) -> None:
    if len(text) > MAX_CAPTION_LENGTH:
        raise RpcError(400, "MEDIA_CAPTION_TOO_LONG")


def from_input(dc: SandboxDC, user: User, media: TLObject, *, uploaded: bool = True) -> StoredFile:
    """The file an InputMedia names: a new photo or document from an upload, or an existing one by id
    (with its access hash and a live file reference). `uploaded=False`: raw uploads are refused (albums)."""
    if isinstance(media, types.InputMediaUploadedPhoto) and uploaded:
        return _new_photo(dc, user, media.file)
    if isinstance(media, types.InputMediaUploadedDocument) and uploaded:
        return _new_document(dc, user, media)
    if isinstance(media, types.InputMediaPhoto | types.InputMediaDocument):
        ref = media.id
        kind = "photo" if isinstance(media, types.InputMediaPhoto) else "document"
        if not isinstance(ref, types.InputPhoto | types.InputDocument):
            raise RpcError(400, "MEDIA_EMPTY")
        stored = dc.state.files.get(ref.id)
        if stored is None or stored.kind != kind or ref.access_hash != hash_for_viewer(stored.access_hash, user.id):
            raise RpcError(400, "MEDIA_INVALID")
        check_reference(dc.state, stored.id, ref.file_reference, dc.limits.file_reference_ttl_s)
        return stored
    raise RpcError(400, "MEDIA_INVALID")


def _assemble(dc: SandboxDC, user: User, file: TLObject) -> tuple[int, object]:
    if isinstance(file, types.InputFile):
        return dc.files.finish_upload(user.id, file.id, file.parts, big=False, md5=file.md5_checksum)
    if isinstance(file, types.InputFileBig):
        return dc.files.finish_upload(user.id, file.id, file.parts, big=True)
    raise RpcError(400, "FILE_PARTS_INVALID")


def _new_file(dc: SandboxDC, user: User, kind: str, mime: str, size: int, **details: object) -> StoredFile:
    stored = StoredFile(
        id=random_long(),
        access_hash=random_long(),
        kind=kind,
        mime_type=mime,
        size=size,
        date=now(),
        dc_id=dc.files.dc_for(user.id),
        **details,  # type: ignore[arg-type]
    )
    dc.state.files[stored.id] = stored
    return stored


def _new_photo(dc: SandboxDC, user: User, file: TLObject) -> StoredFile:
    size, blob = _assemble(dc, user, file)
    found = image_info(dc.files.head(blob))  # type: ignore[arg-type]
    if found is None:
        blob.unlink(missing_ok=True)  # type: ignore[attr-defined]
        raise RpcError(400, "IMAGE_PROCESS_FAILED")
    mime, w, h = found
    if w + h > 10_000 or max(w, h) > 20 * min(w, h):
        blob.unlink(missing_ok=True)  # type: ignore[attr-defined]
        raise RpcError(400, "PHOTO_INVALID_DIMENSIONS")
    stored = _new_file(dc, user, "photo", mime, size, w=w, h=h)
    dc.files.adopt(blob, stored.id)  # type: ignore[arg-type]
    return stored


def _new_document(dc: SandboxDC, user: User, media: types.InputMediaUploadedDocument) -> StoredFile:
    if not media.mime_type or len(media.mime_type) > 255 or "/" not in media.mime_type:
        raise RpcError(400, "MEDIA_INVALID")
    thumb: tuple[bytes, int, int] | None = None
    if media.thumb is not None:
        thumb_size, thumb_blob = _assemble(dc, user, media.thumb)
        data = thumb_blob.read_bytes()  # type: ignore[attr-defined]
        thumb_blob.unlink(missing_ok=True)  # type: ignore[attr-defined]
        found = image_info(data)
        if thumb_size > THUMB_MAX_BYTES or found is None or max(found[1], found[2]) > THUMB_MAX_SIDE:
            raise RpcError(400, "IMAGE_PROCESS_FAILED")  # a thumbnail is an image of at most 200 KB and 320 px
        thumb = (data, found[1], found[2])
    size, blob = _assemble(dc, user, media.file)
    attributes = [a for a in media.attributes if not isinstance(a, types.DocumentAttributeHasStickers)]
    if not any(isinstance(a, types.DocumentAttributeFilename) for a in attributes) and media.file.name:
        attributes.append(types.DocumentAttributeFilename(media.file.name))
    for attribute in attributes:
        if isinstance(attribute, types.DocumentAttributeFilename) and not attribute.file_name.strip():
            raise RpcError(400, "MEDIA_INVALID")
        if (
            isinstance(attribute, types.DocumentAttributeAudio | types.DocumentAttributeVideo)
            and attribute.duration < 0
        ):
            raise RpcError(400, "MEDIA_INVALID")
    details: dict[str, object] = {"attributes": [bytes(a) for a in attributes]}
    if thumb is not None:
        details.update(thumb_size=len(thumb[0]), thumb_w=thumb[1], thumb_h=thumb[2])
    stored = _new_file(dc, user, "document", media.mime_type, size, **details)
    dc.files.adopt(blob, stored.id)  # type: ignore[arg-type]
    if thumb is not None:
        dc.files.write(stored.id, thumb[0], ".thumb")
    return stored


def new_grouped_id() -> int:
    return random_long()
