"""Downloading a stored message's file: find the message and the profile whose copy it is, then stream the file
from Telegram through the worker that holds that profile (app.telegram.media), window by window.

The response never holds the whole file: each window (`CHUNK` bytes) is asked for when the client has taken the
previous one. `Range: bytes=a-b` (one range, also `a-` and `-n`) answers 206 with Content-Range; a range that
starts past the end answers 416.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Chat, Message, TelegramProfile
from app.domain.messages import inbox, send_rules
from app.lib.errors import AppError, NotFound
from app.telegram.commands import ProfileCommands
from app.telegram.media import CHUNK, MediaFile
from app.telegram.records import SERVICE, PeerInfo

RangeHeader = Annotated[str | None, Parameter(header="Range", required=False, max_length=200)]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class MediaTarget:
    """A file to stream: the message as Telegram numbers it in the chat of the profile whose copy it is."""

    profile: TelegramProfile
    peer: PeerInfo
    telegram_message_id: int


async def target_of(session: AsyncSession, message: Message | None, allowed: set[UUID] | None = None) -> MediaTarget:
    """The download target of a stored message row (404: unknown here, not sent yet, or without a file)."""
    if message is None or (allowed is not None and message.chat_id not in allowed):
        raise NotFound("message not found", code="message_not_found")
    if message.telegram_message_id is None:
        raise NotFound("the message has not reached Telegram", code="message_not_found")
    if not message.media_type or message.media_type == SERVICE:
        raise NotFound("the message has no file to download", code="media_not_found")
    chat = await session.get(Chat, message.chat_id)
    assert chat is not None  # a foreign key
    profile = await session.get(TelegramProfile, chat.profile_id) if chat.profile_id is not None else None
    if profile is None:
        raise AppError("the profile of this message was deleted", status=409, code="profile_not_active")
    send_rules.require_live(profile)
    return MediaTarget(profile, send_rules.peer_of(chat), message.telegram_message_id)


async def conversation_target(
    session: AsyncSession, owner_id: UUID, conversation_id: UUID, message_id: UUID
) -> MediaTarget:
    """A message of the caller's conversation (an upgraded group's earlier chat included); else 404."""
    chat = await inbox.get_conversation(session, owner_id, conversation_id)
    merged = (await session.scalars(select(Chat.id).where(Chat.merged_into_id == chat.id))).all()
    return await target_of(session, await session.get(Message, message_id), {chat.id, *merged})


async def channel_target(session: AsyncSession, owner_id: UUID, peer_id: int, message_id: UUID) -> MediaTarget:
    """A stored post of a monitored channel (any profile's copy of the caller's); else 404."""
    chats = (await session.scalars(select(Chat.id).where(Chat.owner_id == owner_id, Chat.peer_id == peer_id))).all()
    return await target_of(session, await session.get(Message, message_id), set(chats))


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `Range: bytes=` header, None for the whole file; 416 when unsatisfiable.
    A header this cannot read (several ranges, other units) is ignored, as RFC 9110 allows."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = match.groups()
    if first_text:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
        if last_text and int(last_text) < first:
            return None
    else:
        first, last = max(0, size - int(last_text)), size - 1
    if first >= size or size == 0:
        raise AppError(
            "the range starts past the end of the file",
            status=416,
            code="range_not_satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return first, last


def _disposition(file: MediaFile, message_id: int) -> str:
    name = file.file_name or f"{file.type}-{message_id}"
    ascii_name = _SAFE_NAME.sub("_", name)[:150] or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name[:200])}"


async def _windows(commands: ProfileCommands, target: MediaTarget, first: int, last: int) -> AsyncIterator[bytes]:
    offset = first - first % CHUNK
    while offset <= last:
        window = await commands.media_chunk(target.profile.id, target.peer, target.telegram_message_id, offset)
        if not window:
            return
        start = max(first - offset, 0)
        stop = min(last - offset + 1, len(window))
        yield window[start:stop]
        if len(window) < CHUNK:
            return
        offset += CHUNK


async def stream(commands: ProfileCommands, target: MediaTarget, range_header: str | None, max_bytes: int) -> Stream:
    """The file as a streamed response (200, or 206 for a Range); 413 over `max_bytes` (MEDIA_DOWNLOAD_MAX_BYTES)."""
    file = await commands.media_file(target.profile.id, target.peer, target.telegram_message_id)
    if file.size > max_bytes:
        raise AppError(
            f"the file is {file.size} bytes, over this service's download limit of {max_bytes}",
            status=413,
            code="media_too_large",
        )
    window = parse_range(range_header, file.size)
    first, last = window if window is not None else (0, file.size - 1)
    headers = {
        "Content-Disposition": _disposition(file, target.telegram_message_id),
        "Accept-Ranges": "bytes",
        "Content-Length": str(max(0, last - first + 1)),
    }
    if window is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{file.size}"
    return Stream(
        _windows(commands, target, first, last),
        status_code=206 if window is not None else 200,
        media_type=file.mime_type,
        headers=headers,
    )
