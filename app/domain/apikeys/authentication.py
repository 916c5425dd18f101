"""Who a bearer credential is: an access token (accounts) or an API key (`tgmp_…`), and what a key may reach.

A key is looked up by the digest of its secret on every request, so a revoked or expired key is refused at
once; open `WS /events` sockets of a key close when its revocation is announced (the key's family is
`apikey:<id>`, the same mechanism as a logout). Each key has its own rate limit, counted per minute on the
shared attempt counters (in-process, or Redis for several processes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.stores.base import Store
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ApiKey, User
from app.domain.accounts.current_user import AuthUser, CallerKey, authenticate_token
from app.domain.accounts.revocations import LoginRevocations
from app.domain.accounts.tokens import family_denylist_key
from app.domain.apikeys.scopes import ANY_KEY, NAMES_CHAT, NAMES_PROFILE, ROUTE_SCOPES, UNRESTRICTED, normalise_chat
from app.domain.apikeys.services import SECRET_PREFIX
from app.lib.counters import AttemptCounter, Window
from app.lib.errors import AppError, Forbidden, TooManyRequests, Unauthorized
from app.lib.phones import normalize_phone
from app.lib.security import TokenClaims, TokenCodec, hash_token

LAST_USED_EVERY_S = 60  # last_used_at is written at most this often per key
NO_EXPIRY_S = 10 * 365 * 86400
REVOKED_RACE_S = 600  # how long a revoked key's family stays denylisted (covers a socket opening meanwhile)


def key_family(key_id: object) -> str:
    return f"apikey:{key_id}"


@dataclass(slots=True)
class BearerAuthenticator:
    """Resolves `Authorization: Bearer` (and the `WS /events` token) to an `AuthUser`."""

    codec: TokenCodec
    denylist: Store
    sessionmaker: async_sessionmaker[AsyncSession]
    counter: AttemptCounter
    revocations: LoginRevocations | None = None

    async def authenticate(self, token: str) -> AuthUser:
        if not token.startswith(SECRET_PREFIX):
            return await authenticate_token(token, self.codec, self.denylist)
        return await self._key(token)

    async def _key(self, secret: str) -> AuthUser:
        now = datetime.now(UTC)
        async with self.sessionmaker() as session:
            row = (
                await session.execute(
                    select(ApiKey, User.role, User.is_active)
                    .join(User, User.id == ApiKey.user_id)
                    .where(ApiKey.secret_hash == hash_token(secret))
                )
            ).first()
            if row is None:
                raise Unauthorized("invalid api key", code="invalid_api_key")
            key, role, active = row
            if key.revoked_at is not None:
                raise Unauthorized("api key has been revoked", code="api_key_revoked")
            if key.expires_at is not None and key.expires_at <= now:
                raise Unauthorized("api key has expired", code="api_key_expired")
            if not active:
                raise Unauthorized("the key's owner is deactivated", code="invalid_api_key")
            if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=LAST_USED_EVERY_S):
                await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
                await session.commit()
        await self._count(key)
        issued = int(time.time())
        expires = int(key.expires_at.timestamp()) if key.expires_at is not None else issued + NO_EXPIRY_S
        claims = TokenClaims(
            subject=str(key.user_id),
            token_type="access",
            jti=f"apikey-{key.id.hex}",
            family=key_family(key.id),
            role=role,
            issued_at=issued,
            expires_at=expires,
        )
        caller = CallerKey(
            id=key.id,
            name=key.name,
            scopes=frozenset(key.scopes),
            profiles=frozenset(key.profiles),
            chats=frozenset(str(c) for c in key.chats),
            send_requires_approval=key.send_requires_approval,
        )
        return AuthUser(id=key.user_id, role=role, claims=claims, key=caller)

    async def _count(self, key: ApiKey) -> None:
        limit = key.rate_limit_per_minute
        hit = await self.counter.hit(f"apikey:{key.id.hex}", Window(limit=limit, window_s=60, max_s=60))
        if hit.count > limit:
            raise TooManyRequests(
                f"api key rate limit of {limit} requests per minute reached",
                retry_after=math.ceil(hit.retry_after_s),
                code="api_key_rate_limited",
            )

    async def announce_revoked(self, key_id: object) -> None:
        """After the revocation committed: deny the key's family and close its open sockets everywhere."""
        await self.denylist.set(family_denylist_key(key_family(key_id)), "1", expires_in=REVOKED_RACE_S)
        if self.revocations is not None:
            self.revocations.announce(key_family(key_id))


def authorize_route(
    key: CallerKey,
    method: str,
    path_template: str,
    path_params: Mapping[str, Any],
    query: Mapping[str, Any],
    body: Mapping[str, Any] | None,
) -> None:
    """403 unless the key's scopes open this route and its profile and chat restrictions allow the request."""
    route = (method, path_template)
    needed = ROUTE_SCOPES.get(route)
    if needed is None:
        raise Forbidden("api keys cannot use this route", code="api_key_route_forbidden")
    if needed != ANY_KEY and needed not in key.scopes:
        raise Forbidden(f"api key lacks the scope {needed}", code="missing_scope", details={"scope": needed})
    if route in UNRESTRICTED:
        return
    if key.profiles:
        if route not in NAMES_PROFILE:
            raise Forbidden("a key restricted to profiles cannot use this route", code="api_key_route_forbidden")
        phone = _named(("phone",), path_params, query, body)
        try:
            allowed = phone is not None and normalize_phone(str(phone)) in key.profiles
        except AppError:
            allowed = False
        if not allowed:
            raise Forbidden("api key is not allowed to use this profile", code="profile_not_allowed")
    if key.chats:
        if route not in NAMES_CHAT:
            raise Forbidden("a key restricted to chats cannot use this route", code="api_key_route_forbidden")
        chat = _named(("peer", "tg_receiver"), path_params, query, body)
        if chat is None or normalise_chat(chat) not in key.chats:
            raise Forbidden("api key is not allowed to use this chat", code="chat_not_allowed")


def _named(names: tuple[str, ...], *sources: Mapping[str, Any] | None) -> object | None:
    for source in sources:
        if source:
            for name in names:
                if source.get(name) is not None:
                    return source[name]
    return None
