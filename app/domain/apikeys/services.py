"""API keys: create (the secret shown once, kept as a SHA-256 digest), list, revoke. Never commits."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApiKey
from app.domain.apikeys.schemas import ApiKeyCreate
from app.domain.apikeys.scopes import normalise_chat
from app.lib.errors import NotFound, ValidationFailed
from app.lib.phones import normalize_phone
from app.lib.security import hash_token

SECRET_PREFIX = "tgmp_"
SHOWN_PREFIX_LENGTH = 12  # "tgmp_" and 7 characters of the random part


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def create_key(
    session: AsyncSession, owner_id: UUID, data: ApiKeyCreate, *, default_rate_per_minute: int
) -> tuple[ApiKey, str]:
    now = datetime.now(UTC)
    if data.send_requires_approval:
        # Drafts and their approval are not built yet: a key must not be believed to wait for approval.
        raise ValidationFailed(
            "send_requires_approval is not available yet", code="approval_unavailable",
            details=[{"field": "send_requires_approval"}],
        )  # fmt: skip
    if data.expires_at is not None:
        if data.expires_at.tzinfo is None:
            raise ValidationFailed("expires_at needs a timezone", details=[{"field": "expires_at"}])
        if data.expires_at <= now:
            raise ValidationFailed("expires_at must be in the future", details=[{"field": "expires_at"}])
    secret = new_secret()
    key = ApiKey(
        user_id=owner_id,
        name=data.name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        secret_hash=hash_token(secret),
        scopes=sorted(set(data.scopes)),
        profiles=sorted({normalize_phone(p) for p in data.profiles}),
        chats=sorted({normalise_chat(c) for c in data.chats}),
        rate_limit_per_minute=data.rate_limit_per_minute or default_rate_per_minute,
        send_requires_approval=data.send_requires_approval,
        expires_at=data.expires_at,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_keys(session: AsyncSession, owner_id: UUID) -> list[ApiKey]:
    rows = await session.scalars(select(ApiKey).where(ApiKey.user_id == owner_id).order_by(ApiKey.created_at))
    return list(rows)


async def get_key(session: AsyncSession, owner_id: UUID, key_id: UUID) -> ApiKey:
    key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == owner_id))
    if key is None:
        raise NotFound("api key not found", code="api_key_not_found")
    return key


async def revoke_key(session: AsyncSession, owner_id: UUID, key_id: UUID) -> ApiKey:
    """Mark the key revoked (idempotent); the caller announces it after commit."""
    key = await get_key(session, owner_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
    return key
