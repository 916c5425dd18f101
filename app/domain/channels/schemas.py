"""Request and response bodies of the channel-monitoring API (shapes the dashboard's channels page reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

ChannelName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=255, examples=["@durov", "https://t.me/durov", "-1001006503122"])
]


class AddChannel(msgspec.Struct, forbid_unknown_fields=True):
    channel: ChannelName | int
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32)] | None = None


class AssignmentOut(msgspec.Struct):
    profile_id: UUID | None
    phone: str
    status: str  # active | failed | reassigned
    assigned_at: datetime
    ended_at: datetime | None
    reason: str | None
    joined: bool  # the service joined the channel for this assignment (False: the profile was a member)


class ChannelOut(msgspec.Struct):
    id: UUID
    telegram_id: int
    username: str | None
    title: str | None
    description: str | None
    member_count: int | None
    status: str  # active | paused | orphaned | failed
    status_reason: str | None
    profile_id: UUID | None
    phone: str | None  # the assigned profile
    last_message_at: datetime | None
    message_count: int
    deleted_count: int
    created_at: datetime
    assignments: list[AssignmentOut] | None = None  # in GET /channels/{id}


class EditOut(msgspec.Struct):
    text: str
    edited_at: datetime | None


class ChannelMessageOut(msgspec.Struct):
    id: UUID
    telegram_message_id: int | None
    text: str
    date: datetime
    sender_id: int | None
    sender_name: str | None
    media_type: str | None
    media: dict[str, Any] | None
    edit_date: datetime | None
    is_deleted: bool
    deleted_at: datetime | None
    phone: str  # the profile whose copy this is
    edits: list[EditOut]  # previous texts, oldest first
    entities: list[dict[str, Any]] | None = None  # Telegram's formatting: {"type", "offset", "length", ...}


class ChannelMessagePage(msgspec.Struct):
    items: list[ChannelMessageOut]
    next_cursor: str | None
