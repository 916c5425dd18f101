"""Request and response bodies of the channel-monitoring API (shapes the dashboard's channels page reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.telegram.records import MessageContent

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


class ChannelMessageOut(MessageContent, frozen=True, kw_only=True):
    """A stored channel post: what it says (`MessageContent`, the one shape of every message) and its copy."""

    id: UUID
    telegram_message_id: int | None
    is_deleted: bool
    deleted_at: datetime | None
    phone: str  # the profile whose copy this is
    edits: list[EditOut]  # previous texts, oldest first


class ChannelMessagePage(msgspec.Struct):
    items: list[ChannelMessageOut]
    next_cursor: str | None
