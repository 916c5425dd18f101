"""Request and response bodies of the profiles API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, examples=["+9996612345"])]
LABEL_MAX_LENGTH = 100
Label = Annotated[str, msgspec.Meta(max_length=LABEL_MAX_LENGTH)]
ApiHash = Annotated[str, msgspec.Meta(min_length=8, max_length=64)]
ApiId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class StartLogin(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    label: Label | None = None
    api_id: ApiId | None = None
    api_hash: ApiHash | None = None


class LoginStarted(msgspec.Struct):
    phone: str
    status: Literal["code_sent"]
    code_type: str
    code_length: int | None
    timeout: int | None
    expires_at: datetime
    next_step: str = "POST /profiles/code"


class SubmitCode(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class SubmitPassword(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class TelegramIdentity(msgspec.Struct):
    id: int
    username: str | None
    first_name: str | None
    last_name: str | None


ConnectionState = Literal["connected", "connecting", "disconnected"]


class ProfileConnection(msgspec.Struct):
    """Admins only: which worker holds the profile's connection and in what state."""

    holder: str | None  # the worker id holding the profile's lease now
    state: ConnectionState
    reason: str | None  # why it is disconnected: handed_over, lease_lost, shutdown, worker_lost, ...
    last_worker: str | None  # the worker that last reported on it
    changed_at: datetime | None


class ProfileOut(msgspec.Struct):
    id: UUID
    phone: str
    label: str | None
    status: str
    status_reason: str | None
    is_active: bool
    max_channels: int
    channel_count: int
    telegram: TelegramIdentity | None
    last_active_at: datetime | None
    created_at: datetime
    frozen_until: datetime | None = None  # status frozen: when Telegram deletes the account unless appealed
    appeal_url: str | None = None  # status frozen: where to appeal (Telegram's freeze_appeal_url)
    limited_until: datetime | None = None
    connection: ProfileConnection | msgspec.UnsetType = msgspec.UNSET  # admins only


class LoginResult(msgspec.Struct):
    status: Literal["bound", "password_needed"]
    profile: ProfileOut | None = None
    hint: str | None = None
    next_step: str | None = None


class ImportSession(msgspec.Struct, forbid_unknown_fields=True):
    session_string: Annotated[str, msgspec.Meta(min_length=10, max_length=4096)]
    label: Label | None = None
    api_id: ApiId | None = None
    api_hash: ApiHash | None = None


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    label: Label | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    max_channels: Annotated[int, msgspec.Meta(ge=1, le=500)] | msgspec.UnsetType = msgspec.UNSET


class UtilsMe(msgspec.Struct):
    id: UUID
    email: str
    role: str
    profiles: list[ProfileOut]
