"""Reading a message's file from Telegram in windows, at the worker that holds the profile's connection.

`MediaCommands` is mixed into `ProfileCommands`: its two routed operations travel over the command bus like every
other (app.telegram.routed), so an API-only process streams a file by asking the owning worker for one window of
`CHUNK` bytes at a time: neither process ever holds the whole file. Windows are aligned to `CHUNK` (512 KB, the
largest part Telethon requests), so every upload.getFile stays within Telegram's rules (a multiple of 4 KB that
divides 1 MB, never across a 1 MB boundary).

An expired file reference (FILE_REFERENCE_EXPIRED, photos and documents alike) is refreshed by fetching the
message again, once per window. The file's DC is the one Telegram names on the Photo / Document (`dc_id`):
Telethon's `iter_download` borrows an exported sender for another DC, so files kept on a file DC need no change here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

import msgspec
from telethon import TelegramClient, errors, types

from app.lib.errors import NotFound
from app.telegram.errors import send_error
from app.telegram.operations import routed_operation
from app.telegram.records import PeerInfo, media_of

CHUNK = 512 * 1024
_CACHED_LOCATIONS = 256


class MediaFile(msgspec.Struct, frozen=True):
    """What the download endpoint needs to answer before the first byte."""

    type: str
    mime_type: str
    size: int
    file_name: str | None = None


class _Location(msgspec.Struct):
    location: Any
    dc_id: int
    size: int


def _location(media: Any) -> _Location | None:
    document = getattr(media, "document", None)
    if isinstance(document, types.Document):
        where = types.InputDocumentFileLocation(document.id, document.access_hash, document.file_reference, "")
        return _Location(where, document.dc_id, document.size)
    photo = getattr(media, "photo", None)
    if isinstance(photo, types.Photo):
        sizes = [s for s in photo.sizes if isinstance(s, types.PhotoSize | types.PhotoSizeProgressive)]
        if not sizes:
            return None
        largest = max(sizes, key=lambda s: s.w * s.h)
        size = largest.size if isinstance(largest, types.PhotoSize) else max(largest.sizes)
        where = types.InputPhotoFileLocation(photo.id, photo.access_hash, photo.file_reference, largest.type)
        return _Location(where, photo.dc_id, size)
    return None


class MediaCommands:
    """Routed media reads; `_client` and `_input_peer` are ProfileCommands'."""

    async def _client(self, profile_id: UUID) -> TelegramClient:  # pragma: no cover - ProfileCommands has it
        raise NotImplementedError

    async def _input_peer(self, profile_id: UUID, client: TelegramClient, peer: PeerInfo) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _locations(self) -> OrderedDict[tuple[UUID, int, int], _Location]:
        cache: OrderedDict[tuple[UUID, int, int], _Location] | None = getattr(self, "_media_locations", None)
        if cache is None:
            cache = OrderedDict()
            self._media_locations = cache
        return cache

    async def _fetch(self, profile_id: UUID, peer: PeerInfo, message_id: int) -> tuple[Any, _Location]:
        """The message's media and where its file is (fresh from Telegram: a new file reference)."""
        client = await self._client(profile_id)
        try:
            entity = await self._input_peer(profile_id, client, peer)
            message = await client.get_messages(entity, ids=message_id)
        except Exception as exc:
            raise send_error(exc) from None
        media = getattr(message, "media", None) if message is not None else None
        if message is None or isinstance(message, types.MessageEmpty):
            raise NotFound("the message is not in this chat on Telegram", code="message_not_found")
        located = _location(media)
        if located is None:
            raise NotFound("the message has no file to download", code="media_not_found")
        cache = self._locations()
        cache[(profile_id, peer.peer_id, message_id)] = located
        while len(cache) > _CACHED_LOCATIONS:
            cache.popitem(last=False)
        return media, located

    @routed_operation
    async def media_file(self, profile_id: UUID, peer: PeerInfo, message_id: int) -> MediaFile:
        """The type, MIME type, size and file name of a message's file; 404 when the message has none."""
        media, located = await self._fetch(profile_id, peer, message_id)
        kind, meta = media_of(media)
        meta = meta or {}
        return MediaFile(
            type=kind or "document",
            mime_type=meta.get("mime_type") or "application/octet-stream",
            size=located.size,
            file_name=meta.get("file_name"),
        )

    @routed_operation
    async def media_chunk(self, profile_id: UUID, peer: PeerInfo, message_id: int, offset: int) -> bytes:
        """`CHUNK` bytes of the file from `offset` (a multiple of CHUNK); fewer at the end of the file."""
        if offset < 0 or offset % CHUNK:
            raise ValueError("offset must be a multiple of CHUNK")
        key = (profile_id, peer.peer_id, message_id)
        located = self._locations().get(key) or (await self._fetch(profile_id, peer, message_id))[1]
        client = await self._client(profile_id)
        for attempt in range(2):
            try:
                return await _read(client, located, offset)
            except errors.FileReferenceExpiredError:
                if attempt:
                    raise send_error(errors.FileReferenceExpiredError(None)) from None
                located = (await self._fetch(profile_id, peer, message_id))[1]
            except Exception as exc:
                raise send_error(exc) from None
        raise AssertionError("unreachable")


async def _read(client: TelegramClient, located: _Location, offset: int) -> bytes:
    parts = client.iter_download(
        located.location,
        offset=offset,
        limit=1,
        chunk_size=CHUNK,
        request_size=CHUNK,
        file_size=located.size,
        dc_id=located.dc_id,
    )
    async for part in parts:
        return bytes(part)
    return b""
