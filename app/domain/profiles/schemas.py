"""Request and response bodies of the profiles API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from app.lib.devices import FIELD_MAX_LENGTH, LANG_CODE_PATTERN

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, examples=["+9996612345"])]
LABEL_MAX_LENGTH = 100
Label = Annotated[str, msgspec.Meta(max_length=LABEL_MAX_LENGTH)]
ApiHash = Annotated[str, msgspec.Meta(min_length=8, max_length=64)]
ApiId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
DeviceField = Annotated[str, msgspec.Meta(min_length=1, max_length=FIELD_MAX_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Device(msgspec.Struct, forbid_unknown_fields=True):
    """The device a profile's client presents to Telegram on every connection (initConnection)."""

    device_model: Annotated[DeviceField, msgspec.Meta(examples=["Samsung SM-S918B"])]
    system_version: Annotated[DeviceField, msgspec.Meta(examples=["SDK 34"])]
    app_version: Annotated[DeviceField, msgspec.Meta(examples=["11.5.3 (5429)"])]
    lang_code: Annotated[str, msgspec.Meta(max_length=16, pattern=LANG_CODE_PATTERN)] = "en"


class ProxyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A proxy to reach Telegram through; stored encrypted, never shown again but for type, host and port."""

    type: Literal["socks5", "http", "mtproxy"]
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=255, examples=["127.0.0.1"])]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    secret: Annotated[str, msgspec.Meta(min_length=32, max_length=34)] | None = None  # MTProxy: hex, dd-prefix ok


class ProxyOut(msgspec.Struct):
    type: str
    host: str
    port: int


class StartLogin(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    label: Label | None = None
    api_id: ApiId | None = None
    api_hash: ApiHash | None = None
    device: Device | None = None  # default: one of DEVICE_IDENTITIES (a re-bound profile keeps its own)
    proxy: ProxyIn | None = None  # default: TELEGRAM_PROXY, else one of PROXY_POOL, else none


class LoginStarted(msgspec.Struct):
    phone: str
    status: Literal["code_sent"]
    code_type: str
    code_length: int | None
    timeout: int | None
    expires_at: datetime
    next_step: str = "POST /profiles/code"
    email_pattern: str | None = None  # code_type "email": the masked address Telegram sent the code to


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
    device: Device | None = None  # what its client presents to Telegram
    # The last account check: ok | spam_limited | frozen | banned | deauthorized | unreachable (None: not yet)
    health: str | None = None
    health_checked_at: datetime | None = None
    proxy: ProxyOut | None = None  # its own proxy (credentials and secret never shown)
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
    device: Device | None = None  # default: one of DEVICE_IDENTITIES (a re-imported profile keeps its own)
    proxy: ProxyIn | None = None  # default: TELEGRAM_PROXY, else one of PROXY_POOL, else none


class ImportForm(msgspec.Struct, forbid_unknown_fields=True):
    """The fields of a multipart `.session` import besides its `file`: those of `ImportSession`, checked alike
    (`device` and `proxy` as JSON objects in text fields)."""

    label: Label | None = None
    api_id: ApiId | None = None
    api_hash: ApiHash | None = None
    device: Device | None = None
    proxy: ProxyIn | None = None


DailyLimit = Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    label: Label | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    max_channels: Annotated[int, msgspec.Meta(ge=1, le=500)] | msgspec.UnsetType = msgspec.UNSET
    # This profile's send budgets (null: the instance's SEND_BUDGET_* defaults; 0: no limit).
    messages_per_day: DailyLimit | msgspec.UnsetType | None = msgspec.UNSET
    new_chats_per_day: DailyLimit | msgspec.UnsetType | None = msgspec.UNSET
    # Its own proxy, checked before it is stored (null: none of its own); the profile reconnects through it.
    proxy: ProxyIn | msgspec.UnsetType | None = msgspec.UNSET


class BudgetOut(msgspec.Struct):
    limit: int | None  # null: no limit
    used: int
    remaining: int | None
    resets_at: datetime


class LimitsOut(msgspec.Struct):
    """A profile's send budgets in the current day window (UTC)."""

    phone: str
    messages_per_day: BudgetOut
    new_chats_per_day: BudgetOut
    reduced_until: datetime | None  # after a FLOOD_WAIT or PEER_FLOOD both budgets are halved until then
    window_start: datetime


class UtilsMe(msgspec.Struct):
    id: UUID
    email: str
    role: str
    profiles: list[ProfileOut]
