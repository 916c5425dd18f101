"""Request and response bodies of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

# What accounts.services.normalize_email accepts (surrounding whitespace is stripped before the check).
EMAIL_PATTERN = r"^\s*[^@\s]{1,64}@[^@\s]+\.[^@\s]+\s*$"
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=EMAIL_PATTERN, examples=["ada@example.com"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


Token = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Registration(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    invite_token: Token | None = None
    setup_token: Token | None = None


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email | None = None
    expires_in_s: Annotated[int, msgspec.Meta(ge=60, le=30 * 24 * 3600)] = 7 * 24 * 3600


class InvitationOut(msgspec.Struct, omit_defaults=True):
    id: UUID
    email: str | None
    status: str
    expires_at: datetime
    created_at: datetime
    created_by: UUID | None
    used_at: datetime | None
    used_by: UUID | None
    revoked_at: datetime | None
    token: str | None = None  # only in the response that created it


RefreshToken = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: RefreshToken


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: RefreshToken | None = None


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "bearer"


class UserOut(msgspec.Struct):
    id: UUID
    email: str
    role: str
    created_at: datetime
    last_login_at: datetime | None
