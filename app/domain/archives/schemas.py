"""Request and response bodies of channel archives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

Text255 = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class LocalTarget(msgspec.Struct, tag="local", tag_field="type", forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=500, examples=["news/2026"])]


class S3Target(msgspec.Struct, tag="s3", tag_field="type", forbid_unknown_fields=True):
    bucket: Annotated[str, msgspec.Meta(min_length=3, max_length=63)]
    prefix: Annotated[str, msgspec.Meta(max_length=500)] = ""
    endpoint_url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://")] | None = None
    region: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None


class CreateArchive(msgspec.Struct, forbid_unknown_fields=True):
    channel: Text255
    target: LocalTarget | S3Target
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32)] | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    include_media: bool = False
    every_minutes: Annotated[int, msgspec.Meta(ge=1, le=525_600)] | None = None


class ChannelOut(msgspec.Struct):
    id: int
    title: str
    username: str | None
    member_count: int | None
    is_member: bool
    kind: str
    private: bool


class ArchiveChannel(msgspec.Struct):
    id: int
    title: str
    username: str | None
    private: bool
    ref: str


class ArchiveProgress(msgspec.Struct):
    messages_exported: int
    bytes_exported: int
    media_exported: int
    position: int  # the last exported Telegram message id
    runs: int
    run_messages: int  # exported by the current (or last) run


class ArchiveOut(msgspec.Struct):
    id: UUID
    channel: ArchiveChannel
    phone: str | None
    target: dict[str, str | None]  # never includes credentials
    location: str
    status: str
    progress: ArchiveProgress
    since: datetime | None
    until: datetime | None
    limit: int | None
    include_media: bool
    every_minutes: int | None
    last_error: str | None
    next_run_at: datetime | None
    paused_until: datetime | None
    run_started_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime
