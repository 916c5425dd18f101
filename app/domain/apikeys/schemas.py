"""Request and response bodies of `/api-keys`; the secret appears only in `ApiKeyWithSecret`, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.domain.apikeys.scopes import Scope

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, examples=["+9996612345"])]
Chat = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^@?[A-Za-z0-9_-]{1,63}$")]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["support agent"])]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=16)]
    profiles: Annotated[list[Phone], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    chats: Annotated[list[Chat], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)
    expires_at: datetime | None = None  # with a timezone; in the future
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    send_requires_approval: bool = False


class ApiKeyOut(msgspec.Struct):
    id: UUID
    name: str
    prefix: str  # the secret's first characters, to tell keys apart
    scopes: list[str]
    profiles: list[str]
    chats: list[str]
    rate_limit_per_minute: int
    send_requires_approval: bool
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyWithSecret(ApiKeyOut):
    """Returned by create only: the secret is stored as a digest and never shown again."""

    secret: str = ""
