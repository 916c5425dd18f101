"""Account rules: registration, sign-in, refresh-token rotation with reuse detection, logout.

Services never commit: the request's transaction (or the caller's unit of work) does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import RefreshToken, User, UserRole
from app.domain.accounts import invitations, registration
from app.domain.accounts.registration import RegistrationPolicy
from app.domain.accounts.schemas import EMAIL_PATTERN, Registration, TokenPair
from app.lib.errors import Conflict, Unauthorized, ValidationFailed
from app.lib.security import InvalidToken, PasswordHasher, TokenCodec, hash_token

_EMAIL = re.compile(EMAIL_PATTERN)


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    codec: TokenCodec
    access_ttl_s: int
    refresh_ttl_s: int
    password_min_length: int
    password_max_length: int


class RefreshTokenReused(Exception):
    """An already-rotated refresh token was presented: its whole family must be revoked."""

    def __init__(self, family_id: str) -> None:
        super().__init__(family_id)
        self.family_id = family_id


def normalize_email(email: str) -> str:
    normalized = email.strip().lower()
    if not _EMAIL.match(normalized):
        raise ValidationFailed("email is not a valid address", details=[{"field": "email"}])
    return normalized


def check_password_policy(password: str, policy: TokenPolicy) -> None:
    if not policy.password_min_length <= len(password) <= policy.password_max_length:
        raise ValidationFailed(
            f"password must be {policy.password_min_length} to {policy.password_max_length} characters",
            details=[{"field": "password"}],
        )


async def register(
    session: AsyncSession,
    hasher: PasswordHasher,
    policy: TokenPolicy,
    request: Registration,
    *,
    registration_policy: RegistrationPolicy,
) -> User:
    """Create a user as the registration policy allows; the first admin is claimed atomically (see registration)."""
    email = normalize_email(request.email)
    check_password_policy(request.password, policy)
    registration.check_allowed(registration_policy, invite_token=request.invite_token, setup_token=request.setup_token)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(email=email, password_hash=await hasher.hash(request.password), role=UserRole.USER.value)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # the same email registered concurrently
        raise Conflict("an account with this email already exists", code="email_taken") from None
    if request.setup_token is not None:
        await registration.claim_with_setup_token(session, user.id, request.setup_token)
        user.role = UserRole.ADMIN.value
    elif request.invite_token is not None:
        await invitations.consume(session, request.invite_token, user_id=user.id, email=email)
    elif registration_policy == "open" and await registration.claim_first_admin(session, user.id):
        user.role = UserRole.ADMIN.value
    await session.flush()
    return user


async def create_admin(
    session: AsyncSession, hasher: PasswordHasher, policy: TokenPolicy, email: str, password: str
) -> User:
    """Create an admin, or promote the existing account with this email to admin."""
    email = normalize_email(email)
    check_password_policy(password, policy)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=await hasher.hash(password), role=UserRole.ADMIN.value)
        session.add(user)
    else:
        user.role = UserRole.ADMIN.value
    await session.flush()
    await registration.claim_first_admin(session, user.id)
    return user


async def authenticate(session: AsyncSession, hasher: PasswordHasher, email: str, password: str) -> User | None:
    """Return the user when the credentials are right; upgrade an outdated hash on the way."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    valid, new_hash = await hasher.verify(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        return None
    if new_hash:
        user.password_hash = new_hash
    user.last_login_at = datetime.now(UTC)
    return user


async def issue_tokens(
    session: AsyncSession, policy: TokenPolicy, user: User, family_id: str | None = None
) -> TokenPair:
    family_id = family_id or uuid.uuid4().hex
    access, _ = policy.codec.encode(
        subject=str(user.id), token_type="access", ttl_s=policy.access_ttl_s, family=family_id, role=user.role
    )
    refresh, claims = policy.codec.encode(
        subject=str(user.id),
        token_type="refresh",
        ttl_s=policy.refresh_ttl_s,
        family=family_id,
        role=user.role,
    )
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            jti=claims.jti,
            token_hash=hash_token(refresh),
            expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        )
    )
    await session.flush()
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=policy.access_ttl_s,
        refresh_expires_in=policy.refresh_ttl_s,
    )


async def rotate_refresh_token(session: AsyncSession, policy: TokenPolicy, token: str) -> TokenPair:
    """Exchange a refresh token for a new pair; a second use of the same token raises RefreshTokenReused."""
    try:
        claims = policy.codec.decode(token, expected_type="refresh")
    except InvalidToken as exc:
        raise Unauthorized(str(exc), code="invalid_token") from None
    row = await session.scalar(select(RefreshToken).where(RefreshToken.jti == claims.jti))
    if row is None or row.token_hash != hash_token(token):
        raise Unauthorized("refresh token is not recognised", code="invalid_token")
    if row.revoked_at is not None:
        raise Unauthorized("refresh token has been revoked", code="token_revoked")
    if row.rotated_at is not None:
        raise RefreshTokenReused(row.family_id)
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("account is not active", code="invalid_token")
    row.rotated_at = datetime.now(UTC)
    return await issue_tokens(session, policy, user, family_id=row.family_id)


async def revoke_family(session: AsyncSession, family_id: str) -> int:
    """Revoke every live refresh token of a login family; returns how many were revoked."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get_user(session: AsyncSession, user_id: UUID) -> User | None:
    return await session.get(User, user_id)


async def purge_expired_refresh_tokens(session: AsyncSession, *, older_than: timedelta = timedelta(days=1)) -> None:
    cutoff = datetime.now(UTC) - older_than
    await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < cutoff))
